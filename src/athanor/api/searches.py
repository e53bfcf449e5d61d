"""Stored searches from the Python API: ``athanor.searches.show(ref)`` and ``.resume(ref)``."""

from __future__ import annotations

from typing import Any

from athanor.settings import Settings, current_settings


def show(ref: int | str, *, settings: Settings | None = None) -> dict[str, Any]:
    """The report of search ``ref`` (its number or name): leaderboard, importance, best.

    Raises:
        NotFound: no search with that number or name.
    """
    from athanor.tuning.report import search_report
    from athanor.tuning.study import load_search_study

    return search_report(load_search_study(ref, settings or current_settings()))


def resume(ref: int | str, **options: Any) -> Any:
    """Continue a stored search; see :func:`athanor.tuning.search.resume_search`."""
    from athanor.tuning.search import resume_search

    return resume_search(ref, **options)
