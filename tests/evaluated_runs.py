"""Three tiny tested runs in one store of their own, trained once per test session and
shared by the tests of evaluations (runs, CLI, console): an image classifier (digits,
registered as ``digits-mlp``), a binary table classifier (breast cancer) and a regression
(Boston housing, standardized target)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from athanor.settings import Settings
from tests.conftest import MIRROR

DIGITS = {
    "name": "digits-mlp",
    "seed": 3,
    "data": {"dataset": "digits", "split": {"val": 0.1, "test": 0.2}},
    "model": {"template": "mlp", "hidden": [16]},
    "train": {"epochs": 2, "batch_size": 64},
}
BINARY = {
    "name": "cancer-mlp",
    "seed": 3,
    "data": {"dataset": "breast-cancer", "split": {"val": 0.1, "test": 0.25}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {"epochs": 2, "batch_size": 32},
}
REGRESSION = {
    "name": "boston-mlp",
    "seed": 3,
    "data": {"dataset": "boston-housing", "scale_target": "standard"},
    "model": {"template": "mlp", "hidden": [16]},
    "train": {"epochs": 2, "batch_size": 32},
}


@dataclass(frozen=True)
class EvaluatedRuns:
    settings: Settings
    digits: object
    binary: object
    regression: object

    @property
    def home(self) -> Path:
        return self.settings.home


@functools.cache
def evaluated_runs() -> EvaluatedRuns:
    """The three runs (see the module's docstring), trained on first use."""
    import athanor as at

    home = Path(tempfile.mkdtemp(prefix="evaluated-runs-")) / "home"
    atexit.register(shutil.rmtree, home.parent, True)
    mirrors = (MIRROR,) if MIRROR is not None else ()
    settings = Settings(
        home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=mirrors, offline=True
    )
    digits = at.train(DIGITS, register_as="digits-mlp", progress=False, settings=settings)
    binary = at.train(BINARY, progress=False, settings=settings)
    regression = at.train(REGRESSION, progress=False, settings=settings)
    return EvaluatedRuns(settings, digits, binary, regression)
