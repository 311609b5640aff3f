"""How numbers look on the pages: KES with thousands separators, % with one decimal."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.kpi.catalogue import BY_NAME

# Characters Streamlit's Markdown (labels, captions, alerts) would read as formatting.
# Where GitHub-flavoured Markdown starts a link by itself: "http://", "www.", "a@b".
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def kes(value: float | None, cents: bool = False) -> str:
    """KES to the shilling (tables, captions), or to the cent where a figure is exact."""
    if value is None:
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}KES {abs(value):,.{2 if cents else 0}f}"


# A number as a tile or heat map cell shows it, in a unit: (magnitude, suffix) -> shown.
Shown = Callable[[float, str], float]


def _scaled(value: float, thousands: str, shown: Shown) -> tuple[float, str]:
    """`value` in the smallest unit (none, thousands, M, B) in which it shows below 1,000.

    Chosen by the value as shown, rounding included: 999,960 shown to one
    decimal is 1.0M, not 1,000.0K; 999.99 to three digits is 1k, not 1e+03.
    """
    for limit, suffix in ((1.0, ""), (1e3, thousands), (1e6, "M")):
        if shown(abs(value) / limit, suffix) < 1000:
            return value / limit, suffix
    return value / 1e9, "B"


def kes_compact(value: float | None) -> str:
    """KES in a metric tile: 94.1M, 870.0K, 950."""
    if value is None:
        return "–"
    scaled, suffix = _scaled(value, "K", lambda v, unit: round(v, 1 if unit else 0))
    return f"KES {scaled:,.1f}{suffix}" if suffix else f"KES {value:,.0f}"


def compact(value: float | None) -> str:
    """1.23M, 45.6k: short enough for a heat map cell (three significant digits)."""
    if value is None:
        return ""
    scaled, suffix = _scaled(value, "k", lambda v, _unit: float(f"{v:.3g}"))
    return f"{scaled:.3g}{suffix}"


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def kpi_value(name: str, value: float | None, compact: bool = False) -> str:
    """Format a catalogue KPI by its declared format."""
    fmt = BY_NAME[name].format
    if name == "units":
        return count(value)
    money = kes_compact if compact else kes
    return {"kes": money, "pct": pct, "count": count}.get(fmt, number)(value)


def kpi_exact(name: str, value: float | None) -> str:
    """A catalogue KPI in full: money to the cent, ratios to two decimals of a percent."""
    fmt = BY_NAME[name].format
    if fmt == "kes":
        return kes(value, cents=True)
    if fmt == "pct":
        return pct(value, digits=2)
    return kpi_value(name, value)


def _signed(value: float, unit: str) -> str:
    """`value` with one decimal and its sign; a change that rounds to nothing has none
    (a "-0.0" would show as a fall)."""
    text = f"{value:+.1f}"
    return f"{text[1:] if text[1:] == '0.0' else text}{unit}"


def points(difference: float) -> str:
    """A difference of two fractions in percentage points: "+2.1 pp", "0.0 pp"."""
    return _signed(difference * 100, " pp")


def delta(name: str, row: dict[str, float | None]) -> str | None:
    """st.metric delta: growth % for amounts, percentage points for ratios given in %."""
    if BY_NAME[name].format == "pct":
        current, previous = row.get(name), row.get(f"{name}_prev")
        if current is None or previous is None:
            return None
        return points(current - previous)
    value = row.get(f"{name}_growth_pct")
    return None if value is None else _signed(value * 100, "%")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """ "1 problem", "2 problems", "1,204 rows"."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def plain(text: object) -> str:
    """Text from the data (a name, a file's header) shown as typed inside Markdown.

    Streamlit renders labels, captions and alerts as Markdown: a salesperson
    called "[Pay here](http://...)" would become a link. Every character
    Markdown reads is backslash-escaped, so the text shows as it was typed.
    """
    # Bare addresses are linked whatever their escapes: a zero-width space breaks them.
    unlinked = _AUTOLINK.sub("\u200b", str(text))
    return _MARKDOWN.sub(r"\\\1", unlinked)
