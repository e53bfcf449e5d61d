"""The platform fixtures of the API tests serve the console's browser tests too."""

from tests.server.conftest import platform_factory

__all__ = ["platform_factory"]
