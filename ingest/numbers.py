"""Read numbers written as text, deciding each column's decimal separator from its values.

A file never says whether `1.500` is one and a half or fifteen hundred, and
the delimiter does not say it either (semicolon files with `150.0` exist, and
so do comma files with a quoted `"12,50"`). So each numeric column is read by
its own evidence:

- a dot or comma is a thousands separator only where the value's groups after
  it are exactly three digits and the first group one to three (`1.234.567,89`,
  `12,500`); so `150.0`, `2.5`, `12,50`, `1234.500` and `0.500` can only be
  decimals, and a value holding both marks has its decimal mark last;
- a column whose values prove one style is read in that style; values that
  prove the other style are failures with their rows (a mixed column is
  refused, never half read);
- a column whose marked values all read both ways (every one like `1.500` or
  `1,500`) is not guessed: `AmbiguousNumbers` names it with two examples, and
  the person says which mark is the decimal one (`--decimal` on the command
  line, a choice on the upload page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

Decimal = Literal[".", ","]
DECIMALS: tuple[Decimal, ...] = (".", ",")

_SIGN = r"^[-+]?"
# One to three digits, not a lone leading zero group (`0.500` is a decimal), then groups.
_GROUPED = {
    ".": r"[1-9]\d{0,2}(?:,\d{3})+",
    ",": r"[1-9]\d{0,2}(?:\.\d{3})+",
}
# A value read in style `d` (decimal mark d, the other mark grouping thousands).
# An exponent (`1e400`, as spreadsheets write huge numbers) may follow.
_EXPONENT = r"(?:[eE][-+]?\d+)?$"
_VALID = {
    ".": _SIGN + r"(?:\d+|" + _GROUPED["."] + r")?(?:\.\d*)?" + _EXPONENT,
    ",": _SIGN + r"(?:\d+|" + _GROUPED[","] + r")?(?:,\d*)?" + _EXPONENT,
}
# Readable both ways: a single mark with one to three digits before it and three after.
_AMBIGUOUS = _SIGN + r"[1-9]\d{0,2}[.,]\d{3}$"
# Values no plain cast reads that hold a mark: they prove a style when valid in it.
_MARK = r"[.,]"


class AmbiguousNumbers(ValueError):
    """A column whose every written separator reads as decimal and as thousands."""

    def __init__(self, column: str, examples: tuple[str, ...]) -> None:
        self.column = column
        self.examples = examples
        shown = " and ".join(repr(e) for e in examples)
        super().__init__(
            f"the numbers in column {column!r} read two ways ({shown} could be decimals or "
            "thousands): say which mark is the decimal separator with --decimal . or --decimal ,"
        )


@dataclass(frozen=True)
class NumberColumn:
    """A column read as numbers: values (null where unread) and its failing cells by rule."""

    values: pl.Series
    failures: tuple[tuple[pl.Series, str], ...]  # (mask of cells, the rule they break)
    decimal: Decimal | None  # the style it was read in; None when no value had a mark


def on_all_cores(values: pl.Series, operation: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`operation`, element by element, with the column cut into pieces for every core.

    The in-memory engine runs an element-wise function of one column on one
    thread; the streaming engine shares it out.
    """
    return (
        values.alias("value")
        .to_frame()
        .lazy()
        .select(operation(pl.col("value")))
        .collect(engine="streaming")
        .to_series()
        .rechunk()
        .alias(values.name)
    )


def _cleaned(text: pl.Expr) -> pl.Expr:
    """The number's text without a currency word or spaces (`KES 1 250,00` -> `1250,00`)."""
    value = text.str.strip_chars().str.replace(r"(?i)^(kes|ksh|kshs)\.?\s*", "")
    return value.str.replace_all(r"\s", "")


def _in_style(value: pl.Expr, decimal: Decimal) -> pl.Expr:
    """`value` (cleaned) as Float64 when it is valid in `decimal` style, else null."""
    grouping = "," if decimal == "." else "."
    plain = value.str.replace_all(grouping, "", literal=True)
    if decimal == ",":
        plain = plain.str.replace(",", ".", literal=True)
    return (
        pl.when(value.str.contains(_VALID[decimal]) & value.str.contains(r"\d"))
        .then(plain)
        .otherwise(None)
        .cast(pl.Float64, strict=False)
    )


def _evidence(cleaned: pl.Series) -> pl.DataFrame:
    """Per cell: whether it reads in each style, and whether it reads both ways alike."""
    return on_all_cores(
        cleaned,
        lambda value: pl.struct(
            dot=value.str.contains(_VALID["."]),
            comma=value.str.contains(_VALID[","]),
            marked=value.str.contains(_MARK),
            ambiguous=value.str.contains(_AMBIGUOUS),
        ),
    ).struct.unnest()


def decide_decimal(
    column: str, cleaned: pl.Series, explicit: Decimal | None
) -> tuple[Decimal | None, pl.Series]:
    """The style to read `cleaned` in, and the cells that prove the other style.

    Raises
    ------
    AmbiguousNumbers
        If no value decides and some read both ways, and `explicit` is None.
    """
    evidence = _evidence(cleaned)
    decisive = evidence["marked"] & ~evidence["ambiguous"]
    proves_dot = (decisive & evidence["dot"] & ~evidence["comma"]).fill_null(False)
    proves_comma = (decisive & evidence["comma"] & ~evidence["dot"]).fill_null(False)
    dot, comma = int(proves_dot.sum()), int(proves_comma.sum())
    if explicit is not None:
        style: Decimal | None = explicit
    elif dot or comma:
        style = "." if dot >= comma else ","  # the majority decides; the others fail
    elif evidence["ambiguous"].any():
        examples = cleaned.filter(evidence["ambiguous"].fill_null(False)).unique(
            maintain_order=True
        )
        raise AmbiguousNumbers(column, tuple(examples.head(2).to_list()))
    else:
        return None, pl.repeat(False, cleaned.len(), eager=True)
    return style, (proves_comma if style == "." else proves_dot)


def read_numbers(text: pl.Series, column: str, explicit: Decimal | None = None) -> NumberColumn:
    """Text cells as Float64 in the column's decimal style, with the cells that fail.

    Cells Polars already reads as a plain number (`12`, `150.0`) skip the
    regular expressions when no cell of the column needs them.
    """
    direct = on_all_cores(text, lambda value: value.cast(pl.Float64, strict=False))
    present = _present(text) if direct.null_count() > text.null_count() else text.is_not_null()
    if explicit in (None, ".") and not (direct.is_null() & present).any():
        # Every cell is plain: only a column of `1.500`-like values leaves a doubt.
        three_decimals = on_all_cores(text, lambda value: value.str.contains(r"\.\d{3}\s*$"))
        if explicit is None and three_decimals.any():
            decide_decimal(column, on_all_cores(text, _cleaned), None)
        return _result(direct, present, "must be a number", "." if explicit else None)
    present = _present(text)
    cleaned = on_all_cores(text, _cleaned)
    style, other_style = decide_decimal(column, cleaned, explicit)
    typed = on_all_cores(cleaned, lambda value: _in_style(value, style or "."))
    rule = "must be a number" if style is None else f"must be a number ({style!r} decimal mark)"
    if not other_style.any():
        return _result(typed, present, rule, style)
    typed = pl.select(pl.when(other_style).then(None).otherwise(typed)).to_series()
    other = "," if style == "." else "."
    mixed = (
        f"has {other!r} as its decimal mark where the rest of the column has {style!r}: "
        "write the column one way"
    )
    unread = _unread(typed, present) & ~other_style
    return NumberColumn(typed.alias(column), ((other_style, mixed), (unread, rule)), style)


def _present(text: pl.Series) -> pl.Series:
    """Cells that hold something other than spaces (a blank number is no number)."""
    return text.str.strip_chars().str.len_bytes().fill_null(0).gt(0)


def _unread(typed: pl.Series, present: pl.Series) -> pl.Series:
    # "NaN" casts to a float that is not a number: it is as bad as "ten".
    return (present & (typed.is_null() | typed.is_nan())).fill_null(False)


def _result(typed: pl.Series, present: pl.Series, rule: str, style: Decimal | None) -> NumberColumn:
    return NumberColumn(typed, ((_unread(typed, present), rule),), style)
