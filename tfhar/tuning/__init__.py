"""keras-tuner searches over tfhar's training stages (`tfhar-tune`): a search space declared in
YAML (space.py), trials scored on folds of the training subjects (scoring.py), each trial a
normal run directory (study.py)."""
