"""Hyper-parameter optimisation with Optuna: search spaces, shared studies, trial workers."""
