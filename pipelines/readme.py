"""The README's Results section, written from the committed results files.

`python -m pipelines.report ... --readme README.md` replaces what stands between the README's
`<!-- results:start -->` and `<!-- results:end -->` lines with `render`'s text, so every figure
there is read from a results file; a test checks the committed README is current.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tfhar.files import write_text

from .table1 import number

START, END = "<!-- results:start -->", "<!-- results:end -->"
NAMES = {"utd_mhad": "UTD-MHAD", "berkeley_mhad": "Berkeley-MHAD"}


def _table1(folder: Path, name: str, paper: bool = False) -> list[str]:
    table = pd.read_csv(folder / ("table1_paper.csv" if paper else "table1.csv"))
    seeds = int(table.seeds.max())
    rules = "checkpoint_rule" in table.columns and not paper
    chosen = ("the paper's protocol: every training subject trains, the last epoch is tested"
              if paper else "each row tests the checkpoint its rule (`finetune.monitor`) picks: "
              "last, the last epoch; val_loss, the lowest validation loss on the validation "
              "subject; val_accuracy, its best validation accuracy" if rules else
              "the checkpoint tested is the one of best validation "
              "accuracy, the rule before `finetune.monitor: auto`")
    lines = [f"**{name}, the paper's Table 1** (test accuracy %, mean +- standard deviation over "
             f"{seeds} seeds; {chosen}):", "",
             "| model | tfhar | paper | gap | authors' code |" + (" checkpoint |" if rules else ""),
             "|---|---|---|---|---|" + ("---|" if rules else "")]
    for r in table.itertuples():
        lines.append(f"| {r.model} | {r.mean_accuracy:.2f} +- {r.std_accuracy:.2f} | "
                     f"{number(r.paper)} | {number(r.mean_accuracy - r.paper, sign=True)} | "
                     f"{number(r.authors_code)} |"
                     + (f" {r.checkpoint_rule if isinstance(r.checkpoint_rule, str) else '-'} |"
                        if rules else ""))
    return lines + [""]


def _semi_supervised(folder: Path, name: str, readme_dir: Path) -> list[str]:
    summary = pd.read_csv(folder / "semi_supervised_summary.csv")
    fractions = sorted(summary.fraction.unique())
    figure = Path(os.path.relpath(folder / "semi_supervised.png", readme_dir)).as_posix()
    labelled = summary.groupby("fraction").labelled.first()
    lines = [f"**{name}, few labels** (the paper's Figure 2: test accuracy %, mean +- half-width "
             "of the 95% interval over repeats; the labelled windows per fraction below):", "",
             f"![accuracy against the labelled fraction]({figure})", "",
             "| method | " + " | ".join(f"{100 * f:g}% ({labelled[f]:g})" for f in fractions)
             + " |", "|---|" + "---|" * len(fractions)]
    for method, group in summary.groupby("method", sort=False):
        cells = group.set_index("fraction")
        lines.append(f"| {method} | " + " | ".join(
            f"{cells.mean_accuracy[f]:.2f} +- {cells.ci95[f]:.2f}" if f in cells.index else "-"
            for f in fractions) + " |")
    return lines + [""]


def _phone_windows(folder: Path, name: str) -> list[str]:
    summary = pd.read_csv(folder / "phone_windows_summary.csv")
    lines = [f"**{name}, the IMU model on continuous streams** (test accuracy %, mean +- std over "
             f"{int(summary.seeds.max())} seeds: on whole pre-segmented recordings, and on every "
             f"window of streams of the test subjects' recordings, D = "
             f"{summary.window_s.iloc[0]:.2f} s windows scored by the action they overlap "
             "most):", "", "| trained on | whole recordings | streams | streams, macro F1 |",
             "|---|---|---|---|"]
    label = {"whole": "whole recordings", "segments": "D-second windows"}
    for r in summary.itertuples():
        lines.append(f"| {label.get(r.variant, r.variant)} "
                     f"| {100 * r.segment_accuracy_mean:.2f} +- {100 * r.segment_accuracy_std:.2f} "
                     f"| {100 * r.stream_majority_accuracy_mean:.2f} +- "
                     f"{100 * r.stream_majority_accuracy_std:.2f} "
                     f"| {100 * r.stream_majority_macro_f1_mean:.2f} +- "
                     f"{100 * r.stream_majority_macro_f1_std:.2f} |")
    return lines + [""]


SHIPPED = Path("saved_models") / "utd_mhad_imu"  # The shipped phone model, by the README.


def _shipped(folder: Path, readme_dir: Path) -> list[str]:
    """The shipped phone model's export report: size, test-window and stream accuracy."""
    import json

    report = json.loads((folder / "report.json").read_text())
    meta = json.loads((folder / "metadata.json").read_text())
    where = Path(os.path.relpath(folder, readme_dir)).as_posix()
    lines = [f"**The shipped phone model** (`{where}`, written by `python -m "
             f"pipelines.ship_model`: {meta['window']['duration_s']:.2f} s of raw samples in; "
             "test accuracy % on the "
             f"{report['num_test_windows']} D-second test windows and on the test subjects' "
             "streams, every window scored by the action it overlaps most):", "",
             "| file | size (KB) | test windows | streams | streams, macro F1 |",
             "|---|---|---|---|---|"]
    for fmt, row in report["formats"].items():
        stream = report["stream"]["formats"][fmt]["majority"]
        lines.append(f"| {row['file']} | {row['size_bytes'] / 1000:.1f} | "
                     f"{100 * row['accuracy']:.2f} | {100 * stream['accuracy']:.2f} | "
                     f"{100 * stream['macro_f1']:.2f} |")
    return lines + [""]


def render(results: Path, readme_dir: Path) -> str:
    """The Results section's text (between the markers) from the folders under `results`."""
    folders = sorted((p for p in results.iterdir() if p.is_dir()),
                     key=lambda p: (p.name not in NAMES, list(NAMES).index(p.name)
                                    if p.name in NAMES else 0, p.name))
    lines = ["Every figure below is read from the committed results files under "
             f"`{Path(os.path.relpath(results, readme_dir)).as_posix()}/` by "
             "`python -m pipelines.report --readme README.md`; the experiment log "
             "[docs/experiments.md](docs/experiments.md) has every run, the variants and what "
             "was tried.", ""]
    for folder in folders:
        name = NAMES.get(folder.name, folder.name)
        if (folder / "table1.csv").is_file():
            lines += _table1(folder, name)
        if (folder / "table1_paper.csv").is_file():
            lines += _table1(folder, name, paper=True)
        if (folder / "semi_supervised_summary.csv").is_file():
            lines += _semi_supervised(folder, name, readme_dir)
        if (folder / "phone_windows_summary.csv").is_file():
            lines += _phone_windows(folder, name)
    if (readme_dir / SHIPPED / "report.json").is_file():
        lines += _shipped(readme_dir / SHIPPED, readme_dir)
    return "\n".join(lines).rstrip("\n")


def updated(readme_text: str, section: str) -> str:
    """`readme_text` with the text between the markers replaced by `section`; ValueError
    when the markers are missing."""
    start, end = readme_text.find(START), readme_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {START} ... {END} block")
    return readme_text[:start + len(START)] + "\n" + section + "\n" + readme_text[end:]


def write_readme(readme: Path, results: Path) -> None:
    """Rewrite the Results block of the README at `readme` from `results`."""
    write_text(readme, updated(readme.read_text(encoding="utf-8"),
                               render(results, readme.parent)))
