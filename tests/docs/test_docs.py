"""The README and docs/ stay true to the code: settings, links, export columns, wording.

Fast and offline: they read files and import the declarations (`SETTINGS`,
`AREA_SCHEMAS`, `COLUMN_DOCS`), never a store, a browser or Druid.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from core.exports import AREAS, column_doc
from core.kpi.catalogue import KPIS
from core.kpi.schemas import AREA_SCHEMAS
from core.settings import SETTINGS
from tests.conftest import ROOT

README = ROOT / "README.md"
CONTRACT = ROOT / "docs" / "contract.md"
DOCS = (README, *sorted((ROOT / "docs").glob("*.md")))
# A README a new reader gets through in minutes; the long material lives in docs/.
README_MAX_LINES = 320
# Wording that dates a text by checkpoints of the project's own development, which a
# reader cannot look up. Built from parts, so this file does not match itself.
CHECKPOINTS = re.compile(
    "|".join(
        (
            r"\bstop [0-9]+",
            r"\bthis " + "stop",
            r"\bthe run " + "before",
            r"\bthis " + "session",
        )
    ),
    re.IGNORECASE,
)
CHECKED_SUFFIXES = (".py", ".md", ".json")
# Not the project's text: environments, caches, generated data.
SKIPPED_DIRS = {"data", "node_modules", "__pycache__"}
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _section(text: str, title: str) -> str:
    """The body of the `## title` section of a Markdown text."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no '## {title}' section"
    return match.group(1)


def _table_rows(section: str) -> dict[str, list[str]]:
    """First cell (without backticks) -> the row's cells, for each body row of its tables."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(h) for h in HEADING.findall(FENCE.sub("", path.read_text()))}


def _links(path: Path) -> list[str]:
    """Every link and image target of a Markdown file, outside code blocks."""
    return LINK.findall(FENCE.sub("", path.read_text()))


def _project_files() -> list[Path]:
    """The project's own .py, .md and .json files, hidden and generated folders left out."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        found += [Path(folder, f) for f in sorted(files) if f.endswith(CHECKED_SUFFIXES)]
    return found


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_configuration_table_lists_every_setting_with_its_default(setting) -> None:
    rows = _table_rows(_section(README.read_text(), "Configuration"))
    assert setting.name in rows, f"README's configuration table misses {setting.name}"
    default = rows[setting.name][1]
    assert default == (f"`{setting.default}`" if setting.default else "(none)"), (
        f"README gives {setting.name}'s default as {default}, the code {setting.default!r}"
    )


def test_configuration_table_names_only_settings_that_exist() -> None:
    rows = _table_rows(_section(README.read_text(), "Configuration"))
    unknown = set(rows) - {"variable"} - {s.name for s in SETTINGS}
    assert not unknown, f"README documents settings core/settings.py does not have: {unknown}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in _links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append(f"{target}: no file {path}")
        elif fragment and path.suffix == ".md" and fragment not in _anchors(path):
            broken.append(f"{target}: no heading #{fragment} in {path.name}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_docs_have_links_to_check() -> None:
    """The link check sees the README's pictures and its pointers into docs/."""
    targets = _links(README)
    assert "docs/overview.png" in targets
    assert any(t.startswith("docs/contract.md") for t in targets)


def test_every_area_has_a_pinned_schema() -> None:
    assert set(AREA_SCHEMAS) == set(AREAS)


@pytest.mark.parametrize("area", sorted(AREA_SCHEMAS))
def test_every_export_column_is_documented(area: str) -> None:
    contract = CONTRACT.read_text()
    columns = AREA_SCHEMAS[area].to_schema().columns
    undocumented = [c for c in columns if column_doc(c) is None and f"`{c}`" not in contract]
    assert not undocumented, (
        f"{area}: document {undocumented} in COLUMN_DOCS (core/exports.py) or docs/contract.md"
    )


def test_every_kpi_is_defined_in_the_contract() -> None:
    kpis = _table_rows(_section(CONTRACT.read_text(), "KPIs"))
    missing = [k.name for k in KPIS if k.name not in kpis]
    assert not missing, f"docs/contract.md's KPI table misses {missing}"


def test_readme_stays_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README is {lines} lines: move detail to docs/"


def test_no_text_refers_to_development_checkpoints() -> None:
    hits = []
    for path in _project_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if CHECKPOINTS.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "name a commit or a date instead:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    [
        "README: timings of st" + "op 22",
        "after this " + "stop's ingest changes",
        "slower than in the run " + "before",
        "the first run of this " + "session",
    ],
)
def test_the_checkpoint_pattern_finds_each_wording(line: str) -> None:
    assert CHECKPOINTS.search(line)
