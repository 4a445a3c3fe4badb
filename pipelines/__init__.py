"""End-to-end recipes that chain the tfhar CLIs (Table 1, semi-supervised curves, variants),
and the experiment log written from their results (report).

Installed as `tfhar.pipelines` (`python -m tfhar.pipelines.table1 ...`); from a checkout of the
repository also `python -m pipelines.table1 ...`.
"""
