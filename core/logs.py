"""One logging setup for the app, core and ingest: JSON lines, secrets redacted.

`configure_logging(level)` installs a single handler writing one JSON object
per line (to standard error by default) on the project's loggers. Each line
carries `time`, `level`, `logger`, `message`, the `request_id`, `user` and
`page` of the current page run (context variables, so concurrent sessions in
Streamlit's threads do not mix), and every `extra=` field of the call.

Nothing secret reaches the output: a filter replaces the value of any field
whose name looks secret (password, cookie, token, secret, ...) and masks
`password=...`-style pairs and URL credentials inside messages.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any, TextIO

# The top-level packages whose loggers write JSON lines; third-party loggers
# (Streamlit, Tornado, deltalake) keep their own setup.
PROJECT_LOGGERS: tuple[str, ...] = ("app", "api", "core", "ingest", "views", "ui")
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDACTED = "[redacted]"
# Field names whose values are never written, whatever they hold.
SECRET_FIELD = re.compile(
    r"pass(word|wd)?|pwd|secret|token|cookie|authori[sz]ation|credential|"
    r"api[_-]?key|private[_-]?key|signing[_-]?key|session[_-]?key|signature",
    re.IGNORECASE,
)
# `password=hunter2`, `token: abc`, `"secret": "x"` inside free text.
SECRET_PAIR = re.compile(
    r"""(?P<key>\b[\w-]*(?:pass(?:word|wd)?|secret|token|cookie|api[_-]?key|authorization)"""
    r"""[\w-]*["']?\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&'"}]+)""",
    re.IGNORECASE,
)
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")

_request_id: ContextVar[str | None] = ContextVar("sales_request_id", default=None)
_user: ContextVar[str | None] = ContextVar("sales_user", default=None)
_page: ContextVar[str | None] = ContextVar("sales_page", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "user",
    "page",
    "taskName",
}


def new_request_id(page: str | None = None, user: str | None = None) -> str:
    """Start a page run (or CLI command): a fresh request id, and who and where.

    Returns the id, short enough to read out to support (12 hex digits).
    """
    request_id = uuid.uuid4().hex[:12]
    _request_id.set(request_id)
    _page.set(page)
    _user.set(user)
    return request_id


def current_request_id() -> str | None:
    """The id set by the last `new_request_id` in this context, if any."""
    return _request_id.get()


def bind(*, page: str | None = None, user: str | None = None) -> None:
    """Name the page or user of the current run once they are known."""
    if page is not None:
        _page.set(page)
    if user is not None:
        _user.set(user)


@contextmanager
def request_context(page: str | None = None, user: str | None = None) -> Iterator[str]:
    """A request id for the duration of a block; the previous context comes back after."""
    tokens = (_request_id.set(uuid.uuid4().hex[:12]), _page.set(page), _user.set(user))
    try:
        yield _request_id.get() or ""
    finally:
        _user.reset(tokens[2])
        _page.reset(tokens[1])
        _request_id.reset(tokens[0])


def redact_text(text: str) -> str:
    """`text` with secret-looking `key=value` pairs and URL credentials masked."""
    text = URL_CREDENTIALS.sub(f"{REDACTED}@", text)
    return SECRET_PAIR.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


def redact_value(name: str, value: Any) -> Any:
    """`value` as it may be logged under the field `name`."""
    if SECRET_FIELD.search(name):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value("", v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class ContextFilter(logging.Filter):
    """Adds the page run's request id, user and page to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.user = _user.get()
        record.page = _page.get()
        return True


class RedactFilter(logging.Filter):
    """Masks secrets in the message, its arguments and every extra field."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        for name in list(vars(record)):
            if name not in _STANDARD:
                setattr(record, name, redact_value(name, getattr(record, name)))
        return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the fixed fields, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user": getattr(record, "user", None),
            "page": getattr(record, "page", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = _jsonable(value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = redact_text(f"{type(error).__name__}: {error}")
            entry["traceback"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The project's handler; a marker so `configure_logging` can replace it."""


class _StderrHandler(_Handler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def parse_level(level: str | int | None) -> int:
    """A level name (any case) or number as a `logging` level; INFO when None."""
    if level is None:
        return logging.INFO
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: expected one of {', '.join(LEVELS)}")
    return int(logging.getLevelName(name))


def configure_logging(level: str | int | None = None, stream: TextIO | None = None) -> None:
    """Send the project's logs to `stream` (default: standard error) as JSON lines.

    Calling it again replaces the previous setup (level and stream), so the
    app can call it on every run and tests can point it at a buffer.
    """
    handler = _Handler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    numeric = parse_level(level)
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(numeric)
        # Records stop here: the root logger (Streamlit's, pytest's) does not print them again.
        logger.propagate = False
