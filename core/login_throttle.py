"""Slows down and then locks out password guessing, per username, in the app process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 5  # within FAILURE_WINDOW_SECONDS, then locked
FAILURE_WINDOW_SECONDS = 15 * 60
LOCKOUT_SECONDS = 5 * 60
DELAY_STEP_SECONDS = 0.5  # each failure waits a little longer, up to MAX_DELAY_SECONDS
MAX_DELAY_SECONDS = 3.0


@dataclass
class LoginThrottle:
    """Failed attempts per username; thread-safe (Streamlit runs sessions in threads)."""

    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, username: str) -> float:
        """Seconds until `username` may try again (0: not locked)."""
        with self._lock:
            return max(0.0, self._locked_until.get(username, 0.0) - self.clock())

    def failed(self, username: str) -> float:
        """Record a failure; returns how long to wait before answering."""
        now = self.clock()
        with self._lock:
            recent = [
                t for t in self._failures.get(username, []) if now - t < FAILURE_WINDOW_SECONDS
            ]
            recent.append(now)
            self._failures[username] = recent
            if len(recent) >= MAX_FAILURES:
                self._locked_until[username] = now + LOCKOUT_SECONDS
                self._failures[username] = []
            return min(MAX_DELAY_SECONDS, DELAY_STEP_SECONDS * len(recent))

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)
            self._locked_until.pop(username, None)
