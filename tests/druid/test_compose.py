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
DRUID_SERVICES = ("coordinator", "broker", "historical", "middlemanager", "router")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_valid_against_the_compose_specification(compose: dict) -> None:
    schema = json.loads((HERE / "compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


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
