"""Tuning: search spaces, Optuna-backed searches with pruning, and automatic training.

The Python API's ``athanor.tune`` is :func:`athanor.tuning.search.tune`, ``athanor.auto`` is
:func:`athanor.tuning.automl.auto`, and ``athanor.searches`` shows and resumes stored
searches. Optuna is imported only when a search runs.
"""
