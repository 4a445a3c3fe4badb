"""pipelines.report: docs/experiments.md is exactly what the command writes from the committed
results CSVs, every number rendered comes from (or is computed from) them, and a file of the
user's at --out is never replaced."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines import report, variants
from tfhar.experiment.run_directory import marker_kind

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_log_is_what_the_command_writes(tmp_path, monkeypatch):
    shutil.copytree(REPO / "pipelines" / "results", tmp_path / "pipelines" / "results")
    monkeypatch.chdir(tmp_path)
    assert report.main(["--results", "pipelines/results", "--out", "docs/experiments.md"]) == 0
    assert ((tmp_path / "docs" / "experiments.md").read_text()
            == (REPO / "docs" / "experiments.md").read_text()), (
        f"docs/experiments.md is stale: run `{report.COMMAND}`")


def test_the_committed_results_folders_are_marked_and_current():
    for folder in (REPO / "pipelines" / "results").iterdir():
        assert marker_kind(folder) == "results", folder
    table = pd.read_csv(REPO / "pipelines" / "results" / "utd_mhad" / "variants.csv")
    for row in table.itertuples():  # Descriptions and decisions as the code states them now.
        assert row.change == variants.VARIANTS[row.variant][4]
        assert (row.val_gain_windows, row.decision) == variants.decide(
            row.val_accuracy, row.row_val_accuracy, row.val_windows)


def write_results(folder: Path) -> None:
    """Small results files of one dataset, as the pipelines write them."""
    folder.mkdir(parents=True)
    pd.DataFrame({"model": ["cmc", "skeleton simclr"], "seeds": [2, 2],
                  "mean_accuracy": [91.5, 80.25], "std_accuracy": [0.71, 3.0],
                  "paper": [93.82, 93.72], "authors_code": [96.04, None],
                  "wall_time_s": [600.0, 1200.0]}).to_csv(folder / "table1.csv", index=False)
    pd.DataFrame({"model": ["cmc", "cmc", "skeleton simclr", "skeleton simclr"],
                  "seed": [0, 1, 0, 1], "run_dir": ["a", "b", "c", "d"],
                  "accuracy": [91.0, 92.0, 78.13, 82.37], "val_accuracy": [94.0, 96.0, 90.0, 91.0],
                  "macro_f1": [90.0] * 4, "num_test_samples": [430] * 4,
                  "wall_time_s": [300.0] * 4}).to_csv(folder / "table1_runs.csv", index=False)
    variants.tabulate([
        {"variant": "cmc_trainmode", "row": "cmc", "change": "training mode",
         "val_accuracy": 98.0, "row_val_accuracy": 94.0, "test_accuracy": 90.5,
         "row_test_accuracy": 91.0, "wall_time_s": 5.0, "run_dir": "e"},
        {"variant": "cmc_no_channel_shuffle", "row": "cmc", "change": "no shuffle",
         "val_accuracy": 96.0, "row_val_accuracy": 94.0, "test_accuracy": 97.5,
         "row_test_accuracy": 91.0, "wall_time_s": 5.0, "run_dir": "f"},
    ], windows=50).to_csv(folder / "variants.csv", index=False)
    pd.DataFrame({"method": ["cmc", "multimodal supervised"] * 3,
                  "fraction": [0.01, 0.01, 0.1, 0.1, 0.5, 0.5], "repeats": [3, 3, 3, 3, 2, 2],
                  "labelled": [27.0, 27.0, 27.0, 27.0, 162.0, 162.0],
                  "mean_accuracy": [70.5, 60.25, 70.5, 60.25, 88.0, 89.5],
                  "ci95": [1.5, 2.0, 1.5, 2.0, 0.5, 0.75],
                  }).to_csv(folder / "semi_supervised_summary.csv", index=False)


def test_the_numbers_rendered_are_those_of_the_csvs(tmp_path):
    write_results(tmp_path / "results" / "utd_mhad")
    text = report.render(tmp_path / "results", tmp_path / "docs")
    # Table 1: mean +- std, validation mean over seeds (95.00), gap to the paper, wall time.
    assert "| cmc | 2 | 91.50 +- 0.71 | 95.00 | 93.82 | -2.32 | 96.04 | 10.0 min |" in text
    assert "| skeleton simclr | 2 | 80.25 +- 3.00 | 90.50 | 93.72 | -13.47 | - | 20.0 min |" in text
    assert "| cmc | 91.00 (94.00) | 92.00 (96.00) |" in text
    assert "test subjects (430 windows)" in text and "0.5 h in all" in text
    assert "(3.00 points: 78.13, 82.37)" in text  # The widest spread, with its seeds.
    # Variants: the rule on 50 windows (2 windows = 4.00 points) and each decision.
    assert "50 windows, so at least 4.00 points" in text
    assert "| cmc_trainmode | cmc | training mode | 98.00 | 94.00 | +2 | adopted |" in text
    assert "| no shuffle | 96.00 | 94.00 | +1 | reference kept | 97.50 | 91.00 |" in text
    assert "Adopted: cmc_trainmode;" in text
    # Semi-supervised: mean +- CI (repeats) per fraction, labelled windows, margins.
    assert "| labelled windows | 27 | 27 | 162 |" in text
    assert "| cmc | 70.50 +- 1.50 (3) | 70.50 +- 1.50 (3) | 88.00 +- 0.50 (2) |" in text
    assert "At 1% the paper's SSL models reach \"about 80%\"" in text
    assert "ours 70.50 (-9.50); our supervised model 60.25" in text
    assert "+10.25 points at 27 windows, -1.50 points at 162 windows" in text
    assert "](../results/utd_mhad/semi_supervised.png)" in text


def test_each_rows_checkpoint_rule_is_rendered_when_the_runs_record_it(tmp_path):
    folder = tmp_path / "results" / "utd_mhad"
    write_results(folder)
    runs = pd.read_csv(folder / "table1_runs.csv")
    runs["checkpoint_rule"] = ["val_loss", "val_loss", "last", "last"]
    runs.to_csv(folder / "table1_runs.csv", index=False)
    text = report.render(tmp_path / "results", tmp_path / "docs")
    assert ("| cmc | 2 | 91.50 +- 0.71 | 95.00 | 93.82 | -2.32 | 96.04 | val_loss | 10.0 min |"
            in text)
    assert "by the row's rule" in text


def test_datasets_appear_when_their_folder_exists(tmp_path):
    write_results(tmp_path / "results" / "utd_mhad")
    assert "Berkeley-MHAD" not in report.render(tmp_path / "results", tmp_path)
    write_results(tmp_path / "results" / "berkeley_mhad")
    text = report.render(tmp_path / "results", tmp_path)
    assert text.index("## UTD-MHAD") < text.index("## Berkeley-MHAD")


def test_a_file_of_the_users_at_out_is_never_replaced(tmp_path, capsys):
    write_results(tmp_path / "results" / "utd_mhad")
    mine = tmp_path / "experiments.md"
    mine.write_text("# My notes\n")
    args = ["--results", str(tmp_path / "results"), "--out", str(mine)]
    assert report.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(mine) in err[0]
    assert mine.read_text() == "# My notes\n"
    mine.unlink()
    assert report.main(args) == 0  # Its own report it replaces.
    assert report.main(args) == 0 and mine.read_text().startswith(report.HEADER)


@pytest.mark.parametrize("make", [
    lambda root: None,                                                  # No results folder.
    lambda root: (root / "results" / "utd_mhad").mkdir(parents=True),  # No CSVs in it.
    lambda root: (root / "results" / "utd_mhad").mkdir(parents=True)
    or (root / "results" / "utd_mhad" / "table1.csv").write_text("a,b\n1,2\n"),
])
def test_missing_or_foreign_results_are_one_error_line(tmp_path, capsys, make):
    make(tmp_path)
    out = tmp_path / "experiments.md"
    assert report.main(["--results", str(tmp_path / "results"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not out.exists()


def test_readme_results_are_what_the_report_writes_from_the_results_files():
    from pipelines.readme import END, START, render

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    block = readme[readme.index(START) + len(START):readme.index(END)].strip("\n")
    assert block == render(root / "pipelines" / "results", root), (
        "README's Results are stale: python -m pipelines.report --results pipelines/results "
        "--out docs/experiments.md --readme README.md")


def test_readme_block_needs_its_markers():
    from pipelines.readme import updated

    with pytest.raises(ValueError, match="results:start"):
        updated("# no block here\n", "text")
    assert updated("a\n<!-- results:start -->\nold\n<!-- results:end -->\nb\n", "new") == (
        "a\n<!-- results:start -->\nnew\n<!-- results:end -->\nb\n")


def test_the_paper_protocol_table_is_rendered_beside_the_other(tmp_path):
    from pipelines import readme

    folder = tmp_path / "results" / "utd_mhad"
    write_results(folder)
    pd.DataFrame({"model": ["cmc"], "seeds": [2], "mean_accuracy": [95.5], "std_accuracy": [0.5],
                  "paper": [93.82], "authors_code": [96.04], "wall_time_s": [600.0]}
                 ).to_csv(folder / "table1_paper.csv", index=False)
    pd.DataFrame({"model": ["cmc", "cmc"], "seed": [0, 1], "run_dir": ["a", "b"],
                  "accuracy": [95.0, 96.0], "val_accuracy": [None, None], "macro_f1": [95.0] * 2,
                  "num_test_samples": [430] * 2, "wall_time_s": [300.0] * 2}
                 ).to_csv(folder / "table1_paper_runs.csv", index=False)
    text = report.render(tmp_path / "results", tmp_path / "docs")
    assert text.index("### Table 1 (full labels)\n") < text.index(
        "### Table 1 (full labels), the paper protocol")
    assert "--protocol paper --existing-only" in text
    assert "| cmc | 2 | 95.50 +- 0.50 | - | 93.82 | +1.68 | 96.04 | 10.0 min |" in text
    block = readme.render(tmp_path / "results", tmp_path)
    assert "the last epoch is tested" in block
    assert "| cmc | 95.50 +- 0.50 | 93.82 | +1.68 |" in block


def test_a_search_and_the_phone_windows_are_rendered(tmp_path):
    folder = tmp_path / "results" / "utd_mhad"
    write_results(folder)
    search = folder / "tune_simclr_inertial"
    search.mkdir()
    pd.DataFrame({"trial_id": ["0000", "0001"], "status": ["COMPLETED"] * 2,
                  "pretrain.temperature": [0.05, 0.1], "score": [0.70, 0.7325],
                  "score_std": [0.02, 0.03], "fold_scores": ["{}", "{}"],
                  "wall_time_s": [1.0, 2.0], "trial_dir": ["a", "b"]}
                 ).to_csv(search / "trials.csv", index=False)
    pd.DataFrame([{"trial_id": "0001", "cv_score": 73.25, "cv_score_std": 3.0, "trials": 2,
                   "seeds": 3, "test_mean": 70.5, "test_std": 1.25,
                   "changes": "pretrain.epochs=300"}]).to_csv(search / "best.csv", index=False)
    figures = {"segment_accuracy": 0.76, "window_accuracy": 0.7, "stream_majority_accuracy": 0.3,
               "stream_majority_macro_f1": 0.25, "stream_tolerant_accuracy": 0.32}
    pd.DataFrame([{"variant": v, "seeds": 3, "window_s": 3.52,
                   **{f"{k}_mean": x + gain for k, x in figures.items()},
                   **{f"{k}_std": 0.01 for k in figures}}
                  for v, gain in (("whole", 0.0), ("segments", 0.1))]
                 ).to_csv(folder / "phone_windows_summary.csv", index=False)
    text = report.render(tmp_path / "results", tmp_path / "docs")
    assert "### Search `tune_simclr_inertial`" in text
    # Trials best first, with their hyperparameters and fold spread.
    best, other = "| 0001 | 0.1 | 73.25 +- 3.00 |", "| 0000 | 0.05 | 70.00 +- 2.00 |"
    assert text.index(best) < text.index(other)
    assert "cross-validated 73.25 +- 3.00" in text and "70.50 +- 1.25 (3 seeds)" in text
    assert "| whole | 3 | 76.00 +- 1.00 | 70.00 +- 1.00 | 30.00 +- 1.00 |" in text
    assert "| segments | 3 | 86.00 +- 1.00 | 80.00 +- 1.00 | 40.00 +- 1.00 |" in text
    assert "D = 3.52 s" in text
    (search / "best.csv").unlink()  # A finished search whose best config is still training.
    pending = report.render(tmp_path / "results", tmp_path / "docs")
    assert "Best: trial 0001, cross-validated 73.25 +- 3.00" in pending
    assert "not trained over seeds yet" in pending
    from pipelines import readme

    block = readme.render(tmp_path / "results", tmp_path)
    assert "| D-second windows | 86.00 +- 1.00 | 40.00 +- 1.00 | 35.00 +- 1.00 |" in block


def test_a_search_over_repeats_ranks_each_setting_by_its_mean_over_them(tmp_path):
    """A search that draws each setting on several labelled subsets (data.label_fraction_seed)
    is chosen by the mean over them, not by its luckiest trial."""
    folder = tmp_path / "results" / "utd_mhad"
    write_results(folder)
    search = folder / "tune_few_labels"
    search.mkdir()
    # Frozen wins the single best trial (0.80) but loses on the mean (0.65 against 0.72).
    pd.DataFrame({"trial_id": ["0000", "0001", "0002", "0003"], "status": ["COMPLETED"] * 4,
                  "finetune.augment": [0, 0, 1, 1], "data.label_fraction_seed": [0, 1, 0, 1],
                  "score": [0.80, 0.50, 0.74, 0.70], "score_std": [0.01] * 4,
                  "fold_scores": ["{}"] * 4, "wall_time_s": [1.0] * 4,
                  "trial_dir": list("abcd")}).to_csv(search / "trials.csv", index=False)
    text = report.render(tmp_path / "results", tmp_path / "docs")
    assert "| `finetune.augment` | repeats | mean CV accuracy |" in text
    assert text.index("| 1 | 2 | 72.00 +- 2.83 |") < text.index("| 0 | 2 | 65.00 +- 21.21 |")
