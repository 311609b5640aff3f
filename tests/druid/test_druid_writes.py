"""Writing to a real Druid: the same write sequence on both stores leaves the same data.

Uses the hand-worked fixture (time-zone edges at month ends, returns,
walk-ins). Each test gets fresh datasources; an `EmbeddedStore` receives the
same writes and is the reference for what the Druid store must then hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from core.exports import AREAS, MODELLED_AREAS, PIPELINE_AREA_NAMES
from core.filters import Filters
from core.kpi.view import resolve_view
from core.schema import with_derived_measures
from core.store import DIMENSIONS, MEASURES, Scope, StoreError, Window
from core.stores import druid_chunks, druid_ingest, druid_segments, druid_tasks
from core.stores.druid import DruidStore
from core.stores.druid_http import DruidClient
from core.stores.embedded import EmbeddedStore
from ingest.renames import renames
from tests.druid.parity import assert_same
from tests.fixtures.hand_fixture import canonical_frame

pytestmark = pytest.mark.druid

Q1_2025 = Window(date(2025, 1, 1), date(2025, 3, 31))


def hand_lines() -> pl.DataFrame:
    return with_derived_measures(canonical_frame())


FIRST_SALES = (Scope(), None, ("customer_id",), None, ("first_sale",))


def assert_stores_equal(druid: DruidStore, embedded: EmbeddedStore, label: str) -> None:
    """Same lines: per invoice line everything stored, every export area, and every
    customer's first sale (as kept for the version just written)."""
    assert_same(
        druid.aggregate(*FIRST_SALES), embedded.aggregate(*FIRST_SALES), f"{label}: first sales"
    )
    every = ("invoice_id", "product_id", "branch", "salesperson")
    assert_same(
        druid.aggregate(Scope(), None, every, "day", MEASURES),
        embedded.aggregate(Scope(), None, every, "day", MEASURES),
        f"{label}: lines",
    )
    for column in DIMENSIONS:
        assert druid.distinct_values(column, Scope()) == embedded.distinct_values(column, Scope())
    view = resolve_view(embedded, Filters(Q1_2025.start, Q1_2025.end, "month", "previous"))
    for area, table in AREAS.items():
        # A model fit (its inputs are the daily sums checked above) or the opportunities.
        if area in MODELLED_AREAS | PIPELINE_AREA_NAMES:
            continue
        assert_same(table(druid, view), table(embedded, view), f"{label}: {area}")


@pytest.fixture
def pair(
    datasource_factory: Callable[[str], DruidStore], tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[DruidStore, EmbeddedStore]:
    purpose = request.node.name.removeprefix("test_").split("[")[0][:24]
    return datasource_factory(purpose), EmbeddedStore(tmp_path / "sales")


def test_hand_fixture_parity_and_reload_does_not_double_count(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    lines = hand_lines()
    first = druid.write(lines, "append")
    embedded.write(lines, "append")
    assert (first.inserted, first.updated) == (len(lines), 0)
    assert_stores_equal(druid, embedded, "first load")
    # INV-104 at 23:30 on 31 January (Nairobi) is a January sale; INV-110 at 00:30 on
    # 1 March is a March sale although it is still February in UTC.
    by_month = druid.aggregate(Scope(), Q1_2025, ("salesperson",), "month", ("net_sales",))
    assert by_month.filter(pl.col("salesperson") == "Alice")["net_sales"].to_list() == [
        4100.0,
        0.0,
        600.0,
    ]
    version = druid.data_version()

    again = druid.write(lines, "append")
    assert (again.inserted, again.updated) == (0, len(lines))
    assert druid.count_lines(Scope(), None) == len(lines)
    assert_stores_equal(druid, embedded, "reloaded")
    assert druid.data_version() != version


def test_append_updates_a_line_that_moved_to_another_month(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    lines = hand_lines()
    for store in pair:
        store.write(lines, "append")
    # INV-001/1 (January 2024) is corrected: it was really sold in June 2025, 5 units.
    corrected = (
        canonical_frame()
        .filter(pl.col("invoice_id") == "INV-001")
        .with_columns(
            sold_at=pl.lit(datetime(2025, 6, 3, 7, 0, tzinfo=UTC)).dt.cast_time_unit("us"),
            quantity=pl.lit(5.0),
        )
    )
    new_line = (
        canonical_frame()
        .filter(pl.col("invoice_id") == "INV-114")
        .with_columns(invoice_id=pl.lit("INV-200"))
    )
    batch = with_derived_measures(pl.concat([corrected, new_line]))
    result = druid.write(batch, "append")
    embedded.write(batch, "append")
    assert (result.inserted, result.updated) == (1, 1)
    assert druid.count_lines(Scope(), None) == len(lines) + 1
    assert druid.count_lines(Scope(), Window(date(2024, 1, 1), date(2024, 1, 31))) == 0
    assert_stores_equal(druid, embedded, "after the move")


def test_replace_a_window_keeps_the_rest_of_its_months(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    for store in pair:
        store.write(hand_lines(), "append")
    # Replace 2025-02-12..2025-03-04: cuts February and March in two (Nairobi days),
    # and the UTC month chunks hold lines on both sides of the window.
    window = Window(date(2025, 2, 12), date(2025, 3, 4))
    replacement = (
        hand_lines()
        .filter(pl.col("invoice_id").is_in(["INV-106", "INV-110"]))
        .with_columns(discount=pl.lit(0.0))
    )
    replacement = with_derived_measures(
        replacement.drop(
            "sale_date",
            "gross_sales",
            "net_sales",
            "cogs",
            "gross_profit",
            "invoice_key",
            "customer_key",
        )
    )
    result = druid.write(replacement, "replace", window)
    embedded_result = embedded.write(replacement, "replace", window)
    assert result == embedded_result
    assert_stores_equal(druid, embedded, "after replace")

    # Replacing with nothing deletes the window; whole months go by marking segments unused.
    for store in pair:
        store.write(replacement.clear(), "replace", Window(date(2024, 12, 1), date(2024, 12, 31)))
    assert druid.count_lines(Scope(), Window(date(2024, 12, 1), date(2024, 12, 31))) == 0
    assert_stores_equal(druid, embedded, "after deleting December")


def test_replace_refuses_what_the_embedded_store_refuses(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, _ = pair
    druid.write(hand_lines(), "append")
    inside = Window(date(2025, 1, 1), date(2025, 1, 31))
    with pytest.raises(StoreError, match="fall outside the range"):
        druid.write(hand_lines(), "replace", inside)
    moved = hand_lines().filter(pl.col("invoice_id") == "INV-101")  # stored on 2025-01-02
    with pytest.raises(StoreError, match="already stored outside"):
        druid.write(
            moved.with_columns(sale_date=pl.lit(date(2025, 1, 20))),
            "replace",
            Window(date(2025, 1, 10), date(2025, 1, 31)),
        )
    assert druid.count_lines(Scope(), None) == len(hand_lines())


def test_failed_task_reports_druids_reason_and_changes_nothing(
    pair: tuple[DruidStore, EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    druid, _ = pair
    lines = hand_lines()
    druid.write(lines, "append")
    before = druid.aggregate(Scope(), None, ("branch",), "month")
    version = druid.data_version()
    # Fault injection: leave one month out of the REPLACE, so the task meets a row outside
    # the months it may overwrite and Druid itself fails it (InsertTimeOutOfBounds).
    real = druid_ingest.replace_sql

    def short_of_a_month(
        datasource: str, chunks: list[druid_chunks.Chunk], *args: object, **kw: object
    ) -> str:
        return real(datasource, list(chunks)[:-1], *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(druid_ingest, "replace_sql", short_of_a_month)
    with pytest.raises(StoreError) as failure:
        druid.write(lines.with_columns(quantity=pl.col("quantity") * 2), "append")
    assert "failed: Inserted data contains time chunk" in str(failure.value)
    assert druid.data_version() == version
    assert_same(
        druid.aggregate(Scope(), None, ("branch",), "month"), before, "after a failed write"
    )


def test_values_are_parameters_never_sql(pair: tuple[DruidStore, EmbeddedStore]) -> None:
    druid, embedded = pair
    hostile = "O'Brien\"; DROP TABLE x; --"
    lines = hand_lines().head(3).with_columns(branch=pl.lit(hostile), customer_name=pl.lit("a'b"))
    for store in pair:
        store.write(lines, "append")
    assert druid.distinct_values("branch", Scope()) == [hostile]
    assert druid.count_lines(Scope(branches=(hostile,)), None) == 3
    assert druid.count_lines(Scope(branches=("x' OR '1'='1",)), None) == 0
    assert_same(
        druid.aggregate(Scope(branches=(hostile,)), None, ("customer_name",)),
        embedded.aggregate(Scope(branches=(hostile,)), None, ("customer_name",)),
        "hostile values",
    )


def test_empty_datasource_answers_like_an_empty_store(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    assert druid.date_range(Scope()) is None
    assert druid.count_lines(Scope(), None) == 0
    assert druid.distinct_values("branch", Scope()) == []
    assert druid.data_version() == "empty"
    assert_same(druid.aggregate(Scope(), None), embedded.aggregate(Scope(), None), "empty headline")
    assert_same(
        druid.aggregate(Scope(), None, ("branch",), "month"),
        embedded.aggregate(Scope(), None, ("branch",), "month"),
        "empty grouped",
    )


# Shapes of query whose orders come from invoice heads, and some that must count distinct.
ORDER_SHAPES: tuple[tuple[tuple[str, ...], Scope], ...] = (
    ((), Scope()),
    (("salesperson",), Scope()),
    (("customer_id",), Scope(branches=("Nairobi", "Mombasa"))),
    (("product_line",), Scope()),
    (("product_id",), Scope(salespeople=("Brian", "Alice"))),
    ((), Scope(product_lines=("Dairy",))),
    ((), Scope(product_lines=("Dairy", "Beverages"))),
    (("branch",), Scope(products=("B2",))),
)


def stored_flags(druid: DruidStore, invoices: list[str]) -> list[tuple[object, ...]]:
    _, rows = druid.client.sql(
        'SELECT "invoice_id", "line_no", "invoice_head", "line_head", "invoice_uniform" '
        f'FROM "{druid.datasource}" WHERE "invoice_id" IN ({", ".join("?" * len(invoices))})',
        [{"type": "VARCHAR", "value": v} for v in invoices],
    )
    return sorted(tuple(row) for row in rows)  # a Druid scan orders by time only


def assert_orders_equal(druid: DruidStore, embedded: EmbeddedStore, label: str) -> None:
    for by, scope in ORDER_SHAPES:
        for grain in (None, "day"):
            assert_same(
                druid.aggregate(scope, Q1_2025, by, grain, ("orders", "net_sales")),
                embedded.aggregate(scope, Q1_2025, by, grain, ("orders", "net_sales")),
                f"{label}: orders by {by} {grain} in {scope}",
            )


def test_orders_stay_exact_when_invoices_split_and_heads_move(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    druid, embedded = pair
    # INV-113's only line is stored as line 2, so a line 1 arriving later takes the head.
    base = canonical_frame().with_columns(
        line_no=pl.when(pl.col("invoice_id") == "INV-113").then(2).otherwise(pl.col("line_no"))
    )
    for store in pair:
        store.write(with_derived_measures(base), "append")
    new_head = base.filter(pl.col("invoice_id") == "INV-113").with_columns(
        line_no=pl.lit(1, pl.Int64), product_line=pl.lit("Beverages"), product_id=pl.lit("B2")
    )
    batch = pl.concat(
        [
            # A second salesperson on INV-111: the invoice is no longer uniform.
            base.filter(pl.col("invoice_id") == "INV-111", pl.col("line_no") == 2).with_columns(
                line_no=pl.lit(3, pl.Int64), salesperson=pl.lit("Alice")
            ),
            # A line 1 on INV-113: the head moves to it from the stored line 2.
            new_head,
            # A line of INV-112 on the next day.
            base.filter(pl.col("invoice_id") == "INV-112").with_columns(
                line_no=pl.lit(2, pl.Int64), sold_at=pl.col("sold_at") + pl.duration(days=1)
            ),
        ]
    )
    for store in pair:
        store.write(with_derived_measures(batch), "append")
    assert stored_flags(druid, ["INV-111", "INV-112", "INV-113"]) == [
        ("INV-111", 1, 1, 1, 0),
        ("INV-111", 2, 0, 1, 0),
        ("INV-111", 3, 0, 0, 0),
        ("INV-112", 1, 1, 1, 0),
        ("INV-112", 2, 0, 0, 0),
        ("INV-113", 1, 1, 1, 1),
        ("INV-113", 2, 0, 1, 1),
    ]
    assert_orders_equal(druid, embedded, "split and moved")
    assert_stores_equal(druid, embedded, "split and moved")

    # Replacing 19-31 March drops INV-112's second day: its first line is uniform again.
    window = Window(date(2025, 3, 19), date(2025, 3, 31))
    kept = pl.concat([base.filter(pl.col("invoice_id").is_in(["INV-113", "INV-114"])), new_head])
    for store in pair:
        store.write(with_derived_measures(kept), "replace", window)
    assert stored_flags(druid, ["INV-112"]) == [("INV-112", 1, 1, 1, 1)]
    assert_orders_equal(druid, embedded, "after the replace")
    assert_stores_equal(druid, embedded, "after the replace")


def test_a_month_written_before_the_flags_makes_orders_an_exact_count(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    """Lines without `invoice_uniform` (segments written before the flags) are unsure lines.

    February is rewritten as a datasource of before the flags held it: no
    `invoice_uniform`, and every line an invoice head, so a sum of heads
    would count each line as an order. Only the unsure count sends `orders`
    to an exact distinct count.
    """
    druid, embedded = pair
    for store in pair:
        store.write(hand_lines(), "append")
    february = [druid_chunks.Chunk(date(2025, 2, 1))]
    in_february = druid_chunks.chunk_condition(february)
    write_id = druid_tasks.new_write_id()
    columns = [
        f'"{c}"'
        for c in druid_ingest.DATASOURCE_COLUMNS
        if c not in ("invoice_uniform", "invoice_head", "write_id")
    ]
    druid_tasks.run_task(
        druid.client,
        f'REPLACE INTO "{druid.datasource}" OVERWRITE WHERE {in_february}\n'
        f'SELECT "__time", {", ".join(columns)}, 1 AS "invoice_head", '
        f"'{write_id}' AS \"write_id\"\n"
        f'FROM "{druid.datasource}" WHERE {in_february}\nPARTITIONED BY MONTH',
        lambda _stage, _fraction: None,
    )
    druid_chunks.wait_queryable(druid.client, druid.datasource, february, write_id, {"2025-02": 7})
    heads = druid.client.sql(
        f'SELECT SUM("invoice_head"), COUNT(*), COUNT("invoice_uniform") FROM "{druid.datasource}" '
        "WHERE \"__time\" >= TIMESTAMP '2025-02-01' AND \"__time\" < TIMESTAMP '2025-03-01'"
    )[1]
    assert heads == [[7, 7, 0]]  # seven heads over six invoices, none flagged uniform
    assert_orders_equal(druid, embedded, "a month without flags")


def test_latest_values_agree_when_names_change(pair: tuple[DruidStore, EmbeddedStore]) -> None:
    druid, embedded = pair
    base = canonical_frame()
    last_of_k01 = base.filter(pl.col("customer_id") == "K01")["sold_at"].max()
    renamed = base.with_columns(
        customer_name=pl.when(pl.col("sold_at") == last_of_k01)
        .then(pl.lit("Baraka Traders Ltd"))
        .otherwise(pl.col("customer_name")),
        product_name=pl.when(pl.col("product_id") == "B1", pl.col("sold_at") == last_of_k01)
        .then(pl.lit("Soda 500ml (new label)"))
        .otherwise(pl.col("product_name")),
    )
    for store in pair:
        store.write(with_derived_measures(renamed), "append")
    for by, latest in ((("customer_id",), ("customer_name", "customer_type")),
                       (("product_id",), ("product_name", "product_line")),
                       ((), ("customer_name",))):  # fmt: skip
        assert_same(
            druid.aggregate(Scope(), None, by, None, ("lines", "last_sale"), latest),
            embedded.aggregate(Scope(), None, by, None, ("lines", "last_sale"), latest),
            f"latest {latest} by {by}",
        )
    assert_stores_equal(druid, embedded, "renamed")
    # What a later file would rename, as the upload page asks each store before writing.
    later = with_derived_measures(
        renamed.filter(pl.col("sold_at") == last_of_k01).with_columns(
            invoice_id=pl.lit("LATER-") + pl.col("invoice_id"),
            sold_at=pl.col("sold_at") + pl.duration(days=30),
            customer_name=pl.lit("Baraka Group"),
        )
    )
    assert_same(renames(later, druid), renames(later, embedded), "renames")
    assert renames(later, embedded).filter(pl.col("change") == "customer name").rows() == [
        ("customer name", "K01", "Baraka Traders Ltd", "Baraka Group")
    ]


def test_customers_per_member_count_lines_without_a_member(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    """Distinct customers by a column of few members come from a mask per customer
    (druid_sql.customer_masks), one bit of which is for lines without a member: a known
    customer's line with no type or payment method counts in that column's empty group."""
    druid, embedded = pair
    base = canonical_frame()
    blanks = base.with_columns(
        customer_type=pl.when(pl.col("customer_id") == "K02").then(None).otherwise("customer_type"),
        payment_method=pl.when(pl.col("customer_id").is_in(["K01", "K03"]))
        .then(None)
        .otherwise("payment_method"),
    )
    for store in pair:
        store.write(with_derived_measures(blanks), "append")
    for column in ("customer_type", "payment_method", "branch", "product_line"):
        for window in (None, Q1_2025):
            assert_same(
                druid.aggregate(Scope(), window, (column,), None, ("net_sales", "customers")),
                embedded.aggregate(Scope(), window, (column,), None, ("net_sales", "customers")),
                f"customers by {column} in {window}",
            )
    by_type = druid.aggregate(Scope(), None, ("customer_type",), None, ("lines", "customers"))
    assert by_type.filter(pl.col("customer_type").is_null())["customers"].to_list() == [1]


def test_a_task_whose_worker_dies_is_submitted_again(
    pair: tuple[DruidStore, EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task whose worker goes away publishes nothing and is submitted again.

    Druid 27 then either fails the task (WorkerFailed, WorkerRpcFailed) or
    leaves its controller waiting forever for the worker (as when a worker
    exits before the Overlord knows its controller): the write must land
    either way. The fault is real: the first task's worker is shut down
    through the Overlord as soon as it runs.
    """
    druid, embedded = pair
    monkeypatch.setattr(druid_tasks, "STALL_SECONDS", 5.0)
    real_submit = druid_tasks._submit
    stalled: list[str] = []

    def submit_and_kill_the_first_worker(client: DruidClient, sql: str) -> str:
        task_id = real_submit(client, sql)
        if not stalled:
            stalled.append(task_id)
            worker = f"{task_id}-worker0_0"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                running = client.request("GET", "/druid/indexer/v1/runningTasks") or []
                if any(task["id"] == worker for task in running):
                    break
                time.sleep(0.2)
            client.request("POST", f"/druid/indexer/v1/task/{worker}/shutdown", idempotent=False)
        return task_id

    monkeypatch.setattr(druid_tasks, "_submit", submit_and_kill_the_first_worker)
    lines = hand_lines()
    druid.write(lines, "append")
    embedded.write(lines, "append")
    assert stalled, "the fault was injected"
    status = druid.client.request("GET", f"/druid/indexer/v1/task/{stalled[0]}/status")
    assert status["status"]["statusCode"] == "FAILED", "the first task did not publish"
    assert_stores_equal(druid, embedded, "after a resubmitted write")


def fingerprint(druid: DruidStore) -> str | None:
    return druid_segments.listed(druid.client, druid.datasource).fingerprint


def test_first_sales_follow_every_write_and_a_deletion_by_another_process(
    pair: tuple[DruidStore, EmbeddedStore],
) -> None:
    """Every customer's first sale is kept per fingerprint of the published segments: a
    write of this store, and a month deleted by another process (a second app, the
    command line, an operator in Druid's console), each make the next read group again."""
    druid, embedded = pair
    for store in pair:
        store.write(hand_lines(), "append")
    truth = embedded.aggregate(*FIRST_SALES)
    assert truth.height > 1 and truth["customer_id"].null_count() == 1  # walk-ins: a null id
    assert_same(druid.aggregate(*FIRST_SALES), truth, "after the first write")
    current = fingerprint(druid)
    # A write that changes nothing publishes nothing: the kept answer stays current.
    druid.write(hand_lines().clear(), "replace", Window(date(2030, 1, 1), date(2030, 1, 31)))
    assert fingerprint(druid) == current
    for store in pair:
        store.write(earlier_sale(), "append")
    moved = druid.aggregate(*FIRST_SALES)
    assert moved["first_sale"].min() == date(2023, 6, 15), "the earlier sale is read"
    assert_same(moved, embedded.aggregate(*FIRST_SALES), "after an earlier sale")
    # January 2024 holds one line, the first sale of its customer: deleted behind the store.
    months = [druid_chunks.Chunk(date(2024, 1, 1))]
    druid_chunks.mark_unused(druid.client, druid.datasource, months)
    druid_chunks.wait_empty(druid.client, druid.datasource, months)
    lines = pl.concat([earlier_sale(), hand_lines()])
    kept = lines.filter(
        (pl.col("sold_at") < datetime(2024, 1, 1, tzinfo=UTC))
        | (pl.col("sold_at") >= datetime(2024, 2, 1, tzinfo=UTC))
    )
    everything = Window(lines["sale_date"].min(), lines["sale_date"].max())  # type: ignore[arg-type]
    embedded.write(kept, "replace", everything)
    assert_same(
        druid.aggregate(*FIRST_SALES), embedded.aggregate(*FIRST_SALES), "after the deletion"
    )
    # A filter changes who bought first: filtered scopes group their own lines.
    nairobi = Scope(branches=("Nairobi",))
    assert_same(
        druid.aggregate(nairobi, None, ("customer_id",), None, ("first_sale",)),
        embedded.aggregate(nairobi, None, ("customer_id",), None, ("first_sale",)),
        "first sales in one branch",
    )


def earlier_sale() -> pl.DataFrame:
    """A line sold to a known customer before any line of the fixture: it moves that
    customer's first sale, so a stale record would answer differently."""
    line = canonical_frame().filter(pl.col("customer_id").is_not_null()).head(1)
    assert line["sold_at"].min() > datetime(2023, 6, 15, tzinfo=UTC)  # type: ignore[operator]
    return with_derived_measures(
        line.with_columns(
            invoice_id=pl.lit("INV-EARLY"),
            sold_at=pl.lit(datetime(2023, 6, 15, 9, 0, tzinfo=UTC)).dt.cast_time_unit(
                line.schema["sold_at"].time_unit  # type: ignore[attr-defined]
            ),
        )
    )
