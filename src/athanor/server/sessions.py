"""The console's sign-in: one-time login links that become session cookies.

``athanor up`` prints a console URL with a one-time login token (as Jupyter does); opening it
sets an HttpOnly, SameSite=Strict session cookie and forgets the token, so a link that leaked
into a browser history or a shared screen cannot be used again. ``athanor console`` asks the
running platform for a new link. Sessions live in the platform's memory: a restarted platform
asks for a new link.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE_NAME = "athanor_session"
LOGIN_PATH = "/login"
LINK_LIFETIME_S = 24 * 3600.0
"""A login link not used within a day expires."""
SESSION_LIFETIME_S = 30 * 24 * 3600.0
"""A console session lasts 30 days (the cookie's Max-Age)."""


@dataclass
class ConsoleSessions:
    """One-time login tokens and the sessions they opened, in memory, thread-safe."""

    link_lifetime_s: float = LINK_LIFETIME_S
    session_lifetime_s: float = SESSION_LIFETIME_S
    _links: dict[str, tuple[float, str]] = field(default_factory=dict)
    _sessions: dict[str, tuple[float, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_login_token(self, principal: str = "owner") -> str:
        """A fresh one-time login token for the user ``principal``, valid for
        ``link_lifetime_s``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._links[token] = (time.monotonic() + self.link_lifetime_s, principal)
        return token

    def open_session(self, login_token: str) -> str | None:
        """Spend ``login_token``: a new session id for the link's user, or ``None`` when the
        token is unknown, used or expired."""
        now = time.monotonic()
        with self._lock:
            link = self._links.pop(login_token, None)
            if link is None or link[0] < now:
                return None
            principal = link[1]
            session = secrets.token_urlsafe(32)
            self._sessions[session] = (now + self.session_lifetime_s, principal)
            return session

    def principal_of(self, session: str) -> str | None:
        """Who a live session belongs to, or ``None``."""
        with self._lock:
            entry = self._sessions.get(session)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._sessions[session]
                return None
            return entry[1]

    def close(self, session: str) -> None:
        """End a session (signing out)."""
        with self._lock:
            self._sessions.pop(session, None)
