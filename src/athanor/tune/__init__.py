"""Tuning: search spaces, Optuna-backed searches with pruning, and automatic training.

The package is also the Python API's ``athanor.tune(spec, trials=20, budget="10m")``:
calling it runs :func:`athanor.tune.search.tune`. (Python binds ``athanor.tune`` to this
package as soon as anything imports it, so the package itself must be the callable.) Optuna
is imported only when a search runs.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["auto", "resume", "show", "tune"]


class _CallableTunePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from athanor.tune.search import tune

        return tune(*args, **kwargs)


def tune(*args: Any, **kwargs: Any) -> Any:
    """Run a search; see :func:`athanor.tune.search.tune`."""
    from athanor.tune.search import tune as run

    return run(*args, **kwargs)


def resume(*args: Any, **kwargs: Any) -> Any:
    """Continue a stored search; see :func:`athanor.tune.search.resume_search`."""
    from athanor.tune.search import resume_search

    return resume_search(*args, **kwargs)


def show(ref: int | str, *, settings: Any = None) -> dict[str, Any]:
    """The report of search ``ref`` (its number or name): leaderboard, importance, best."""
    from athanor.settings import current_settings
    from athanor.tune.report import search_report
    from athanor.tune.study import load_search_study

    return search_report(load_search_study(ref, settings or current_settings()))


def auto(*args: Any, **kwargs: Any) -> Any:
    """Train a model for a dataset within a budget; see :func:`athanor.tune.automl.auto`."""
    from athanor.tune.automl import auto as run

    return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableTunePackage
