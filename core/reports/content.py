"""A report's numbers and its e-mail: the page's tables for the owner, as the export has them.

The tables are `core.exports.area_table` of the view a link's parameters
describe, restricted to the owner's branches: the tables `python -m core
export AREA --user OWNER` writes for the same parameters. A member the owner
may not see is dropped with a notice (as a page drops it), so a subscription
whose owner's restriction changed still sends only what the owner may see.

The e-mail has an HTML part (headline KPIs against the comparison window, the
top and bottom members, a chart as an inline image, a link back to the view),
a plain-text part with the same figures, and each of the page's tables as the
Excel file its download button gives. Every figure in the HTML carries its
exact value in `data-value` (the export's, money to the cent), so a reader
program and the tests read the numbers, not their formatting.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlencode

import polars as pl

from core.exports import (
    area_table,
    column_label,
    column_unit,
    file_stem,
    round_money,
    to_excel_bytes,
)
from core.filters import MEMBER_COLUMNS, Filters, from_query_params
from core.kpi import overview
from core.kpi.catalogue import BY_NAME
from core.kpi.overview import partial_periods
from core.kpi.view import View, resolve_view
from core.presets import PERIODS
from core.reports.chart import trend_png
from core.store import Grain, SalesStore, Scope, Window

XLSX = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How many of the best and the weakest members the e-mail names: a glance, not a table.
TOP_MEMBERS = 3
HEADLINE: tuple[str, ...] = (
    "net_sales",
    "gross_profit",
    "gross_margin_pct",
    "orders",
    "aov",
    "active_customers",
)


@dataclass(frozen=True)
class Page:
    """A dashboard page as a report: its title, link path, tables and members listed."""

    title: str
    path: str  # the page's url_path in app.py; "" for the root
    tables: tuple[str, ...]  # export areas, the page's download buttons
    members: str  # the area whose best and weakest members the e-mail names
    key: str  # that area's member column
    value: str  # the column they are ranked by
    noun: str  # what the members are, in the plural


PAGES: dict[str, Page] = {
    "overview": Page(
        "Overview", "", ("overview", "trend"), "branches", "branch", "net_sales", "branches"
    ),
    "salespeople": Page(
        "Salespeople",
        "salespeople",
        ("salespeople",),
        "salespeople",
        "salesperson",
        "net_sales",
        "salespeople",
    ),
    "products": Page(
        "Products",
        "products",
        ("product-lines", "products"),
        "product-lines",
        "product_line",
        "net_sales",
        "product lines",
    ),
    "branches": Page(
        "Branches", "branches", ("branches",), "branches", "branch", "net_sales", "branches"
    ),
    "customers": Page(
        "Customers",
        "customers",
        ("customers", "cohorts"),
        "customers",
        "customer_id",
        "monetary",
        "customers",
    ),
}


@dataclass(frozen=True)
class Attachment:
    file_name: str
    data: bytes


@dataclass(frozen=True)
class Report:
    """One page's view computed for its owner: the figures an e-mail is made of."""

    page: Page
    filters: Filters
    view: View
    tables: dict[str, pl.DataFrame]
    notices: tuple[str, ...] = field(default_factory=tuple)
    today: date | None = None
    chart_trend: pl.DataFrame | None = None  # net sales by `chart_grain`
    chart_grain: Grain = "day"

    @property
    def headline(self) -> dict[str, object]:
        return self.tables["overview"].row(0, named=True)

    def link(self, public_url: str) -> str:
        """The address that opens this exact view (`core.filters` URL codec)."""
        query = urlencode(self.filters.to_query_params(), doseq=True)
        return f"{public_url.rstrip('/')}/{self.page.path}" + (f"?{query}" if query else "")

    def window_text(self) -> str:
        window = self.view.window
        if window is None:
            return "no sales in scope"
        days = (
            window.start.isoformat()
            if window.start == window.end
            else f"{window.start.isoformat()} to {window.end.isoformat()}"
        )
        label = PERIODS.get(self.filters.period or "")
        return f"{label}, {days}" if label else days

    def comparison_text(self) -> str:
        if self.view.comparison is None:
            return "no comparison"
        c = self.view.comparison
        name = "previous period" if self.view.compare == "previous" else "same period last year"
        return f"{name}, {c.start.isoformat()} to {c.end.isoformat()}"

    def filters_text(self) -> str:
        parts = []
        for param, attribute in (
            ("branch", "branches"),
            ("line", "product_lines"),
            ("rep", "salespeople"),
            ("product", "products"),
        ):
            values = getattr(self.filters, attribute)
            if values:
                parts.append(f"{param}: {', '.join(values)}")
        restricted = self.view.scope.allowed_branches
        if restricted is not None:
            parts.append(f"your branches: {', '.join(restricted) or 'none'}")
        return "; ".join(parts) or "all branches, lines and salespeople"

    def members(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The best and the weakest members with sales, by the page's ranking column."""
        table = self.tables[self.page.members]
        value = self.page.value
        selling = table.filter(pl.col(value).is_not_null() & (pl.col(value) != 0))
        ranked = selling.sort([value, self.page.key], descending=[True, False])
        top = ranked.head(TOP_MEMBERS)
        bottom = ranked.tail(min(TOP_MEMBERS, max(0, ranked.height - top.height)))
        return top, bottom.reverse()

    def attachments(self) -> list[Attachment]:
        """Each page table as the page's Excel download: same writer, sheet and file name."""
        return [
            Attachment(
                f"{file_stem(name, self.filters, self.view.window)}.xlsx",
                to_excel_bytes(self.tables[name], sheet=name),
            )
            for name in self.page.tables
        ]

    def chart(self) -> bytes:
        trend = self.chart_trend if self.chart_trend is not None else self.tables["trend"]
        partial = (
            set(partial_periods(self.view.window, self.chart_grain, self.today))
            if self.view.window
            else set()
        )
        return trend_png(trend["period"].to_list(), trend["net_sales"].to_list(), partial)


def chart_grain(window: Window | None) -> Grain:
    """The grain that gives the chart some bars: days up to two months, weeks up to half
    a year, months beyond (a month of sales by month is one bar)."""
    if window is None or window.days <= 62:
        return "day"
    return "week" if window.days <= 190 else "month"


def visible_members(
    store: SalesStore, allowed: tuple[str, ...] | None
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Members the user may see, and those that exist in branches the user may not see."""
    known = {
        p: store.distinct_values(c, Scope(allowed_branches=allowed))
        for p, c in MEMBER_COLUMNS.items()
    }
    if allowed is None:
        return known, {}
    everyone = {p: store.distinct_values(c, Scope()) for p, c in MEMBER_COLUMNS.items()}
    hidden = {p: sorted(set(everyone[p]) - set(known[p])) for p in MEMBER_COLUMNS}
    return known, hidden


def build_report(
    store: SalesStore,
    page: str,
    params: dict[str, list[str]],
    *,
    today: date,
    allowed_branches: tuple[str, ...] | None,
) -> Report:
    """The tables of `page` for a link's `params`, read on `today`, for a user kept to
    `allowed_branches` (None: every branch).

    Raises
    ------
    KeyError
        If `page` is not one of `PAGES`.
    """
    spec = PAGES[page]
    known, hidden = visible_members(store, allowed_branches)
    parsed = from_query_params(params, known_members=known, hidden_members=hidden, today=today)
    view = resolve_view(store, parsed.filters, allowed_branches)
    names = dict.fromkeys(("overview", "trend", *spec.tables, spec.members))
    tables = {name: area_table(name, store, view) for name in names}
    grain = chart_grain(view.window)
    chart = overview.trend(store, replace(view, grain=grain), kpis=("net_sales",))
    return Report(spec, parsed.filters, view, tables, parsed.notices, today, chart, grain)


def shown(column: str, value: object, dtype: pl.DataType) -> str:
    """A figure as the e-mail writes it: KES to the shilling, % to one decimal."""
    if value is None:
        return "–"
    unit = column_unit(column, dtype)
    if not isinstance(value, int | float):
        return str(value)
    if unit == "kes":
        return f"{'-' if value < 0 else ''}KES {abs(value):,.0f}"
    if unit == "pct":
        return f"{value * 100:,.1f}%"
    if unit == "growth":
        return f"{value * 100:+,.1f}%"
    if unit in ("count", "change"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _cell(column: str, value: object, dtype: pl.DataType, tag: str = "td") -> str:
    exact = "" if value is None else str(value)
    style = (
        ' style="text-align:right;padding:4px 10px"'
        if isinstance(value, int | float)
        else (' style="padding:4px 10px"')
    )
    return (
        f'<{tag} data-column="{html.escape(column)}" data-value="{html.escape(exact)}"{style}>'
        f"{html.escape(shown(column, value, dtype))}</{tag}>"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label(kpi: str) -> str:
    return BY_NAME[kpi].label if kpi in BY_NAME else column_label(kpi)


def _targeted(headline: pl.DataFrame) -> list[tuple[str, str]]:
    """The overview's target columns with their labels, where the view has a target."""
    if "target" not in headline.columns or headline["target"][0] is None:
        return []
    return [("target", "Net sales target"), ("attainment_pct", "Attainment")]


def render_html(report: Report, public_url: str, chart_cid: str) -> str:
    """The HTML part; `chart_cid` is the inline chart's Content-ID without brackets."""
    headline = round_money(report.tables["overview"])
    row = headline.row(0, named=True)
    compare = report.view.comparison is not None and "net_sales_prev" in headline.columns
    rows = []
    for kpi in HEADLINE:
        cells = [f'<th style="text-align:left;padding:4px 10px">{html.escape(_label(kpi))}</th>']
        cells.append(_cell(kpi, row[kpi], headline.schema[kpi]))
        if compare:
            for column in (f"{kpi}_prev", f"{kpi}_growth_pct"):
                cells.append(_cell(column, row[column], headline.schema[column]))
        rows.append(f'<tr data-kpi="{kpi}">{"".join(cells)}</tr>')
    for column, label in _targeted(headline):
        rows.append(
            f'<tr data-kpi="{column}"><th style="text-align:left;padding:4px 10px">'
            f"{html.escape(label)}</th>{_cell(column, row[column], headline.schema[column])}</tr>"
        )
    head = "<th></th><th>This window</th>" + (
        "<th>Comparison</th><th>Growth</th>" if compare else ""
    )
    top, bottom = report.members()
    key, value = report.page.key, report.page.value
    member_table = round_money(report.tables[report.page.members])

    def members_block(title: str, frame: pl.DataFrame, which: str) -> str:
        if frame.is_empty():
            return ""
        exact = member_table.filter(pl.col(key).is_in(frame[key].to_list()))
        by_key = {r[key]: r for r in exact.iter_rows(named=True)}
        items = []
        for member in frame[key].to_list():
            r = by_key[member]
            items.append(
                f'<tr data-member="{html.escape(str(member))}">'
                f'<td style="padding:4px 10px">{html.escape(str(member))}</td>'
                f"{_cell(value, r[value], member_table.schema[value])}"
                + (
                    _cell("gross_margin_pct", r["gross_margin_pct"], pl.Float64())
                    if "gross_margin_pct" in r
                    else ""
                )
                + "</tr>"
            )
        return (
            f'<h3 style="margin:16px 0 4px">{html.escape(title)}</h3>'
            f'<table data-members="{which}" style="border-collapse:collapse">'
            f"{''.join(items)}</table>"
        )

    noun = report.page.noun
    notices = "".join(
        f'<p style="color:#8a5300">{html.escape(notice)}</p>' for notice in report.notices
    )
    files = "".join(f"<li>{html.escape(a)}</li>" for a in _attachment_names(report))
    link = html.escape(report.link(public_url))
    title = html.escape(f"{report.page.title}: {report.window_text()}")
    grain = html.escape(report.chart_grain)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(report.page.title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:640px">
<h2 style="margin-bottom:2px">{title}</h2>
<p style="margin-top:0;color:#555">Against the {html.escape(report.comparison_text())}.
{html.escape(_sentence(report.filters_text()))}.</p>
{notices}
<table data-table="headline" style="border-collapse:collapse">
<tr>{head}</tr>
{"".join(rows)}
</table>
{members_block(f"Top {noun}", top, "top")}
{members_block(f"Bottom {noun}", bottom, "bottom")}
<h3 style="margin:16px 0 4px">Net sales by {grain}</h3>
<img src="cid:{chart_cid}" width="600" height="200" alt="Net sales by {grain}">
<p><a href="{link}">Open this view in the dashboard</a></p>
<p style="color:#555">Attached, as the page's Excel downloads:</p><ul>{files}</ul>
</body></html>
"""


def _attachment_names(report: Report) -> list[str]:
    return [f"{file_stem(n, report.filters, report.view.window)}.xlsx" for n in report.page.tables]


def render_text(report: Report, public_url: str) -> str:
    """The plain-text part: the same figures, for clients that show no HTML."""
    headline = round_money(report.tables["overview"])
    row = headline.row(0, named=True)
    lines = [
        f"{report.page.title}: {report.window_text()}",
        f"Against the {report.comparison_text()}. {_sentence(report.filters_text())}.",
        *report.notices,
        "",
    ]
    compare = report.view.comparison is not None and "net_sales_prev" in headline.columns
    for kpi in HEADLINE:
        text = f"{_label(kpi)}: {shown(kpi, row[kpi], headline.schema[kpi])}"
        if compare:
            prev = shown(f"{kpi}_prev", row[f"{kpi}_prev"], headline.schema[f"{kpi}_prev"])
            change = f"{kpi}_growth_pct"
            text += f" (comparison {prev}, {shown(change, row[change], headline.schema[change])})"
        lines.append(text)
    for column, label in _targeted(headline):
        lines.append(f"{label}: {shown(column, row[column], headline.schema[column])}")
    top, bottom = report.members()
    noun = report.page.noun
    for title, frame in ((f"Top {noun}", top), (f"Bottom {noun}", bottom)):
        if frame.is_empty():
            continue
        lines += ["", f"{title}:"]
        for r in round_money(frame).iter_rows(named=True):
            value = shown(report.page.value, r[report.page.value], frame.schema[report.page.value])
            lines.append(f"  {r[report.page.key]}: {value}")
    lines += ["", f"Open this view: {report.link(public_url)}", "", "Attached:"]
    lines += [f"  {name}" for name in _attachment_names(report)]
    return "\n".join(lines) + "\n"


def subject(report: Report) -> str:
    row = report.headline
    text = f"{report.page.title}, {report.window_text()}: net sales "
    text += shown("net_sales", row["net_sales"], pl.Float64())
    growth = row.get("net_sales_growth_pct")
    if isinstance(growth, float):
        text += f" ({shown('net_sales_growth_pct', growth, pl.Float64())})"
    return text


def report_message(report: Report, public_url: str, sender: str, recipient: str) -> EmailMessage:
    """The whole e-mail: text and HTML alternatives, the inline chart, the Excel files."""
    message = EmailMessage()
    message["Subject"] = subject(report)
    message["From"] = sender
    message["To"] = recipient
    cid = make_msgid(domain="sales-analytics.local")
    message.set_content(render_text(report, public_url))
    message.add_alternative(render_html(report, public_url, cid[1:-1]), subtype="html")
    parts = message.get_payload()
    assert isinstance(parts, list)
    html_part = parts[1]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(report.chart(), "image", "png", cid=cid, filename="net-sales.png")
    for attachment in report.attachments():
        message.add_attachment(attachment.data, "application", XLSX, filename=attachment.file_name)
    return message
