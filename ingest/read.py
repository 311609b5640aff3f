"""Read an uploaded CSV, Excel or Parquet file into a frame.

CSV and Excel are read as text so that a stray word in a number column
becomes a validation failure with a row number, not a reader crash. Parquet
keeps its types: its numbers and timestamps are already typed, and parsing
them back from text would only cost time (parse.py accepts both).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet",)
# Encodings tried in order: UTF-8 (a BOM is dropped), then Windows-1252, which
# decodes any byte and is what Excel on Windows writes for "CSV".
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")


class ReadError(ValueError):
    """The file cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class RawTable:
    """A source file's cells (text; typed columns from Parquet), with how it was read."""

    frame: pl.DataFrame
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    notes: tuple[str, ...] = ()

    @property
    def decimal_comma(self) -> bool:
        """Semicolon-separated files come from locales that write 12,50."""
        return self.delimiter == ";"


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:4096]:
        raise ReadError("the file looks binary (it contains NUL bytes), not a CSV text file")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ReadError("the file's text encoding is not UTF-8 or Windows-1252")  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), None)
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        if header is not None and len(header) == 1:
            return ","
        raise ReadError("could not tell the column delimiter from the header line")
    return best


def _utf8_bytes(data: bytes) -> tuple[bytes, str] | None:
    """The file as UTF-8 bytes without a BOM, if it is valid UTF-8 (None otherwise).

    Checked by decoding, which keeps the encoding rules of `_decode`; the bytes
    themselves go to the reader, sparing two copies of a large file as text.
    """
    if not data.isascii():  # ASCII (most exports) is UTF-8 without building the text
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "utf-8-sig"
    return data, "utf-8-sig"


def read_csv_text(data: bytes) -> RawTable:
    if b"\x00" in data[:4096]:
        raise ReadError("the file looks binary (it contains NUL bytes), not a CSV text file")
    utf8 = _utf8_bytes(data)
    if utf8 is None:
        text, encoding = _decode(data)
        utf8 = (text.encode("utf-8"), encoding)
    body, encoding = utf8
    if not body or body.isspace():  # stops at the first other byte: no copy of the file
        raise ReadError("the file is empty")
    newline = body.find(b"\n")
    delimiter = _sniff_delimiter(body[: newline if newline >= 0 else len(body)].decode("utf-8"))
    try:
        frame = pl.read_csv(
            body,
            separator=delimiter,
            infer_schema=False,
        )
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReadError(f"the CSV could not be parsed: {first}") from exc
    return RawTable(frame, encoding, delimiter, None)


def read_excel_bytes(data: bytes) -> RawTable:
    try:
        sheets = pl.read_excel(io.BytesIO(data), sheet_id=0, infer_schema_length=0)
    except Exception as exc:  # the Excel reader raises many types for a corrupt file
        raise ReadError(f"the Excel file could not be read: {exc}") from exc
    non_empty = {name: frame for name, frame in sheets.items() if frame.height > 0}
    if not non_empty:
        raise ReadError("the Excel file has no sheet with data rows")
    name, frame = next(iter(non_empty.items()))
    notes = ()
    if len(non_empty) > 1:
        others = ", ".join(n for n in non_empty if n != name)
        notes = (f"read sheet {name!r}; ignored other sheets with data: {others}",)
    frame = frame.select(pl.all().cast(pl.String))
    return RawTable(frame, None, None, name, notes)


def read_parquet_bytes(data: bytes) -> RawTable:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except pl.exceptions.PolarsError as exc:
        raise ReadError(f"the Parquet file could not be read: {exc}") from exc
    return RawTable(frame, None, None, None)


def read_table(data: bytes, filename: str) -> RawTable:
    """Read `data` (the file's bytes) by its name's suffix into text columns.

    Raises
    ------
    ReadError
        If the file is empty, binary, of an unknown type or malformed.
    """
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not data:
        raise ReadError("the file is empty")
    if suffix in EXCEL_SUFFIXES:
        table = read_excel_bytes(data)
    elif suffix in PARQUET_SUFFIXES:
        table = read_parquet_bytes(data)
    elif suffix in CSV_SUFFIXES or suffix == "":
        table = read_csv_text(data)
    else:
        raise ReadError(f"unsupported file type {suffix!r}: upload CSV or Excel (.xlsx)")
    if table.frame.width == 0:
        raise ReadError("the file has no columns")
    if table.frame.height == 0:
        raise ReadError("the file has a header but no data rows")
    return table
