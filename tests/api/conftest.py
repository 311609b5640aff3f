"""A real server (server.py) over the sample store, and a token for each test user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core import tokens
from core.users import UserFile
from tests.conftest import ADMIN, MOMBASA_VIEWER, VIEWER, serve_app


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    data_dir: Path

    def log_lines(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture(scope="session")
def api_server(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """server.py over the sample store, its JSON logs in a file."""
    log = tmp_path_factory.mktemp("api") / "server.log"
    for url in serve_app(sample_data_dir, tmp_path_factory, log=log):
        yield Server(url, log, sample_data_dir)


@pytest.fixture(scope="session")
def token_of(sample_data_dir: Path) -> dict[str, str]:
    """A token for each test user: admin, viewer and the Mombasa-only viewer."""
    users = UserFile(sample_data_dir / "users.yaml")
    return {name: tokens.issue(users, name)[0] for name, _ in (ADMIN, VIEWER, MOMBASA_VIEWER)}
