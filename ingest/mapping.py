"""Map a file's headers to the canonical columns, by synonyms or explicitly."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS

# Header spellings seen in real sales exports, after normalisation
# (lower case, punctuation and spaces collapsed to one space).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "invoice_id": (
        "invoice",
        "invoice id",
        "invoice no",
        "invoice number",
        "invoice num",
        "inv no",
        "receipt",
        "receipt no",
        "receipt number",
        "order id",
        "order no",
        "order number",
        "transaction id",
        "doc no",
        "document no",
        "bill no",
    ),
    "line_no": ("line", "line no", "line number", "item no", "line item", "seq", "row no"),
    "sold_at": (
        "date",
        "sale date",
        "sales date",
        "sold at",
        "invoice date",
        "transaction date",
        "order date",
        "datetime",
        "date time",
        "timestamp",
        "time",
        "posting date",
    ),
    "branch": ("branch", "branch name", "store", "shop", "outlet", "location", "depot"),
    "salesperson": (
        "salesperson",
        "sales person",
        "sales rep",
        "rep",
        "sales representative",
        "agent",
        "sales agent",
        "seller",
        "cashier",
        "staff",
        "sold by",
        "employee",
    ),
    "customer_id": (
        "customer id",
        "customer no",
        "customer code",
        "customer number",
        "client id",
        "client code",
        "account no",
        "account",
        "cust id",
        "cust no",
    ),
    "customer_name": ("customer", "customer name", "client", "client name", "cust name"),
    "customer_type": ("customer type", "client type", "segment", "customer segment", "channel"),
    "product_id": (
        "product id",
        "sku",
        "item code",
        "product code",
        "item id",
        "article",
        "barcode",
        "part no",
        "stock code",
    ),
    "product_name": (
        "product",
        "product name",
        "item",
        "item name",
        "description",
        "item description",
    ),
    "product_line": (
        "product line",
        "category",
        "product category",
        "line of business",
        "department",
        "product group",
        "item group",
        "family",
    ),
    "quantity": ("quantity", "qty", "units", "qty sold", "quantity sold", "pieces", "pcs"),
    "unit_price": (
        "unit price",
        "price",
        "selling price",
        "unit selling price",
        "rate",
        "price kes",
        "unit price kes",
        "price per unit",
    ),
    "unit_cost": (
        "unit cost",
        "cost",
        "cost price",
        "buying price",
        "unit cost kes",
        "cost per unit",
    ),
    "discount": ("discount", "discount kes", "discount amount", "disc", "line discount"),
    "payment_method": (
        "payment method",
        "payment",
        "payment mode",
        "payment type",
        "mode of payment",
        "tender",
        "paid by",
        "pay method",
    ),
}


class MappingError(ValueError):
    """The headers cannot be mapped; the message lists what is missing or clashing."""


def normalise_header(header: str) -> str:
    """Lower case with runs of punctuation, underscores and spaces made one space."""
    return re.sub(r"[^0-9a-z]+", " ", header.lower()).strip()


def lookup(synonyms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{normalised header: column} of a dataset's synonyms (and its column names)."""
    found: dict[str, str] = {}
    for column, names in synonyms.items():
        for name in (*names, normalise_header(column)):
            found.setdefault(normalise_header(name), column)
    return found


_LOOKUP = lookup(SYNONYMS)


@dataclass(frozen=True)
class ColumnMapping:
    """Which file header feeds which canonical column."""

    columns: dict[str, str]  # canonical column -> file header
    ignored: tuple[str, ...]  # file headers not used
    required: tuple[str, ...] = REQUIRED_COLUMNS  # the dataset's required columns

    @property
    def missing_required(self) -> tuple[str, ...]:
        return tuple(c for c in self.required if c not in self.columns)


def parse_explicit(pairs: list[str]) -> dict[str, str]:
    """Parse `["Header=column", ...]` from the command line into {header: column}."""
    result: dict[str, str] = {}
    for pair in pairs:
        header, sep, column = pair.partition("=")
        if not sep or not header.strip() or not column.strip():
            raise MappingError(f'--map {pair!r}: expected "Header=column"')
        result[header.strip()] = column.strip()
    return result


def propose_mapping(
    headers: list[str],
    explicit: dict[str, str] | None = None,
    *,
    canonical: tuple[str, ...] = CANONICAL_COLUMNS,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
    known_headers: dict[str, str] | None = None,
) -> ColumnMapping:
    """Map `headers` to canonical columns: explicit pairs first, then synonyms.

    `canonical`, `required` and `known_headers` (a `lookup` of synonyms) are
    the dataset's; the defaults are the sales lines'.

    Raises
    ------
    MappingError
        If an explicit pair names an unknown header or column, or two headers
        map to the same column.
    """
    explicit = explicit or {}
    columns: dict[str, str] = {}
    for header, column in explicit.items():
        if header not in headers:
            raise MappingError(f"mapping names header {header!r}, which the file does not have")
        if column not in canonical:
            raise MappingError(
                f"mapping {header!r} -> {column!r}: {column!r} is not a known column "
                f"(known: {', '.join(canonical)})"
            )
        if column in columns:
            raise MappingError(f"headers {columns[column]!r} and {header!r} both map to {column!r}")
        columns[column] = header
    for header in headers:
        if header in explicit:
            continue
        known = (known_headers or _LOOKUP).get(normalise_header(header))
        if known is None or known in columns:
            if known is not None and columns[known] not in explicit:
                raise MappingError(
                    f"headers {columns[known]!r} and {header!r} both look like {known!r}; "
                    f'say which one with --map "{header}=..."'
                )
            continue
        columns[known] = header
    used = set(columns.values())
    return ColumnMapping(columns, tuple(h for h in headers if h not in used), required)


def describe_missing(mapping: ColumnMapping, headers: list[str]) -> str:
    """One sentence naming the required columns not found and the headers seen."""
    missing = ", ".join(mapping.missing_required)
    seen = ", ".join(repr(h) for h in headers)
    return f"required column(s) not found: {missing}; the file's headers are {seen}"
