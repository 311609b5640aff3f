"""The OpenAPI document, generated from the routes by Starlette's `SchemaGenerator`.

Each endpoint's operation is the YAML in its docstring; the parameters and
schemas those refer to are built here from the definitions they describe
(the export areas, grains, comparisons and periods of `core`), so the
document cannot drift from what the endpoints accept.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from core.exports import AREAS
from core.filters import COMPARES, MAX_MEMBERS
from core.presets import ALL_DATA_PERIOD, PERIODS
from core.store import GRAINS

TITLE = "Sales analytics API"
VERSION = "1"


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _members(name: str, what: str) -> dict[str, Any]:
    return {
        **_query(
            name,
            f"{what}; repeat for several (at most {MAX_MEMBERS}). Matched as in a link: "
            "exactly, or the one member that differs only in case.",
            {"type": "array", "items": {"type": "string"}, "maxItems": MAX_MEMBERS},
        ),
        "style": "form",
        "explode": True,
    }


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "error", "metadata"],
        "properties": {
            "data": data,
            "error": {"oneOf": [{"$ref": "#/components/schemas/Error"}], "nullable": True},
            "metadata": {"$ref": "#/components/schemas/Metadata"},
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _envelope({"nullable": True})}},
    }


COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `python -m core.users token NAME`.",
        }
    },
    "parameters": {
        "area": {
            "name": "area",
            "in": "path",
            "required": True,
            "description": "The export area.",
            "schema": {"type": "string", "enum": list(AREAS)},
        },
        "start": _query(
            "start",
            "First day, YYYY-MM-DD (default: the data's first).",
            {"type": "string", "format": "date"},
        ),
        "end": _query(
            "end",
            "Last day, YYYY-MM-DD (default: the data's last).",
            {"type": "string", "format": "date"},
        ),
        "period": _query(
            "period",
            "A named range (today in SALES_TIMEZONE) instead of start and end; all: every day.",
            {"type": "string", "enum": [*PERIODS, ALL_DATA_PERIOD]},
        ),
        "grain": _query(
            "grain", "Trend bucket.", {"type": "string", "enum": list(GRAINS), "default": "month"}
        ),
        "compare": _query(
            "compare",
            "Comparison window.",
            {"type": "string", "enum": list(COMPARES), "default": "previous"},
        ),
        "branch": _members("branch", "A branch"),
        "line": _members("line", "A product line"),
        "rep": _members("rep", "A salesperson"),
        "product": _members("product", "A product id"),
        "format": _query(
            "format",
            "json: rows in the envelope; csv: the CSV export.",
            {"type": "string", "enum": ["json", "csv"], "default": "json"},
        ),
    },
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
        "Metadata": {
            "type": "object",
            "required": ["requestId"],
            "properties": {
                "requestId": {"type": "string", "description": "The request's id in the logs."}
            },
        },
        "TableEnvelope": _envelope(
            {
                "type": "array",
                "nullable": True,
                "description": "One object per row, keyed by the export's snake_case columns.",
                "items": {"type": "object"},
            }
        ),
        "HealthEnvelope": _envelope(
            {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "unhealthy"]},
                    "backend": {"type": "string", "enum": ["embedded", "druid"]},
                },
            }
        ),
        "DruidHealthEnvelope": _envelope(
            {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "unhealthy"]},
                    "round_trip_ms": {"type": "number", "nullable": True},
                    "services": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "service": {"type": "string"},
                                "server": {"type": "string"},
                                "healthy": {"type": "boolean"},
                            },
                        },
                    },
                },
            }
        ),
    },
    "responses": {
        "BadParameter": _error("A parameter is malformed or names nothing this user can see."),
        "Unauthorized": _error("No token, or a malformed, unknown, revoked or expired one."),
        "UnknownArea": _error("The area is not an export area."),
        "TooManyFailures": _error(
            "Too many bad tokens from this address: wait Retry-After seconds."
        ),
        "StoreUnavailable": _error("The store (Druid) cannot answer now."),
    },
}

GENERATOR = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "KPIs of the sales dashboard for other systems, and health for "
            'monitors. Every JSON answer is {"data", "error", "metadata": {"requestId"}}.',
        },
        "components": COMPONENTS,
    }
)


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of `routes`: every route with an operation docstring."""
    return GENERATOR.get_schema(routes)
