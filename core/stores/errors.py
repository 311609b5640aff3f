"""Store errors as a person reads them."""

from __future__ import annotations

import re


def first_line(exc: BaseException) -> str:
    """An error's first line without terminal colours (deltalake adds both)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
