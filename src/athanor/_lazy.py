"""Package attributes that import their module on first use (PEP 562).

A package re-exports names from its modules without importing them up front, so that a
command which needs none of the heavy ones (PyTorch, scikit-learn) does not pay for them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, targets: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        targets: public name -> ``"module:attribute"`` (an empty attribute: the module
            itself). A name is imported on first access and then kept in the package.
    """

    def __getattr__(name: str) -> Any:
        target = targets.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        value = getattr(module, attribute) if attribute else module
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*targets, *vars(sys.modules[package])})

    return __getattr__, __dir__
