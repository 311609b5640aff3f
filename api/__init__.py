"""The HTTP API, served under /api by the same server as the pages (server.py).

    GET /api/health          the app and its store (no sign-in)
    GET /api/health/druid    Druid's SQL and each of its services (no sign-in)
    GET /api/kpis/{area}     an export area's table, for a bearer token's user
    GET /api/openapi.json    the OpenAPI document of these routes

Under Streamlit's base URL path (`server.baseUrlPath`, behind a proxy) the
API is there too: /sales/api/health.

`api/` imports `core/` and Starlette, never Streamlit, `ui/` or `views/`:
its answers are the command line's (`python -m core export`), not the pages'.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from api import endpoints
from api.envelope import ApiError, endpoint
from api.openapi import document

PREFIX = "/api"
# Every method: a POST to an API path gets an envelope too, not Streamlit's plain 405.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@endpoint
async def openapi(request: Request) -> Response:
    """The document itself, not an envelope: OpenAPI tools read it at the top level.
    ---
    summary: This API's OpenAPI document, generated from its routes.
    tags: [meta]
    security: []
    responses:
      200:
        description: The OpenAPI 3 document (JSON, not in the envelope).
        content:
          application/json:
            schema: {type: object}
    """
    served = document(ROUTES)
    base = str(request.scope.get("root_path", "")).removesuffix(PREFIX)
    if base:  # served under Streamlit's base URL path, as behind a proxy
        served["servers"] = [{"url": base}]
    return JSONResponse(served)


@endpoint
async def not_found(request: Request) -> Response:
    """Any other path under /api: an envelope, not the app's HTML (Streamlit's answer)."""
    others = [r for r in API_ROUTES if r.matches(request.scope)[0] == Match.PARTIAL]
    if others:
        raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed here: use GET")
    raise ApiError(
        404, "not_found", f"no endpoint {request.url.path[:100]!r}: see {PREFIX}/openapi.json"
    )


API_ROUTES: list[Route] = [
    Route("/health", endpoint(endpoints.health), methods=["GET"]),
    Route("/health/druid", endpoint(endpoints.druid_health), methods=["GET"]),
    Route("/kpis/{area}", endpoint(endpoints.kpis), methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]


def routes(base_path: str = "") -> list[BaseRoute]:
    """The API under `base_path` (Streamlit's `server.baseUrlPath`, "" at the root)."""
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    catch_all = Route("/{rest:path}", not_found, methods=METHODS, include_in_schema=False)
    return [Mount(base + PREFIX, routes=[*API_ROUTES, catch_all])]


# The routes as the OpenAPI document describes them; under a base path the served
# document names it as its server.
ROUTES = routes()
