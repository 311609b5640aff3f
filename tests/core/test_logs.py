"""Structured logs: JSON lines, context fields, store and ingest events, no secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.logs import (
    PROJECT_LOGGERS,
    REDACTED,
    configure_logging,
    current_request_id,
    new_request_id,
    request_context,
)
from core.settings import load_settings
from core.store import Scope
from core.stores import open_store
from ingest.pipeline import IngestError, ingest_file
from tests.ingest.test_ingest import MESSY


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    # Everything each logger had, handlers too: an app configured earlier in this process
    # (once per process, `app.py`) must keep writing where it did.
    saved = {
        n: (
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
            logging.getLogger(n).handlers[:],
        )
        for n in PROJECT_LOGGERS
    }
    configure_logging("DEBUG", stream=buffer)
    yield buffer
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_every_line_is_json_with_the_fixed_fields(captured: io.StringIO) -> None:
    request_id = new_request_id(page="overview", user="wanjiku")
    assert current_request_id() == request_id and len(request_id) == 12
    logging.getLogger("core.kpi").info("computed %s rows", 3, extra={"area": "overview"})
    (entry,) = lines(captured)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "core.kpi"
    assert entry["message"] == "computed 3 rows"
    assert (entry["request_id"], entry["user"], entry["page"]) == (
        request_id,
        "wanjiku",
        "overview",
    )
    assert entry["area"] == "overview"
    assert entry["time"].endswith("+00:00")


def test_request_context_restores_the_previous_one(captured: io.StringIO) -> None:
    outer = new_request_id(page="branches")
    with request_context(page="health") as inner:
        assert current_request_id() == inner != outer
    assert current_request_id() == outer


def test_level_filters(captured: io.StringIO) -> None:
    configure_logging("WARNING", stream=captured)
    logging.getLogger("ingest").info("quiet")
    logging.getLogger("ingest").warning("loud")
    assert [e["message"] for e in lines(captured)] == ["loud"]
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("CHATTY")


def test_secrets_are_redacted(captured: io.StringIO) -> None:
    log = logging.getLogger("app")
    log.info(
        "login attempt password=hunter2 token: abc123 via https://admin:s3cr3t@druid:8888/x",
        extra={
            "cookie_key": "k" * 40,
            "settings": {"SALES_COOKIE_KEY": "x" * 40, "DRUID_URL": "u"},
            "user_password": "pw",
            "note": "api_key=XYZ",
        },
    )
    try:
        raise RuntimeError("connect failed: secret=topsecret")
    except RuntimeError:
        log.exception("boom")
    text = captured.getvalue()
    for secret in ("hunter2", "abc123", "s3cr3t", "k" * 40, "x" * 40, '"pw"', "XYZ", "topsecret"):
        assert secret not in text, secret
    first, second = lines(captured)
    assert first["cookie_key"] == REDACTED
    assert first["settings"] == {"SALES_COOKIE_KEY": REDACTED, "DRUID_URL": "u"}
    assert "password=" + REDACTED in first["message"]
    assert second["error"].startswith("RuntimeError: connect failed: secret=")
    assert "Traceback" in second["traceback"]


def test_store_queries_and_ingest_outcome_are_logged(captured: io.StringIO, tmp_path: Path) -> None:
    settings = load_settings({"SALES_DATA_DIR": str(tmp_path)})
    store = open_store(settings)
    new_request_id(page="upload", user="admin")
    path = tmp_path / "export.csv"
    path.write_text(MESSY)
    assert ingest_file(path, store).ok
    assert store.count_lines(Scope(), None) == 3
    store.aggregate(Scope(), None, by=("branch",), measures=("net_sales",))
    events = lines(captured)
    queries = [e for e in events if e["logger"] == "core.store"]
    write = next(e for e in queries if e["operation"] == "write")
    assert (write["store"], write["rows"], write["mode"]) == ("embedded", 3, "append")
    count = next(e for e in queries if e["operation"] == "count_lines")
    assert count["rows"] == 1 and count["duration_ms"] >= 0
    aggregate = next(e for e in queries if e["operation"] == "aggregate")
    assert aggregate["rows"] == 2 and aggregate["by"] == ["branch"]
    (outcome,) = [e for e in events if e.get("event") == "ingest"]
    assert outcome["outcome"] == "loaded"
    assert (outcome["rows"], outcome["inserted"], outcome["file"]) == (3, 3, "export.csv")
    assert {e["request_id"] for e in events} == {current_request_id()}
    assert {e["user"] for e in events} == {"admin"}


def test_rejected_and_unreadable_ingests_are_logged(captured: io.StringIO, tmp_path: Path) -> None:
    store = open_store(load_settings({"SALES_DATA_DIR": str(tmp_path)}))
    bad = tmp_path / "bad.csv"
    bad.write_text(MESSY.replace(",2,", ",two,", 1))
    assert not ingest_file(bad, store).ok
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError):
        ingest_file(empty, store)
    outcomes = [e for e in lines(captured) if e.get("event") == "ingest"]
    assert [(e["outcome"], e["level"]) for e in outcomes] == [
        ("rejected", "INFO"),
        ("unreadable", "WARNING"),
    ]
    assert outcomes[0]["rejected_rows"] == 1
    assert "empty" in outcomes[1]["error"]


def test_failed_query_is_logged_and_raised(captured: io.StringIO, tmp_path: Path) -> None:
    store = open_store(load_settings({"SALES_DATA_DIR": str(tmp_path)}))
    with pytest.raises(ValueError):
        store.aggregate(Scope(), None, measures=("no_such_measure",))
    (entry,) = [e for e in lines(captured) if e["logger"] == "core.store"]
    assert entry["level"] == "WARNING" and entry["operation"] == "aggregate"
    assert "no_such_measure" in entry["error"]


def test_cli_writes_json_logs_to_stderr(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "good.csv"
    path.write_text(MESSY)
    result = run_cli(["ingest", str(path), "--quiet"], tmp_path)
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    outcome = next(e for e in events if e.get("event") == "ingest")
    assert outcome["outcome"] == "loaded" and outcome["page"] == "cli:ingest"
    assert outcome["request_id"]
