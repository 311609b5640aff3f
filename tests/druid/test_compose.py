"""docker-compose.yml is a valid Compose file and runs the stack the README promises.

No Docker engine runs here, so the file is checked against the Compose
Specification's JSON schema (vendored beside this test, see
compose-spec.json.source) and for the properties that matter: one Druid
version for every Druid service and for the local Druid, and the shared
staging path between the app and the task runner.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_DEV = ROOT / "docker-compose.dev.yml"
DRUID_SERVICES = ("coordinator", "broker", "historical", "middlemanager", "router")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _assert_valid(document: dict) -> None:
    schema = json.loads((HERE / "compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_valid_against_the_compose_specification(compose: dict) -> None:
    _assert_valid(compose)


def _merged(base: dict, override: dict) -> dict:
    """`override` on top of `base` as `docker compose -f base -f override` merges mappings
    (sequences are merged by Compose per key; here the override's replace, which is
    stricter: the override must be complete where it speaks)."""
    merged = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both else value
    return merged


def test_the_development_file_is_valid_alone_and_on_top_of_production(compose: dict) -> None:
    dev = yaml.safe_load(COMPOSE_DEV.read_text())
    _assert_valid(dev)
    _assert_valid(_merged(compose, dev))
    app = _merged(compose, dev)["services"]["app"]
    assert ".:/app:ro" in app["volumes"], "the source is mounted over the image's copy"
    assert "app-data:/app/data" in app["volumes"], "the data volume stays"
    command = app["command"]
    assert command[:3] == ["streamlit", "run", "server.py"]
    assert "--server.runOnSave=true" in command
    assert any(
        c.startswith("--server.fileWatcherType=") and not c.endswith("none") for c in command
    )
    assert app["environment"]["SALES_ENV"] == "development"


def test_the_app_health_check_asks_the_api(compose: dict) -> None:
    """The store's health (Druid included), not Streamlit's own, which is green without Druid."""
    check = " ".join(compose["services"]["app"]["healthcheck"]["test"])
    assert "/api/health" in check and "/_stcore/health" not in check


def test_the_schema_catches_a_broken_file(compose: dict) -> None:
    broken = {
        **compose,
        "services": {**compose["services"], "app": {**compose["services"]["app"], "ports": 8501}},
    }
    assert list(
        jsonschema.Draft202012Validator(
            json.loads((HERE / "compose-spec.json").read_text())
        ).iter_errors(broken)
    )


def test_one_druid_version_everywhere(compose: dict) -> None:
    images = {compose["services"][name]["image"] for name in DRUID_SERVICES}
    assert len(images) == 1
    (image,) = images
    assert re.fullmatch(r"apache/druid:\d+\.\d+\.\d+", image)
    local = subprocess.run(
        [str(ROOT / "scripts" / "druid" / "druid-local"), "version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert image == f"apache/druid:{local.stdout.strip()}"


def test_stack_has_every_part(compose: dict) -> None:
    services = compose["services"]
    assert {"zookeeper", "postgres", *DRUID_SERVICES, "app", "ingest"} <= set(services)
    for name in DRUID_SERVICES:
        env = services[name]["environment"]
        assert "postgresql-metadata-storage" in env["druid_extensions_loadList"]
        assert env["druid_metadata_storage_type"] == "postgresql"
        assert env["druid_generic_useDefaultValueForNull"] == "false"
        assert "healthcheck" in services[name]
    assert any(v.startswith("shared:") for v in services["historical"]["volumes"])
    assert services["ingest"]["profiles"] == ["ingest"]  # one-shot, not part of `up`
    # The report scheduler shares the app's settings and data volume, and is up with it.
    reports = services["reports"]
    assert reports["entrypoint"] + reports["command"] == ["python", "-m", "core.reports", "serve"]
    assert reports["environment"] == services["app"]["environment"]
    assert "app-data:/app/data" in reports["volumes"] and "profiles" not in reports
    assert "reports.heartbeat" in " ".join(reports["healthcheck"]["test"])
    assert services["app"]["environment"]["SALES_BACKEND"] == "druid"
    # The task runner reads the files the app stages under SALES_DATA_DIR, by the same path.
    data_dir = services["app"]["environment"]["SALES_DATA_DIR"]
    assert f"app-data:{data_dir}:ro" in services["middlemanager"]["volumes"]


def test_dockerfile_is_slim_non_root_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env", "data/"} <= set(ignored)


def test_env_example_names_every_required_variable(compose: dict) -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))
    example = (ROOT / ".env.example").read_text()
    assert required and all(re.search(rf"^{name}=", example, re.MULTILINE) for name in required)
