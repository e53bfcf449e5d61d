"""The owner's API token: ``$ATHANOR_HOME/token``, readable by the owner alone.

``athanor up`` makes sure it exists and is valid; the CLI and the Python client send it, so a
platform on this machine needs no token typed anywhere, yet another Unix user, another
program without access to the home, or a web page cannot call it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from athanor.errors import Conflict, NotFound
from athanor.settings import Settings
from athanor.store.tokens import TokenRepository

TOKEN_FILE = "token"
OWNER_TOKEN_NAME = "owner"


def token_file(settings: Settings) -> Path:
    """Where the owner's token lies for the home of ``settings``."""
    return settings.home / TOKEN_FILE


def read_owner_token(settings: Settings) -> str | None:
    """The owner's token from the home, or ``None`` (no file, unreadable, empty)."""
    try:
        secret = token_file(settings).read_text().strip()
    except OSError:
        return None
    return secret or None


def ensure_owner_token(settings: Settings, tokens: TokenRepository) -> str:
    """The owner's valid token: the one in the home's file if the store still accepts it,
    else a new one (``owner``, ``owner-2``, ...) for the built-in admin user ``owner``,
    written to the file with mode 0600.

    Returns:
        The token's secret.
    """
    current = read_owner_token(settings)
    if current is not None and tokens.verify(current) is not None:
        _restrict(token_file(settings))
        return current
    taken = {record.name for record in tokens.list()}
    name = OWNER_TOKEN_NAME
    suffix = 1
    while name in taken:
        suffix += 1
        name = f"{OWNER_TOKEN_NAME}-{suffix}"
    for _attempt in range(5):
        try:
            _record, secret = tokens.create(name, user=OWNER_TOKEN_NAME)
            break
        except NotFound:
            raise NotFound(
                "the built-in admin user 'owner', for whom the platform keeps the owner's "
                f"token in {token_file(settings)}, was removed; add it back with "
                "'athanor users add owner --role admin'"
            ) from None
        except Conflict:  # another process took the name at the same moment
            suffix += 1
            name = f"{OWNER_TOKEN_NAME}-{suffix}"
    else:  # pragma: no cover - five clashes in a row
        raise Conflict("could not create the owner's token; try again")
    _write_private(token_file(settings), secret + "\n")
    return secret


def is_owner_token(name: str) -> bool:
    """Whether a token's name is one of the owner's (``owner``, ``owner-N``)."""
    return name == OWNER_TOKEN_NAME or (
        name.startswith(OWNER_TOKEN_NAME + "-") and name[len(OWNER_TOKEN_NAME) + 1 :].isdigit()
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte, in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _restrict(path: Path) -> None:
    """Keep the token file the owner's alone (a copy may have widened its mode)."""
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
