"""Druid answers read as CSV frames (`DruidClient.sql_frame`) hold what the JSON
answer holds: texts with commas and quotes, nulls, numbers; an empty answer is an
empty frame of the asked types."""

from __future__ import annotations

import polars as pl
import pytest

from core.stores.druid_http import DruidClient

pytestmark = pytest.mark.druid

AWKWARD = 'Kamau, "Mama Mboga" & Sons'
QUERY = (
    'SELECT "server", "plaintext_port", ? AS "name", CAST(NULL AS VARCHAR) AS "none", '
    '"plaintext_port" * 1.5 AS "ratio" FROM sys.servers ORDER BY 1, 2'
)
SCHEMA: dict[str, pl.DataType] = {
    "server": pl.String(),
    "port": pl.Int64(),
    "name": pl.String(),
    "none": pl.String(),
    "ratio": pl.Float64(),
}


def test_a_csv_frame_holds_the_json_answers_rows(druid_url: str) -> None:
    client = DruidClient(druid_url)
    parameters = [{"type": "VARCHAR", "value": AWKWARD}]
    frame = client.sql_frame(QUERY, SCHEMA, parameters)
    _, rows = client.sql(QUERY, parameters)
    assert frame.schema == pl.Schema(SCHEMA)
    assert len(frame) == len(rows) > 0
    assert frame.rows() == [tuple(row) for row in rows]
    assert frame["name"].unique().to_list() == [AWKWARD]


def test_an_empty_answer_is_an_empty_frame_of_the_asked_types(druid_url: str) -> None:
    frame = DruidClient(druid_url).sql_frame(
        QUERY.replace("ORDER BY", "WHERE 1 = 0 ORDER BY"),
        SCHEMA,
        [{"type": "VARCHAR", "value": AWKWARD}],
    )
    assert frame.is_empty() and frame.schema == pl.Schema(SCHEMA)
