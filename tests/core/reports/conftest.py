"""A real SMTP server on localhost (aiosmtpd), a small real store, and report settings."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.settings import Settings, load_settings
from core.stores.embedded import EmbeddedStore
from tests.conftest import own_data_dir

# Enough lines for every branch to sell on most days of October 2026, built in a second.
LINES = 20_000
SMTP_USER, SMTP_PASSWORD = "reporter", "mail-secret-42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """What the SMTP server received, parsed; `wait` blocks until `count` have come."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        with self._arrived:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 OK"

    def wait(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


def start_smtp(port: int, inbox: Inbox, auth: bool = False) -> Controller:
    options: dict[str, object] = {}
    if auth:

        def refuse_unless_known(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
            ok = auth_data.login == SMTP_USER.encode() and auth_data.password == b"right"
            return AuthResult(success=ok, handled=False)

        options = {
            "auth_required": True,
            "auth_require_tls": False,
            "authenticator": refuse_unless_known,
        }
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller


@pytest.fixture()
def smtp() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free loopback port; stopped after the test."""
    inbox, port = Inbox(), free_port()
    controller = start_smtp(port, inbox)
    yield port, inbox
    controller.stop()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with its own small store and the test users (admin, mombasa...)."""
    return own_data_dir(tmp_path_factory, "reports", LINES, seed=5)


@pytest.fixture(scope="module")
def store(store_dir: Path) -> EmbeddedStore:
    return EmbeddedStore(store_dir / "sales")


def report_settings(store_dir: Path, book_dir: Path, smtp_url: str = "", **extra: str) -> Settings:
    """Settings over the shared store and users, with a reports book of the test's own."""
    return load_settings(
        {
            "SALES_DATA_DIR": str(book_dir),
            "SALES_AUTH_FILE": str(store_dir / "users.yaml"),
            "SALES_SMTP_URL": smtp_url,
            "SALES_PUBLIC_URL": "https://sales.example.co.ke",
            "SALES_MAIL_FROM": "reports@example.co.ke",
            **extra,
        }
    )
