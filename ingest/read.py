"""Read an uploaded CSV, Excel or Parquet file into a frame.

CSV is read as text so that a stray word in a number column becomes a
validation failure with a row number, not a reader crash. Parquet keeps its
types, and so do Excel columns whose every cell is a number: their values are
already numbers, and reading them back from text would only invite a guess at
the decimal mark (parse.py accepts both).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace

import polars as pl

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet",)
# Encodings tried in order: UTF-8 (a BOM is dropped), then Windows-1252, which
# decodes any byte and is what Excel on Windows writes for "CSV".
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
# A UTF-8 multi-byte character. Windows-1252 text almost never holds these byte
# pairs (they read as "Ã©"), so a file with them that is not valid UTF-8 mixes both.
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


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


def _decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:4096]:
        raise ReadError("the file looks binary (it contains NUL bytes), not a CSV text file")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ReadError("the file's text encoding is not UTF-8 or Windows-1252")  # pragma: no cover


def _refuse_mixed_encoding(data: bytes) -> None:
    """Refuse a file whose lines are partly UTF-8 and partly another encoding.

    Decoding it all as Windows-1252 would load every UTF-8 name garbled.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if UTF8_MULTIBYTE.search(data):
            line = data.count(b"\n", 0, exc.start) + 1
            raise ReadError(
                f"the file mixes text encodings: line {line} is not UTF-8 but other lines are; "
                'save the whole file as UTF-8 ("CSV UTF-8" in Excel)'
            ) from exc


def _ragged_row(body: bytes, delimiter: str) -> str | None:
    """Which row has more fields than the header, said for a person (None if none does)."""
    text = io.StringIO(body.decode("utf-8", errors="replace"), newline="")
    try:
        reader = csv.reader(text, delimiter=delimiter)
        header = next(reader, [])
        for number, row in enumerate(reader, start=2):
            if len(row) > len(header):
                return f"row {number} has {len(row)} fields, the header has {len(header)}"
    except csv.Error:
        return None
    return None


def _sniff_delimiter(text: str) -> str:
    try:
        header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), None)
    except csv.Error:  # a stray carriage return or quote in the header line
        header = None
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


def _control_characters(head: bytes) -> int:
    return sum(byte < 32 and byte not in (9, 10, 13) for byte in head)


def read_csv_text(data: bytes) -> RawTable:
    if b"\x00" in data[:4096]:
        raise ReadError("the file looks binary (it contains NUL bytes), not a CSV text file")
    # Text has no control characters but tab and line ends; 1% of them is not text.
    if _control_characters(data[:4096]) > len(data[:4096]) // 100:
        raise ReadError("the file looks binary (it holds control characters), not a CSV text file")
    utf8 = _utf8_bytes(data)
    if utf8 is None:
        _refuse_mixed_encoding(data)
        text, encoding = _decode(data)
        utf8 = (text.encode("utf-8"), encoding)
    body, encoding = utf8
    if not body or body.isspace():  # stops at the first other byte: no copy of the file
        raise ReadError("the file is empty")
    newline = body.find(b"\n")
    if newline < 0 and b"\r" in body:  # old Mac line ends (CR only): make them \n
        body = body.replace(b"\r", b"\n")
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
        raise ReadError(
            f"the CSV could not be parsed: {_ragged_row(body, delimiter) or first}"
        ) from exc
    return RawTable(frame, encoding, delimiter, None)


def _has_required_headers(headers: list[str]) -> bool:
    from ingest.mapping import MappingError, propose_mapping

    try:
        return not propose_mapping(headers).missing_required
    except MappingError:
        return False


def read_excel_bytes(data: bytes) -> RawTable:
    try:
        # An empty sheet (a blank "Sheet2") must not stop the others being read.
        # The types of every row are inferred: a column of number cells stays numeric,
        # one that also holds text is text.
        sheets = pl.read_excel(
            io.BytesIO(data), sheet_id=0, infer_schema_length=None, raise_if_empty=False
        )
    except Exception as exc:  # the Excel reader raises many types for a corrupt file
        raise ReadError(f"the Excel file could not be read: {exc}") from exc
    non_empty = {name: frame for name, frame in sheets.items() if frame.height > 0}
    if not non_empty:
        raise ReadError("the Excel file has no sheet with data rows")
    # The first sheet whose headers name every required column, else the first with data
    # (a "Summary" sheet before the "Sales" sheet is common).
    name, frame = next(
        ((n, f) for n, f in non_empty.items() if _has_required_headers(f.columns)),
        next(iter(non_empty.items())),
    )
    notes: tuple[str, ...] = ()
    if len(non_empty) > 1:
        others = ", ".join(n for n in non_empty if n != name)
        notes = (f"read sheet {name!r}; ignored other sheets with data: {others}",)
    frame = frame.select(
        pl.col(c)
        if frame.schema[c].is_numeric() or frame.schema[c].is_temporal()
        else pl.col(c).cast(pl.String)
        for c in frame.columns
    )
    return RawTable(frame, None, None, name, notes)


def read_parquet_bytes(data: bytes) -> RawTable:
    try:
        frame = pl.read_parquet(data)
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
        known = ", ".join((*CSV_SUFFIXES, *EXCEL_SUFFIXES, *PARQUET_SUFFIXES))
        raise ReadError(f"unsupported file type {suffix!r}: expected one of {known}")
    # The readers return each column in hundreds of pieces (a CSV of 10M lines: 738), and
    # every later step pays per piece: one copy here makes parsing, validating and writing
    # 10M lines 10 s faster from CSV and 2 s from Parquet, and costs 1 s.
    table = replace(table, frame=table.frame.rechunk())
    if table.frame.width == 0:
        raise ReadError("the file has no columns")
    if table.frame.height == 0:
        raise ReadError("the file has a header but no data rows")
    return table
