"""How numbers look on the pages: KES with thousands separators, % with one decimal."""

from __future__ import annotations

from core.kpi.catalogue import BY_NAME


def kes(value: float | None) -> str:
    if value is None:
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}KES {abs(value):,.0f}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def kpi_value(name: str, value: float | None) -> str:
    """Format a catalogue KPI by its declared format."""
    fmt = BY_NAME[name].format
    return {"kes": kes, "pct": pct, "count": count}.get(fmt, number)(value)


def delta(value: float | None) -> str | None:
    """st.metric delta text for a growth fraction (None hides the delta)."""
    return None if value is None else f"{value * 100:+.1f}%"
