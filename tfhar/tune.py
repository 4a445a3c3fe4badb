"""`tfhar-tune` / `python -m tfhar.tune`: a keras-tuner search over a config, scored on folds
of the training subjects (never the test subjects).

    tfhar-tune --config tune/synthetic_simclr_inertial --max-trials 2
    tfhar-tune --config my_search.yaml --tuner bayesian --max-trials 20 --evaluate-best

A tune config is an experiment config (or `base: <config file or shipped name>` with changes)
plus `search:` (config field paths and the values or ranges each may take) and `score:`
(metric, folds: validation | loso | nested_loso, pretrain: per_fold | shared); see
tfhar/tuning/space.py and scoring.py. Every trial is a tfhar run per fold under
<project>/trials/; the same command continues an interrupted search. Results in the project:
trials.csv, search.png (score against each hyperparameter), hparams/ (TensorBoard HParams),
best.yaml (a complete config for `tfhar-train --config`), and with --evaluate-best, best/ (the
best config trained on the config's own split) and best_test.json (its test metrics, once).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tfhar.config import (
    ConfigError,
    config_from_tree,
    config_hash,
    dump_config,
    read_tree,
    shipped_configs,
)
from tfhar.data import DataError
from tfhar.experiment.run_directory import (
    OwnershipError,
    check_replaceable,
    marker_kind,
    remove_folder,
    write_marker,
)
from tfhar.files import write_text

TUNERS = ("grid", "random", "bayesian", "hyperband")
KIND = "tune"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tfhar-tune", description=__doc__.split("\n\n")[0],
        epilog=f"shipped searches (--config NAME): {', '.join(shipped_configs(searches=True))}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True,
                        help="tune config: a YAML file or a shipped name (e.g. tune/...)")
    parser.add_argument("--tuner", default="grid", choices=TUNERS,
                        help="keras-tuner search: grid (default), random, bayesian, hyperband")
    parser.add_argument("--max-trials", type=int,
                        help="trials at most (default: the whole grid; 10 for random/bayesian)")
    parser.add_argument("--project-dir", help="where the search goes (default tune/<config>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again: replace a search project tfhar wrote")
    parser.add_argument("--evaluate-best", action="store_true",
                        help="train the best config on the config's own split and test it once")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a base config value (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search's sampling")
    return parser.parse_args(argv)


def _merge(base: dict, changes: dict) -> dict:
    """`base` with `changes` merged in, mapping by mapping."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_search(name: str) -> tuple[dict, object, object, str]:
    """(base config tree, search spec, score spec, the search's canonical text)."""
    tree = read_tree(name)
    search, score, base = tree.pop("search", None), tree.pop("score", None), tree.pop("base", None)
    if search is None:
        raise ConfigError(f"tune config {name!r} has no `search:` section")
    if base is not None:
        if not isinstance(base, str):
            raise ConfigError(f"base: expected a config file or shipped name, got {base!r}")
        tree = _merge(read_tree(base), tree)
    canonical = dump_config(config_from_tree(tree)) + dump_yaml({"search": search,
                                                                 "score": score})
    return tree, search, score, canonical


def dump_yaml(value: object) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=True)


def same_search(saved: str, canonical: str) -> bool:
    """Whether a project's search.yaml (`saved`) is the search `canonical` describes: the same
    text, or the same search, score, tuner and config hash (a field tfhar added since, at its
    default, or a change to what no result depends on, keeps a search resumable)."""
    if saved == canonical:
        return True
    import yaml

    try:
        trees = [yaml.safe_load(text) for text in (saved, canonical)]
        specs = [{k: tree.pop(k, None) for k in ("search", "score", "tuner")} for tree in trees]
        hashes = [config_hash(config_from_tree(tree)) for tree in trees]
    except (ConfigError, yaml.YAMLError, AttributeError, TypeError):
        return False
    return specs[0] == specs[1] and hashes[0] == hashes[1]


def check_project(project: Path, canonical: str, tuner: str, overwrite: bool) -> bool:
    """True to continue a search in `project`; refuse folders tfhar did not write, and a
    project of another search unless `overwrite`. Reads only."""
    if overwrite:
        check_replaceable(project, KIND, "--project-dir")
    if project.exists() and marker_kind(project) == KIND:
        saved = project / "search.yaml"
        same = saved.is_file() and same_search(saved.read_text(),
                                               canonical + f"tuner: {tuner}\n")
        if not same and not overwrite:
            raise ConfigError(f"--project-dir {str(project)!r} holds another search; pass "
                              "--overwrite to replace it, or choose another folder")
        return same and not overwrite
    if project.exists() and (project.is_symlink() or not project.is_dir()
                             or any(project.iterdir())):
        raise OwnershipError(f"--project-dir {str(project)!r} exists and is not a search "
                             "project of tfhar's; choose another folder")
    return False


def build_tuner(study, tuner: str, max_trials: int | None, seed: int, max_epochs: int):
    import keras_tuner

    from tfhar.tuning.study import ResumableGridSearchOracle, TfharHyperModel, TfharTuner

    objective = keras_tuner.Objective("score", direction="max")
    if tuner == "grid":
        oracle = ResumableGridSearchOracle(objective, max_trials=max_trials, seed=seed)
    elif tuner == "random":
        oracle = keras_tuner.oracles.RandomSearchOracle(objective, max_trials or 10, seed=seed)
    elif tuner == "bayesian":
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(objective, max_trials or 10,
                                                                seed=seed)
    else:
        oracle = keras_tuner.oracles.HyperbandOracle(objective, max_epochs=max_epochs, seed=seed)
    return TfharTuner(oracle=oracle, hypermodel=TfharHyperModel(study),
                      directory=str(study.project), project_name="keras_tuner", overwrite=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.max_trials is not None and args.max_trials < 1:
            raise ConfigError(f"--max-trials must be a positive integer, got {args.max_trials}")
        tree, search, score, canonical = read_search(args.config)
        from tfhar.tuning.scoring import Scoring, make_folds
        from tfhar.tuning.space import SearchSpace

        space, scoring = SearchSpace.parse(search), Scoring.parse(score)
        base = config_from_tree(tree, args.set)
        space.check(tree, args.set)
        if base.data.pretrain_subjects != "training" or "data.pretrain_subjects" in search:
            raise ConfigError("data.pretrain_subjects: a search pre-trains on the training "
                              "subjects only (its folds hold them out; test subjects never "
                              "enter it); use score.pretrain: shared or per_fold instead")
        project = Path(args.project_dir or Path("tune") / Path(args.config).stem)
        resume = check_project(project, canonical, args.tuner, args.overwrite)
        from tfhar.experiment.data import load_splits

        splits = load_splits(base)
        make_folds(splits, scoring)
    except (ConfigError, DataError, OwnershipError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.overwrite and not resume:
        remove_folder(project, KIND, "--project-dir")
    project.mkdir(parents=True, exist_ok=True)
    write_marker(project, KIND)
    write_text(project / "search.yaml", canonical + f"tuner: {args.tuner}\n")
    from tfhar.tuning.report import write_report
    from tfhar.tuning.study import Study

    study = Study(tree, list(args.set), space, scoring, project, splits)
    max_epochs = base.finetune.epochs if base.method == "supervised" else base.pretrain.epochs
    tuner = build_tuner(study, args.tuner, args.max_trials, args.seed, max(max_epochs, 1))
    print(f"{'continuing' if resume else 'starting'} a {args.tuner} search of "
          f"{len(space.dimensions)} hyperparameter(s), scored by {scoring.metric} on "
          f"{scoring.folds} folds -> {project}", flush=True)
    tuner.search()
    best = write_report(study, tuner)
    print(f"best: trial {best['trial_id']}, {scoring.metric} {best['score']:.4f}; "
          f"{project / 'trials.csv'}, {project / 'best.yaml'}", flush=True)
    if args.evaluate_best:
        from tfhar.tuning.report import evaluate_best

        metrics = evaluate_best(study, project / "best.yaml")
        print(f"[best] test accuracy {metrics['accuracy']:.4f}, macro F1 "
              f"{metrics['macro_f1']:.4f}; {project / 'best_test.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
