"""The one answer shape of every API response, errors included, and the request id.

    {"data": ..., "error": {"code": ..., "message": ...} | null,
     "metadata": {"requestId": ...}}

The request id is the one the JSON logs carry for the request (`core.logs`),
also sent as the `X-Request-Id` header, which is how a CSV answer (not an
envelope: its bytes are the export's) tells it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.logs import current_request_id, request_context

log = logging.getLogger("api")
REQUEST_ID_HEADER = "X-Request-Id"

Endpoint = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """An answer other than success: HTTP `status`, a stable `code` and a one-line message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def envelope(
    data: Any = None,
    *,
    status: int = 200,
    error: ApiError | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """`data` (or `error`) in the envelope, with the current request id."""
    request_id = current_request_id()
    body = {
        "data": data,
        "error": {"code": error.code, "message": error.message} if error else None,
        "metadata": {"requestId": request_id},
    }
    return JSONResponse(
        body,
        status_code=error.status if error else status,
        headers={**(headers or {}), **(error.headers if error else {}), **_id_header()},
    )


def _id_header() -> dict[str, str]:
    request_id = current_request_id()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def endpoint(handler: Endpoint) -> Endpoint:
    """Run `handler` under a fresh request id; an `ApiError` or a bug becomes an envelope.

    Each request logs one line (method, path, status, duration) under its id.
    """

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        with request_context(page=f"api {request.url.path}"):
            started = time.perf_counter()
            try:
                response = await handler(request)
            except ApiError as error:
                response = envelope(error=error)
            except Exception:  # a bug: the caller gets the id to quote, the log the traceback
                log.exception("API request failed")
                response = envelope(
                    error=ApiError(
                        500, "internal", f"internal error; quote request id {current_request_id()}"
                    )
                )
            response.headers.update(_id_header())
            log.info(
                "API request",
                extra={
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response

    return run
