"""The experiment log, docs/experiments.md, written from the pipelines' results CSVs.

    python -m pipelines.report --results pipelines/results --out docs/experiments.md

Reads <results>/<dataset>/ for every dataset folder there: table1.csv and table1_runs.csv,
variants.csv, semi_supervised_summary.csv and semi_supervised.csv, whichever it holds. Every
number in the document is read or computed from them; the prose around them is fixed text
here. The document's first line says which command wrote it: an existing --out without that
line (a file of the user's) is never replaced.

A little over 300 lines: one section per kind of results file.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import pandas as pd

from tfhar.files import write_text

from .table1 import ROWS, number
from .variants import VALIDATION, rule, table_lines

COMMAND = ("python -m pipelines.report --results pipelines/results --out docs/experiments.md "
           "--readme README.md")
MARK = "<!-- Written by `python -m pipelines.report"  # How a report this command wrote starts.
HEADER = (f"<!-- Written by `{COMMAND}` from the results CSVs; edits here are lost: change "
          "pipelines/report.py and run it again. -->")
NAMES = {"utd_mhad": "UTD-MHAD", "berkeley_mhad": "Berkeley-MHAD"}
NOTES = {"berkeley_mhad": "The six accelerometers only: the motion-capture skeleton rows are "
                          "not run."}

# Variants grouped by what they test: (title, variants, what they change and why).
TOPICS = [
    ("Supervised rows", ["supervised_inertial_k3_mlp", "supervised_skeleton_mlp",
                         "supervised_multimodal_mlp",
                         "supervised_multimodal_no_inertial_augment"],
     "The supervised rows train as the authors' code trains them, which the paper's text does "
     "not say: the inertial row with kernel 5 and a linear classifier, the skeleton and "
     "multimodal rows with the authors' skeleton augmentation and a linear classifier. Their "
     "former settings (no augmentation, an MLP classifier) are measured as variants. The "
     "multimodal row's config left its inertial section out, so it trained on inertial "
     "windows augmented with the contrastive default set (jitter and scale sigma 1 on raw "
     "units, permutation, channel shuffle), which the authors' code does not do (found by "
     "reading it). Without that augmentation, as the authors train it, validation accuracy "
     "fell (variant `supervised_multimodal_no_inertial_augment`): the set is kept, now "
     "written out in the config."),
    ("Frozen encoders in training mode", ["simclr_inertial_trainmode", "cmc_trainmode",
                                          "simclr_skeleton_trainmode",
                                          "simclr_fusion_trainmode"],
     "`finetune.frozen_encoder_mode: train` runs the frozen encoders in training mode while "
     "the classifier is fine-tuned (BatchNorm batch statistics, dropout), as PyTorch Lightning "
     "runs the authors' frozen encoders. The paper's inference mode is the reference."),
    ("Inertial SimCLR", ["simclr_inertial_linear", "simclr_inertial_element_scale",
                         "simclr_inertial_jitter_0.1"],
     "The inertial SimCLR and SimCLR fusion rows pre-train without channel shuffle, which "
     "permutes all six inertial channels so that accelerometer and gyroscope axes trade "
     "places (the authors' code never did this: its axis bug shuffled time steps instead). "
     "Dropping it was adopted on validation; the run of that comparison is not in the results "
     "files, so this log gives no numbers for it, and `python -m pipelines.variants --only "
     "simclr_inertial_channel_shuffle` measures it again. The scaling and jitter variants "
     "change the former row (with channel shuffle) and are measured against the current "
     "one."),
    ("Channel shuffle in CMC", ["cmc_no_channel_shuffle"],
     "CMC was measured without channel shuffle too, as the inertial SimCLR row now is."),
]
MONITOR = ("Which checkpoint is tested (`finetune.monitor`) was chosen by nested "
           "leave-one-subject-out over the training subjects, not on these variants: "
           "`last`, the default, tests every run at the last epoch of its fixed schedule (the "
           "searches `tune_checkpoint_rule*` below). The variants above were measured under the "
           "first rule, the best validation accuracy, but for "
           "`supervised_multimodal_no_inertial_augment`, measured as its row is now (the last "
           "epoch; validation accuracy is that epoch's).")


class ReportError(ValueError):
    """The report cannot be written: no results, or --out is not a report it wrote."""


def _pct(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f}"


def _windows(gain) -> str:
    return "-" if pd.isna(gain) else f"{gain:+d} window{'' if abs(gain) == 1 else 's'}"


def _listing(items: list[str]) -> str:
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _fraction(value: float) -> str:
    return f"{100 * value:g}%"


def table1_section(folder: Path, dataset: str, out_dir: Path, paper: bool = False
                   ) -> list[str]:
    """Table 1 of one protocol: cross_subject (table1*.csv) or, with `paper`, the paper's
    (table1_paper*.csv: every training subject, no validation, the last epoch tested)."""
    stem = "table1_paper" if paper else "table1"
    table = pd.read_csv(folder / f"{stem}.csv")
    runs = pd.read_csv(folder / f"{stem}_runs.csv")
    val = runs.groupby("model", sort=False).val_accuracy.mean()
    seeds = int(table.seeds.max())
    command = (f"python -m pipelines.table1 --dataset {dataset} --seeds {seeds} --out {folder}"
               + (" --protocol paper" if paper else ""))
    rules = "checkpoint_rule" in runs.columns
    chosen = ("the paper's split: every training subject trains, none validates, and the last "
              "epoch of the fixed schedule is tested" if paper else
              "the checkpoint tested is picked on the validation subject by the row's rule (the "
              "\"checkpoint\" column, `finetune.monitor`: val_loss, the lowest validation "
              "loss; last, the last epoch; val_accuracy, the best validation accuracy; "
              "val_loss and last chosen by cross-validation over the training "
              "subjects), and \"val\" is its validation accuracy (mean over seeds)" if rules else
              "the checkpoint tested is the one best on the validation subject, whose accuracy "
              "(mean over seeds) is the \"val\" column")
    lines = [f"### Table 1 (full labels){', the paper protocol' if paper else ''}", "",
             "```bash", f"{command}   # trains what is missing", f"{command} --existing-only",
             "```", "",
             f"Test accuracy (%) on the test subjects ({int(runs.num_test_samples.max())} "
             f"windows), mean +- standard deviation over seeds; {chosen}. Source: "
             f"`{stem}.csv`, per run `{stem}_runs.csv`.", "",
             "| model | seeds | test | val | paper | gap to paper | authors' code | "
             + ("checkpoint | " if rules else "") + "wall time |",
             "|---|---|---|---|---|---|---|---|" + ("---|" if rules else "")]
    rule = runs.groupby("model", sort=False).checkpoint_rule.agg(
        lambda r: ", ".join(sorted(set(r.dropna()))) or "-") if rules else {}
    for r in table.itertuples():
        lines.append(f"| {r.model} | {r.seeds} | {r.mean_accuracy:.2f} +- {r.std_accuracy:.2f} "
                     f"| {_pct(val.get(r.model))} | {number(r.paper)} "
                     f"| {number(r.mean_accuracy - r.paper, sign=True)} | {_pct(r.authors_code)} "
                     + (f"| {rule.get(r.model, '-')} " if rules else "")
                     + f"| {r.wall_time_s / 60:.1f} min |")
    lines += ["", "Per seed, test (validation) accuracy:", "",
              "| model | " + " | ".join(f"seed {s}" for s in sorted(runs.seed.unique())) + " |",
              "|---|" + "---|" * runs.seed.nunique()]
    for model, group in runs.groupby("model", sort=False):
        cells = {r.seed: f"{r.accuracy:.2f} ({_pct(r.val_accuracy)})" for r in group.itertuples()}
        lines.append(f"| {model} | " + " | ".join(cells.get(s, "-") for s in
                                                  sorted(runs.seed.unique())) + " |")
    lines += ["", "Where the rows stand:", ""]
    for r in table.itertuples():
        gap = r.mean_accuracy - r.paper
        text = (f"- {r.model}: not in the paper" if pd.isna(r.paper) else
                f"- {r.model}: {abs(gap):.2f} points {'above' if gap >= 0 else 'below'} the "
                f"paper ({r.paper:.2f})")
        if r.seeds > 1 and abs(gap) <= r.std_accuracy:
            text += ", within one standard deviation of the seeds"
        if not pd.isna(r.authors_code):
            gap = r.mean_accuracy - r.authors_code
            text += (f"; {abs(gap):.2f} points {'above' if gap >= 0 else 'below'} the authors' "
                     f"code ({r.authors_code:.2f})")
        lines.append(text + ".")
    widest = table.loc[table.std_accuracy.idxmax()]
    scores = ", ".join(f"{a:.2f}" for a in runs[runs.model == widest.model].accuracy)
    lines += ["", f"The widest spread over seeds is {widest.model}'s "
              f"({widest.std_accuracy:.2f} points: {scores}). Table 1's runs took "
              f"{table.wall_time_s.sum() / 3600:.1f} h in all (summed run wall times).", ""]
    return lines


def variants_section(folder: Path, dataset: str, out_dir: Path) -> list[str]:
    table = pd.read_csv(folder / "variants.csv")
    table["val_gain_windows"] = table.val_gain_windows.astype("Int64")
    subject = VALIDATION.get(dataset, ("the validation subject",))[0]
    adopted = list(table.variant[table.decision == "adopted"])
    lines = ["### Variants: what was changed, and why", "", "```bash",
             f"python -m pipelines.variants --dataset {dataset} --out {folder}   # trains",
             f"python -m pipelines.variants --dataset {dataset} --out {folder} --existing-only",
             "```", "", "Each variant changes one thing in a Table 1 row (seed 0, accuracy %). "
             "The decision rule:", "", "> " + rule(subject, int(table.val_windows.iloc[0])), "",
             *table_lines(table), "", "Source: `variants.csv`. " + (
                 f"Adopted: {', '.join(adopted)}; the other rows keep their reference setting."
                 if adopted else "No variant is adopted: every row keeps its reference "
                 "setting."), ""]
    rows = table.set_index("variant")
    for title, names, text in TOPICS:
        present = [n for n in names if n in rows.index]
        if not present:
            continue
        gains = ", ".join(f"`{n}` {_pct(rows.val_accuracy[n])} against "
                          f"{_pct(rows.row_val_accuracy[n])} ({_windows(rows.val_gain_windows[n])})"
                          for n in present)
        lines += [f"- **{title}.** {text} On validation: {gains}.", ""]
    return lines + [f"- **Checkpoint selection.** {MONITOR}", ""]


def semi_supervised_section(folder: Path, dataset: str, out_dir: Path) -> list[str]:
    summary = pd.read_csv(folder / "semi_supervised_summary.csv")
    fractions = sorted(summary.fraction.unique())
    figure = Path(os.path.relpath(folder / "semi_supervised.png", out_dir)).as_posix()
    lines = ["### Semi-supervised (few labels)", "", "```bash",
             f"python -m pipelines.semi_supervised --dataset {dataset} --out {folder}", "```",
             "", f"![accuracy vs labelled fraction]({figure})", "",
             "Test accuracy (%) as mean +- half-width of the 95% t-interval over repeats (their "
             "number in brackets); each repeat labels another per-class subset of the training "
             "windows. Source: `semi_supervised_summary.csv`, per run `semi_supervised.csv`.",
             "", "| method | " + " | ".join(_fraction(f) for f in fractions) + " |",
             "|---|" + "---|" * len(fractions)]
    labelled = summary.groupby("fraction").labelled.first()
    lines.append("| labelled windows | " + " | ".join(f"{labelled[f]:g}" for f in fractions)
                 + " |")
    for method, group in summary.groupby("method", sort=False):
        cells = group.set_index("fraction")
        lines.append(f"| {method} | " + " | ".join(
            f"{cells.mean_accuracy[f]:.2f} +- {cells.ci95[f]:.2f} ({cells.repeats[f]})"
            if f in cells.index else "-" for f in fractions) + " |")
    lines.append("")
    best = summary.loc[summary.groupby("fraction").mean_accuracy.idxmax()]
    lines.append("- Best method per fraction: " + "; ".join(
        f"{_fraction(r.fraction)} {r.method} ({r.mean_accuracy:.2f})"
        for r in best.itertuples()) + ".")
    means = summary.pivot(index="fraction", columns="method", values="mean_accuracy")
    lines += _margins(means, labelled)
    ssl = [m for m in ("simclr fusion", "cmc") if m in means]
    if dataset == "utd_mhad" and ssl and 0.01 in means.index:
        best_ssl = means.loc[0.01, ssl].max()
        supervised = (f"; our supervised model {means.loc[0.01, 'multimodal supervised']:.2f}"
                      if "multimodal supervised" in means else "")
        lines.append(f"- At 1% the paper's SSL models reach \"about 80%\" (its text on Figure 2; "
                     f"its supervised model \"close to 60%\"): ours {best_ssl:.2f} "
                     f"({best_ssl - 80:+.2f}){supervised}.")
    runs_path = folder / "semi_supervised.csv"
    if runs_path.is_file():
        runs = pd.read_csv(runs_path)
        shared = runs.groupby("fraction").run_dir.agg(frozenset)
        for _, same in shared.groupby(shared):
            if len(same) > 1:
                lines.append(f"- {_listing([_fraction(f) for f in same.index])} label the same "
                             f"{labelled[same.index[0]]:g} windows: their points are the same "
                             "runs.")
        if "pretrain_seed" in runs.columns and runs.pretrain_seed.nunique() > 1:
            lines.append(f"- The repeats cycle through the encoders of "
                         f"{runs.pretrain_seed.nunique()} pre-training seeds (repeat r: seed r mod "
                         f"{runs.pretrain_seed.nunique()}), so the intervals include "
                         "pre-training's variation, not only that of the labelled subset.")
        lines.append(f"- {runs.run_dir.nunique()} distinct runs took "
                     f"{runs.wall_time_s.sum() / 3600:.1f} h (summed run wall times).")
    return lines + [""]


def _margins(means: pd.DataFrame, labelled: pd.Series) -> list[str]:
    """What pre-training adds: the best SSL method against the supervised model, and frozen
    random encoders (no pre-training) against every other method."""
    lines = []
    ssl = [m for m in ("simclr fusion", "cmc") if m in means]
    if ssl and "multimodal supervised" in means:
        gaps = means[ssl].max(axis=1) - means["multimodal supervised"]
        lines.append("- The better pre-trained method against the supervised model: " + ", ".join(
            f"{gaps[f]:+.2f} points at {labelled[f]:g} windows"
            for f in gaps.index[~labelled.duplicated().to_numpy()]) + ".")
    if "random frozen" in means and len(means.columns) > 1 and (
            means.idxmin(axis=1) == "random frozen").all():
        lines.append(f"- Frozen random encoders (no pre-training) score lowest at every "
                     f"fraction ({means['random frozen'].min():.2f} to "
                     f"{means['random frozen'].max():.2f}): pre-training is what makes frozen "
                     "encoders useful.")
    return lines


def phone_windows_section(folder: Path, dataset: str, out_dir: Path) -> list[str]:
    """pipelines.phone_windows: whole recordings against D-second windows, on streams."""
    summary = pd.read_csv(folder / "phone_windows_summary.csv").set_index("variant")
    command = f"python -m pipelines.phone_windows --seeds {int(summary.seeds.max())} --out {folder}"
    lines = ["### The phone model: trained on whole recordings or on D-second windows", "",
             "```bash", f"{command}   # trains what is missing", "```", "",
             "The supervised IMU model trained on whole recordings, each squeezed into one window "
             "(`whole`), and on windows of D seconds cut at random offsets from the raw "
             f"recordings (`segments`, D = {summary.window_s.iloc[0]:.2f} s, the median training "
             "recording), as the phone cuts them from a stream. Test accuracy (%) on the whole "
             "test recordings, on each run's own test windows, and on continuous streams of the "
             "test subjects' recordings played back to back (every window cut as `tfhar-predict` "
             "cuts it; majority: the action it overlaps most; tolerant: windows across a "
             "transition count as right with either action), mean +- std over seeds. Source: "
             "`phone_windows_summary.csv`, per run `phone_windows.csv`.", "",
             "| variant | seeds | whole recordings | own windows | stream | stream macro F1 "
             "| stream, tolerant |", "|---|---|---|---|---|---|---|"]

    def cell(row, name: str) -> str:
        return f"{100 * row[f'{name}_mean']:.2f} +- {100 * row[f'{name}_std']:.2f}"

    for variant, row in summary.iterrows():
        lines.append(f"| {variant} | {int(row.seeds)} | {cell(row, 'segment_accuracy')} "
                     f"| {cell(row, 'window_accuracy')} | {cell(row, 'stream_majority_accuracy')} "
                     f"| {cell(row, 'stream_majority_macro_f1')} "
                     f"| {cell(row, 'stream_tolerant_accuracy')} |")
    choice = folder / "phone_windows_choice.csv"
    if choice.is_file():
        table = pd.read_csv(choice)
        lines += ["", "The segment settings were chosen on the validation subject's streams "
                  "(seed 0; `python -m pipelines.phone_windows --choose`, "
                  "`phone_windows_choice.csv`), never on the test subjects:", "",
                  "| variant | windows per recording | epochs | val accuracy | val stream "
                  "| val stream, tolerant | chosen |", "|---|---|---|---|---|---|---|"]
        for r in table.itertuples():
            windows = r.segments_per_recording or "1 (the whole recording)"
            lines.append(f"| {r.variant} | {windows} | {r.epochs} "
                         f"| {100 * r.val_accuracy:.2f} "
                         f"| {100 * r.val_stream_majority_accuracy:.2f} "
                         f"| {100 * r.val_stream_tolerant_accuracy:.2f} "
                         f"| {'yes' if r.chosen else ''} |")
    return lines + [""]


def imu_only_section(folder: Path, dataset: str, out_dir: Path) -> list[str]:
    """pipelines.imu_only: IMU-only classifiers on pre-trained encoders against supervised."""
    summary = pd.read_csv(folder / "imu_only_summary.csv")
    runs = pd.read_csv(folder / "imu_only.csv")
    diagnosed = ("mean_max_val_accuracy" in summary.columns
                 and "checkpoint_rule" in runs.columns)
    rules = runs.groupby(["pretrained", "mode"]).checkpoint_rule.agg(
        lambda r: ", ".join(sorted(set(r.dropna()))) or "-") if diagnosed else {}
    seeds = int(summary.seeds.max())
    lines = ["### The IMU-only model: does pre-training with skeletons pay off?", "", "```bash",
             f"python -m pipelines.imu_only --dataset {dataset} --seeds {seeds} --out {folder}",
             "```", "", "Test accuracy (%) of IMU-only classifiers on the inertial encoder of each "
             "pre-trained Table 1 run (frozen, or fine-tuned with the labels), against the "
             "supervised IMU model; the gain is over the supervised model of the same seed, "
             "averaged over seeds. Source: `imu_only_summary.csv`, per run `imu_only.csv`.", "",
             "| pre-trained | encoder | seeds | test | val | gain over supervised |"
             + (" best val, any epoch | checkpoint |" if diagnosed else ""),
             "|---|---|---|---|---|---|" + ("---|---|" if diagnosed else "")]
    for r in summary.itertuples():
        lines.append(f"| {r.pretrained} | {r.mode} | {r.seeds} | {r.mean_accuracy:.2f} +- "
                     f"{r.std_accuracy:.2f} | {_pct(r.mean_val_accuracy)} "
                     f"| {r.gain_over_supervised:+.2f} |"
                     + (f" {_pct(r.mean_max_val_accuracy)} | {rules[(r.pretrained, r.mode)]} |"
                        if diagnosed else ""))
    if diagnosed:
        lines += ["", "\"best val, any epoch\": the highest validation accuracy of any epoch of "
                  "the classifier's training (mean over seeds), what the best checkpoint rule "
                  "could have reached on the validation subject; nothing is chosen by it. It "
                  "tells a model held back by its checkpoint rule from one held back by its "
                  "features."]
    if (summary.pretrained == "cmc_transductive").any():
        lines += ["", "`cmc_transductive`: CMC trained as Table 1's row but pre-trained on every "
                  "subject's unlabelled windows, the test subjects' too (`data.pretrain_subjects:"
                  " all`), as a phone pre-training on its wearer's own recordings before anyone "
                  "labels them; its labels, checkpoint and scoring are the other rows'."]
    return lines + [""]


# What a search decided, beside its table (by results subfolder name).
SEARCH_NOTES = {
    "tune_checkpoint_rule": (
        "Which fine-tuning checkpoint to test, on the CMC row: nested leave-one-subject-out "
        "over subjects 1, 3, 5, 7 (each outer fold trains on two subjects, picks the checkpoint "
        "on a third and is scored on the fourth; CMC pre-trained once on all four). The lowest "
        "validation loss won, 0.5 points above the last epoch, and was the rule on frozen "
        "encoders (`finetune.monitor: auto`) until the search on inertial SimCLR's features "
        "below; the best validation accuracy, the first default, was 5 points lower (a likely "
        "reason, not measured: on one validation subject of about 108 windows accuracy moves in "
        "steps of 0.9 points and ties often, so its best epoch is noisy; the loss is "
        "smoother)."),
    "tune_cmc_head": (
        "The classifier CMC is fine-tuned with, on its frozen encoders: our default (the "
        "fusion, then an MLP 256-128) against the one linear layer after the fusion with which "
        "the authors' later code fine-tunes CMC and CMC-CMKM (a lead from reading their code), "
        "leave-one-subject-out over subjects 1, 3, 5, 7 with CMC pre-trained once on the four "
        "(200 epochs; the same pre-training as tune_imu_only_cmc's, same hash, reused) and the "
        "last epoch scored. The MLP leads by 0.7 points, within one fold's spread: the "
        "default stays, for CMC and CMC-CMKM. Nothing changed, so nothing was tested."),
    "tune_few_labels_cmc": (
        "CMC's classifier at one labelled window per class (`data.label_fraction: 0.01`, 27 "
        "windows), where the frozen encoders' classifier fits its 27 windows to a training "
        "loss of 2e-4 within the 100 epochs. Leave-one-subject-out over subjects 1, 3, 5, 7, "
        "each fold labelling 1% of its own three subjects' windows per class, scored on the "
        "fourth at the last epoch; CMC pre-trained once on the four (tune_cmc_head's "
        "pre-training, same hash, given with `finetune.encoders`); each setting on two "
        "labelled subsets. Means over the subsets: frozen 69.15, frozen with the labelled "
        "windows augmented 68.81, fine-tuned 65.77, fine-tuned with augmentation 73.43. "
        "Fine-tuned encoders overfit 27 windows unless the windows are augmented; then they "
        "gain 4.3 points over the frozen encoders. Not adopted in the semi-supervised study "
        "yet: the paper's study freezes the encoders, so the fine-tuned model is to join it "
        "as a method of its own, not replace CMC's row. Nothing changed, so nothing was "
        "tested."),
    "tune_few_labels_cmc_head": (
        "At one labelled window per class on CMC's frozen encoders (folds and pre-training as "
        "tune_few_labels_cmc's, three labelled subsets): the MLP 256-128 after the fusion (the "
        "default) 71.39 on average against one linear layer 69.15. Fewer weights did not help "
        "with 27 windows; the MLP stays. Nothing changed, so nothing was tested."),
    "tune_imu_only_cmc_per_fold": (
        "tune_imu_only_cmc made fair: CMC pre-trained in every fold without its held-out "
        "subject (`pretrain: per_fold`, each fold's pre-training shared by the four trials), "
        "so the scored subject is unseen, as Table 1's test subjects are. Frozen 74.49 and "
        "75.88, fine-tuned 73.33 and 74.27, at 1e-3 and 1e-4. Against "
        "tune_imu_only_supervised on the same folds (72.63 at its best rate) CMC's inertial "
        "encoder still leads: by 1.9 to 3.3 points frozen and 0.7 to 1.6 fine-tuned, where the "
        "shared pre-training gave 4.6. Seeing the scored subject's unlabelled windows was worth "
        "about 2.8 points at 1e-3 (77.28 shared against 74.49 per fold), not the whole lead. "
        "On Table 1's test subjects the same models trail the supervised one (the IMU-only "
        "study above): the training subjects' folds and the test subjects disagree, by more "
        "than the folds' spread between settings. Frozen at 1e-4 leads here by 1.4 points, "
        "where the shared search put 1e-3 first by 4: within the noise, so the default "
        "stays. Nothing changed, so nothing was tested."),
    "tune_imu_only_cmc": (
        "The phone's IMU-only classifier on CMC's inertial encoder (`finetune.modalities: "
        "[inertial]`), frozen or fine-tuned, at three learning rates; leave-one-subject-out "
        "over subjects 1, 3, 5, 7 (three train, the fourth is scored at the last epoch), CMC "
        "pre-trained once on the four. Fine-tuning gains as its rate falls (70.77, 72.85, "
        "74.02 at 1e-3, 3e-4, 1e-4: the lead from review holds) but stays below the frozen "
        "encoder at the default rate, 77.28, which is kept: nothing changed, so nothing was "
        "tested. Against tune_imu_only_supervised (72.63) the frozen model leads by 4.6 "
        "points here, while on Table 1's test subjects it trails the supervised IMU model "
        "(the IMU-only study above). The folds are not like for like: the shared pre-training "
        "saw the scored subject's unlabelled windows, a supervised fold sees nothing of it, "
        "and Table 1's pre-training never sees the test subjects; a per-fold pre-training "
        "(`pretrain: per_fold`) is the fair comparison, not run yet."),
    "tune_imu_only_supervised": (
        "The supervised IMU model (the inertial supervised row) at three learning rates, "
        "leave-one-subject-out over subjects 1, 3, 5, 7 (three train, the fourth is scored at "
        "the last epoch): the baseline of tune_imu_only_cmc, searched with the same budget. "
        "1e-3, the default, ties 3e-4 and leads 1e-4 by 2.3 points: the default stays. "
        "Nothing changed, so nothing was tested."),
    "tune_simclr_inertial": (
        "The paper's grid for inertial SimCLR (augmentation sets of CSSHAR, batch sizes, "
        "temperatures), leave-one-subject-out over subjects 1, 3, 5, 7 with 100 pre-training "
        "epochs per trial; the best config was then trained at the row's 300 epochs on the "
        "Table 1 split (train 1, 3, 5, validation 7) and tested once per seed. Against the "
        "Table 1 row (65.74, the paper's set with channel shuffle, batch 128) it gains about 4 "
        "points; the paper reports 75.84 and the authors' later code 72.09. Adding channel "
        "shuffle cost 3-13 points at every batch size and temperature here; a likely reason "
        "(not measured separately): it swaps accelerometer (g, std 0.5-0.75) and gyroscope "
        "(deg/s, std 100-125) axes, so a view's channels change scale by two orders of "
        "magnitude. These scores picked each fold's checkpoint by accuracy on the held-out subject "
        "itself (folds: loso under the former default rule, val_accuracy), which flatters every "
        "trial alike: they "
        "rank the trials, and the 73.33 is not an estimate of test accuracy."),
    "tune_simclr_inertial_permutation": (
        "Two leads from review on the inertial SimCLR row, scored as the grid above (batch 64, "
        "temperature 0.1, 100 pre-training epochs) but with the checkpoint of lowest loss on "
        "the held-out subject (`finetune.monitor: val_loss`), so its scores are lower than the "
        "grid's, whose checkpoints were picked by accuracy on the very subject they were "
        "scored on (an optimistic pick: compare within a search, not across). (1) The time "
        "permutation: ours (`permute`, 2 or 3 pieces cut at random points, never the original "
        "order) 63.59 against the authors' code's (`permute_equal`, 1 or 2 equal pieces, the "
        "original order possible) 55.69 and none 52.68; ours is kept. (2) BatchNorm statistics "
        "of the frozen encoder re-estimated on the clean training windows "
        "(`finetune.batch_norm_statistics: training_windows`) against those of pre-training, "
        "from augmented views: lower with every permutation (60.58, 52.67, 44.78), so the "
        "pre-training statistics are kept. Nothing changed, so nothing was tested."),
    "tune_checkpoint_rule_supervised": (
        "The checkpoint rule again for training end to end (the supervised inertial row: the "
        "encoder trains with its classifier), nested leave-one-subject-out as above. Here the "
        "last epoch wins, 4.4 points above the best validation accuracy and 4.9 above the "
        "lowest validation loss: the validation loss of a model trained from scratch is lowest "
        "early, while accuracy still climbs (a likely reason, not measured here). So the "
        "rule became one per kind of training (`finetune.monitor: auto`): the last epoch "
        "when the encoders train, the lowest validation loss on frozen encoders."),
    "tune_checkpoint_rule_simclr_inertial": (
        "The checkpoint rule once more, on a second kind of frozen features: the inertial "
        "SimCLR row's (its encoder pre-trained once, 300 epochs, on subjects 1, 3, 5, 7), "
        "nested leave-one-subject-out as above. Here the last epoch wins, 1.9 points above the "
        "best validation accuracy and 4.6 above the lowest validation loss, which the CMC "
        "search chose for frozen encoders by 0.5 points over the last epoch. On Table 1 the "
        "lowest validation loss picked classifier epochs 0-3 of 100 on these features: their "
        "validation loss rises from the first epochs while the accuracy still climbs. Averaged "
        "over the two frozen-encoder searches the last epoch leads (73.78 against 71.70 for "
        "the lowest validation loss), as it does when the encoders train: the default rule is "
        "now the last epoch for every kind of training (`finetune.monitor: last`), and the "
        "frozen rows of Table 1 and the IMU-only study were fine-tuned again on their "
        "pre-trained encoders (`tfhar-train --refit`)."),
    "tune_precision": (
        "Whether `runtime.precision: auto` (mixed_bfloat16 on CPUs with AMX or AVX-512 BF16) "
        "may become the default: CMC scored exactly as the checkpoint rule was (its float32 "
        "trial repeats that search's val_loss trial, 88.41), pre-training seed 0. bfloat16 "
        "trained CMC 19% faster per whole epoch here (benchmarks/results/"
        "train_speed_xeon_amx.json) but scored 1.85 points lower; with pre-training seed 1 "
        "(search `tune_precision_seed1`) 0.24 points lower. Lower in both seeds, about 1 point "
        "on average: float32 stays the default and `auto` is there for who prefers the speed. "
        "No test accuracy: nothing was chosen to be tested."),
    "tune_precision_seed1": (
        "The precision search again with `--set runtime.seed=1` (another pre-training and "
        "fine-tuning seed): float32 86.79, mixed_bfloat16 86.54. See `tune_precision`."),
}


def tuned_section(folder: Path, dataset: str, out_dir: Path) -> list[str]:
    """A search's results (pipelines.tuned): its trials on the training subjects' folds, the
    best config, and that config's test accuracy over seeds."""
    trials = pd.read_csv(folder / "trials.csv", dtype={"trial_id": str})
    if (folder / "best.csv").is_file():
        best = pd.read_csv(folder / "best.csv", dtype={"trial_id": str}).iloc[0]
    else:  # The search is finished, its best config not trained over seeds yet.
        winner = trials.loc[trials.score.idxmax()]
        best = pd.Series({"trial_id": winner.trial_id, "cv_score": 100 * winner.score,
                          "cv_score_std": 100 * winner.score_std, "seeds": 0,
                          "trials": int(trials.score.notna().sum()), "test_mean": None,
                          "test_std": None, "changes": None})
    names = list(trials.columns[list(trials.columns).index("status") + 1:
                                list(trials.columns).index("score")])
    figure = Path(os.path.relpath(folder / "search.png", out_dir)).as_posix()
    changes = f" --set {best.changes}" if isinstance(best.changes, str) and best.changes else ""
    lines = [f"### Search `{folder.name}`", "", "```bash",
             f"python -m pipelines.tuned --project tune/... --out {folder}"
             + (f" --seeds {int(best.seeds)}{changes}" if best.seeds else ""), "```", "",
             f"{int(best.trials)} trials, each scored by accuracy (%) on folds of the training "
             "subjects (mean +- std over folds); the test subjects are never seen. Source: "
             "`trials.csv`" + (", `best.csv`." if best.seeds else "."), ""]
    if folder.name in SEARCH_NOTES:
        lines += [SEARCH_NOTES[folder.name], ""]
    if (folder / "search.png").is_file():
        lines += [f"![score against each hyperparameter]({figure})", ""]
    lines += ["| trial | " + " | ".join(f"`{n}`" for n in names) + " | CV accuracy |",
              "|---|" + "---|" * (len(names) + 1)]
    for row in trials.sort_values("score", ascending=False).to_dict("records"):
        score = "-" if pd.isna(row["score"]) else (
            f"{100 * row['score']:.2f} +- {100 * row['score_std']:.2f}")
        lines.append(f"| {row['trial_id']} | " + " | ".join(f"{row[n]}" for n in names)
                     + f" | {score} |")
    lines += _over_repeats(trials, names)
    test = ("not tested: the search chose a setting, not a model (--seeds 0)"
            if best.seeds == 0 and (folder / "best.csv").is_file()
            else "not trained over seeds yet" if pd.isna(best.test_mean) else
            f"{best.test_mean:.2f}" + ("" if pd.isna(best.test_std) else
                                       f" +- {best.test_std:.2f}") + f" ({int(best.seeds)} seeds)")
    lines += ["", f"Best: trial {best.trial_id}, cross-validated {best.cv_score:.2f} +- "
              f"{best.cv_score_std:.2f}; its config (`best.yaml`{changes and ', with' + changes}) "
              f"on the test subjects: {test}.", ""]
    return lines


# Searched keys that draw another repeat of the same setting rather than another setting.
REPEAT_KEYS = ("data.label_fraction_seed", "runtime.seed")


def _over_repeats(trials: pd.DataFrame, names: list[str]) -> list[str]:
    """For a search that repeats each setting over REPEAT_KEYS (e.g. labelled subsets): the
    settings ranked by their mean score over the repeats, the figure a setting is chosen by."""
    repeats = [n for n in names if n in REPEAT_KEYS]
    settings = [n for n in names if n not in REPEAT_KEYS]
    if not repeats or not settings:
        return []
    done = trials[trials.score.notna()]
    means = (done.groupby(settings, dropna=False).score.agg(["mean", "std", "count"])
             .sort_values("mean", ascending=False).reset_index())
    lines = ["", f"Each setting over its repeats ({', '.join(f'`{n}`' for n in repeats)}): "
             "mean +- std of the trials' scores, best first; a setting is chosen by this mean.",
             "", "| " + " | ".join(f"`{n}`" for n in settings) + " | repeats | mean CV accuracy |",
             "|" + "---|" * (len(settings) + 2)]
    for row in means.to_dict("records"):
        spread = "" if pd.isna(row["std"]) else f" +- {100 * row['std']:.2f}"
        lines.append("| " + " | ".join(f"{row[n]}" for n in settings)
                     + f" | {int(row['count'])} | {100 * row['mean']:.2f}{spread} |")
    return lines


SECTIONS = (("table1.csv", table1_section),
            ("table1_paper.csv", functools.partial(table1_section, paper=True)),
            ("variants.csv", variants_section),
            ("semi_supervised_summary.csv", semi_supervised_section),
            ("phone_windows_summary.csv", phone_windows_section),
            ("imu_only_summary.csv", imu_only_section))


def _in(subfolder: Path, build, folder: Path, dataset: str, out_dir: Path) -> list[str]:
    """`build` of a results subfolder (a search's) of a dataset folder."""
    return build(subfolder, dataset, out_dir)


def render(results: Path, out_dir: Path) -> str:
    """The document from the dataset folders under `results`; links relative to `out_dir`."""
    folders = [results / d for d in [*ROWS, *sorted(p.name for p in results.iterdir()
                                                    if p.name not in ROWS)]
               if (results / d).is_dir()]
    lines = [HEADER, "", "# Experiments", "",
             "The experiment log, written from the results files of the pipelines, which "
             "hold every number below. Regenerate it with", "", "```bash", COMMAND, "```", "",
             "Choices are made on the validation subject; the test subjects are reported and "
             "never used to choose.", ""]
    written = 0
    for folder in folders:
        sections = [(name, build) for name, build in SECTIONS if (folder / name).is_file()]
        if not sections:
            continue
        lines += [f"## {NAMES.get(folder.name, folder.name)}", ""]
        if folder.name in NOTES:
            lines += [NOTES[folder.name], ""]
        searches = sorted(p for p in folder.iterdir() if (p / "trials.csv").is_file())
        sections += [(p / "trials.csv", functools.partial(_in, p, tuned_section))
                     for p in searches]
        for name, build in sections:
            try:
                lines += build(folder, folder.name, out_dir)
            except (AttributeError, KeyError, ValueError) as error:
                raise ReportError(f"{folder / name} is not a results file of the pipelines "
                                  f"({type(error).__name__}: {error})") from None
        written += 1
    if not written:
        raise ReportError(f"no results CSVs (table1.csv, variants.csv, "
                          f"semi_supervised_summary.csv) in the folders of {str(results)!r}")
    return "\n".join(lines).rstrip("\n") + "\n"


def check_out(out: Path) -> None:
    """Raise ReportError unless `out` is absent or a report this command wrote."""
    if out.is_symlink() or out.is_dir():
        raise ReportError(f"--out {str(out)!r} is a link or a folder; choose a file name")
    if out.exists() and not out.read_text(errors="replace").startswith(MARK):
        raise ReportError(f"--out {str(out)!r} exists and was not written by this command "
                          "(its first line differs); choose another file or move it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="folder of the per-dataset results folders (default results)")
    parser.add_argument("--out", type=Path, default=Path("experiments.md"),
                        help="the Markdown file to write (default experiments.md)")
    parser.add_argument("--readme", type=Path,
                        help="also rewrite this README's Results block (between its "
                        "<!-- results:start --> and <!-- results:end --> lines)")
    args = parser.parse_args(argv)
    try:
        if not args.results.is_dir():
            raise ReportError(f"--results {str(args.results)!r} is not a folder")
        check_out(args.out)
        text = render(args.results, args.out.parent)
        if args.readme is not None:
            from .readme import render as readme_section
            from .readme import updated

            readme = updated(args.readme.read_text(encoding="utf-8"),
                             readme_section(args.results, args.readme.parent))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.out, text)
        if args.readme is not None:
            write_text(args.readme, readme)
    except (ReportError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
