"""Plain HTTP calls to a running server's API, from a chosen loopback address."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str,
    path: str,
    params: dict[str, Any] | list[tuple[str, str]] | None = None,
    *,
    token: str | None = None,
    source: str = "127.0.0.1",
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One HTTP request from loopback address `source` (the throttle counts per address)."""
    target = urlparse(url)
    query = urlencode(params or {}, doseq=True)
    connection = http.client.HTTPConnection(
        target.hostname or "127.0.0.1", target.port, timeout=120, source_address=(source, 0)
    )
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, f"{path}?{query}" if query else path, headers=sent)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()
