"""What SECURITY.md claims about the repository and the Streamlit configuration."""

from __future__ import annotations

import re
import subprocess
import tomllib

from ingest.pipeline import MAX_FILE_MB
from tests.conftest import ROOT

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
# Shapes of real credentials: private keys, cloud and chat tokens, assigned literals.
SECRET_SHAPES = re.compile(
    r"BEGIN (RSA |OPENSSH |EC |DSA )?PRIVATE KEY|AKIA[0-9A-Z]{16}|ghp_[0-9A-Za-z]{30,}"
    r"|xox[abp]-[0-9A-Za-z-]{10,}"
    r"|(?i:(password|secret|token|cookie_key)\s*[=:]\s*['\"][\w+/=.-]{12,}['\"])"
)


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_xsrf_protection_is_on() -> None:
    assert CONFIG["server"]["enableXsrfProtection"] is True


def test_upload_limit_matches_ingest_limit() -> None:
    # The upload page and the CLI must refuse the same files.
    assert CONFIG["server"]["maxUploadSize"] == MAX_FILE_MB


def test_users_see_no_stack_traces() -> None:
    assert CONFIG["client"]["showErrorDetails"] == "none"


def test_no_secret_files_are_tracked() -> None:
    tracked = _tracked()
    assert ".streamlit/secrets.toml" not in tracked
    assert ".env" not in tracked
    assert not [p for p in tracked if p.endswith((".pem", ".key", "users.yaml"))]
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and ".streamlit/secrets.toml" in ignored


def test_no_secret_literals_in_tracked_files() -> None:
    found = []
    for path in _tracked():
        file = ROOT / path
        if not file.is_file() or file.stat().st_size > 2_000_000:
            continue
        text = file.read_text(errors="ignore")
        found += [f"{path}: {m.group(0)[:30]}" for m in SECRET_SHAPES.finditer(text)]
    assert not found, found
