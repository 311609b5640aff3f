"""api/ stays off Streamlit, ui/ and views/ (README, "Which layer may import which")."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_importing_the_api_imports_no_streamlit_ui_or_views() -> None:
    probe = (
        "import sys, api; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'ui', 'views')); "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
