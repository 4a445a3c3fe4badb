"""The experiment configs shipped with tfhar, installed as the package `tfhar.configs`.

`tfhar.config.load_config("utd_mhad/cmc")` (or `tfhar-train --config utd_mhad/cmc`) loads
configs/utd_mhad/cmc.yaml by name from any directory; `tfhar.config.shipped_configs()` lists
them.
"""
