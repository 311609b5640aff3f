"""The embedded store for real: transactions, identity, crash safety, concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from core.store import Scope, StoreError, Window
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import ROOT, to_stored

END = date(2026, 6, 30)


@pytest.fixture(scope="module")
def lines() -> pl.DataFrame:
    return to_stored(generate_sales(5_000, seed=3, end=END, years=1))


def _totals(store: EmbeddedStore, window: Window | None = None) -> dict[str, float]:
    return store.aggregate(Scope(), window, measures=("net_sales", "lines", "orders")).row(
        0, named=True
    )


def test_empty_store_answers_zero(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    assert store.date_range(Scope()) is None
    assert _totals(store) == {"net_sales": 0.0, "lines": 0, "orders": 0}
    assert store.aggregate(Scope(), None, by=("branch",)).is_empty()


def test_append_then_reload_does_not_double_count(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    first = store.write(lines, "append")
    assert (first.inserted, first.updated) == (len(lines), 0)
    before = _totals(store)
    again = store.write(lines, "append")
    assert (again.inserted, again.updated) == (0, len(lines))
    assert _totals(store) == before
    assert before["lines"] == len(lines)
    assert before["net_sales"] == pytest.approx(lines["net_sales"].sum(), abs=0.005)


def test_reloaded_line_replaces_its_old_version(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    corrected = lines.head(1).with_columns(
        discount=pl.lit(0.0),
        net_sales=pl.col("gross_sales"),
        gross_profit=pl.col("gross_sales") - pl.col("cogs"),
    )
    delta = corrected["net_sales"][0] - lines["net_sales"][0]
    result = store.write(corrected, "append")
    assert (result.inserted, result.updated) == (0, 1)
    assert _totals(store)["lines"] == len(lines)
    assert _totals(store)["net_sales"] == pytest.approx(lines["net_sales"].sum() + delta, abs=0.005)


def test_replace_swaps_exactly_the_window(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    march = Window(date(2026, 3, 1), date(2026, 3, 31))
    in_march = lines.filter(pl.col("sale_date").is_between(march.start, march.end))
    outside_before = _totals(store, Window(date(2025, 1, 1), date(2026, 2, 28)))
    replacement = in_march.head(10)
    result = store.write(replacement, "replace", march)
    assert result.replaced == len(in_march)
    assert _totals(store, march)["lines"] == 10
    assert _totals(store, march)["net_sales"] == pytest.approx(
        replacement["net_sales"].sum(), abs=0.005
    )
    assert _totals(store, Window(date(2025, 1, 1), date(2026, 2, 28))) == outside_before


def test_replace_refuses_lines_outside_the_window(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    before = _totals(store)
    with pytest.raises(StoreError, match="fall outside the range"):
        store.write(lines, "replace", Window(date(2026, 3, 1), date(2026, 3, 31)))
    assert _totals(store) == before


def test_member_filters_and_restriction(tmp_path: Path, lines: pl.DataFrame) -> None:
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    branch = sorted(lines["branch"].unique())[0]
    other = sorted(lines["branch"].unique())[1]
    expected = lines.filter(pl.col("branch") == branch)["net_sales"].sum()
    only = store.aggregate(Scope(branches=(branch,)), None, measures=("net_sales",)).item()
    assert only == pytest.approx(expected, abs=0.005)
    restricted = Scope(branches=(other,), allowed_branches=(branch,))
    assert store.aggregate(restricted, None, measures=("lines",)).item() == 0
    assert store.distinct_values("branch", Scope(allowed_branches=(branch,))) == [branch]


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import date
    import polars as pl
    from core.schema import CANONICAL_COLUMNS, with_derived_measures
    from core.stores.embedded import EmbeddedStore
    from ingest.sample import generate_sales
    from tests.conftest import to_stored
    lines = to_stored(generate_sales(int(sys.argv[2]), seed=7, end=date(2026, 6, 30)))
    lines = with_derived_measures(
        lines.select(CANONICAL_COLUMNS).with_columns(invoice_id="K-" + pl.col("invoice_id"))
    )
    print(lines["net_sales"].sum(), flush=True)
    EmbeddedStore(sys.argv[1]).write(lines, "append")
    print("written", flush=True)
    """
)


def _data_files(path: Path) -> set[str]:
    # Delta writes a data file under a temporary name ("...parquet#1") and
    # renames it when complete; the commit in _delta_log comes after both.
    return {str(p) for p in path.rglob("*") if p.is_file() and "_delta_log" not in p.parts}


@pytest.mark.slow
def test_latest_values_follow_the_most_recent_line(tmp_path: Path) -> None:
    from core.schema import with_derived_measures
    from tests.fixtures.hand_fixture import canonical_frame

    base = canonical_frame().filter(pl.col("customer_id") == "K01").sort("sold_at")
    # K01 renamed on its last invoice; its first invoice carries a different type.
    renamed = base.with_columns(
        customer_name=pl.when(pl.col("sold_at") == pl.col("sold_at").max())
        .then(pl.lit("Baraka Traders Ltd"))
        .otherwise(pl.lit("Baraka Traders")),
        customer_type=pl.when(pl.col("sold_at") == pl.col("sold_at").min())
        .then(pl.lit("Retail"))
        .otherwise(pl.lit("Wholesale")),
    )
    store = EmbeddedStore(tmp_path / "sales")
    assert store.aggregate(
        Scope(), None, measures=("lines",), latest=("customer_name",)
    ).to_dicts() == [{"lines": 0, "customer_name": None}]
    store.write(with_derived_measures(renamed), "append")
    by_customer = store.aggregate(
        Scope(), None, ("customer_id",), measures=("lines",),
        latest=("customer_name", "customer_type"),
    )  # fmt: skip
    assert by_customer.to_dicts() == [
        {
            "customer_id": "K01",
            "lines": base.height,
            "customer_name": "Baraka Traders Ltd",
            "customer_type": "Wholesale",
        }
    ]
    first_only = Window(base["sold_at"].min().date(), base["sold_at"].min().date())
    early = store.aggregate(Scope(), first_only, ("customer_id",), latest=("customer_type",))
    assert early["customer_type"].to_list() == ["Retail"]
    with pytest.raises(ValueError, match="not a latest-value column"):
        store.aggregate(Scope(), None, latest=("invoice_id",))


def test_killed_writer_leaves_old_data_readable(tmp_path: Path, lines: pl.DataFrame) -> None:
    """A writer killed while writing data files leaves the store as it was."""
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    store.write(lines, "append")
    before = _totals(store)
    files_before = _data_files(path)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "800000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert writer.stdout is not None
    float(writer.stdout.readline())
    deadline = time.monotonic() + 120
    while not (_data_files(path) - files_before) and time.monotonic() < deadline:
        time.sleep(0.002)
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    assert _data_files(path) - files_before, "the writer never started writing data"
    assert _totals(store) == before
    assert store.count_lines(Scope(), None) == len(lines)
    retry = store.write(lines, "append")
    assert (retry.inserted, retry.updated) == (0, len(lines))
    assert _totals(store) == before
    # The killed write itself, run again, lands exactly once: its orphaned files never count.
    again = subprocess.run(
        [sys.executable, "-c", WRITER, str(path), "800000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    after = _totals(store)
    assert after["lines"] == len(lines) + 800_000
    assert after["net_sales"] == pytest.approx(
        before["net_sales"] + float(again.stdout.splitlines()[0]), abs=0.5
    )


def test_concurrent_writers_are_serialised(tmp_path: Path) -> None:
    path = tmp_path / "sales"
    batches = [to_stored(generate_sales(3_000, seed=s, end=END, years=1)) for s in (21, 22, 23)]
    # Seeds give disjoint invoice numbers only by chance: make them distinct.
    batches = [
        b.with_columns(invoice_id=pl.lit(f"S{i}-") + pl.col("invoice_id"))
        for i, b in enumerate(batches)
    ]
    from core.schema import CANONICAL_COLUMNS, with_derived_measures

    batches = [with_derived_measures(b.select(CANONICAL_COLUMNS)) for b in batches]
    errors: list[BaseException] = []

    def write(batch: pl.DataFrame) -> None:
        try:
            EmbeddedStore(path).write(batch, "append")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    totals = _totals(EmbeddedStore(path))
    assert totals["lines"] == sum(len(b) for b in batches)
    assert totals["net_sales"] == pytest.approx(
        sum(b["net_sales"].sum() for b in batches), abs=0.01
    )


def test_read_only_directory_gives_clear_error(tmp_path: Path, lines: pl.DataFrame) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    store.write(lines.head(100), "append")
    os.chmod(path, 0o555)
    try:
        with pytest.raises(StoreError):
            store.write(lines.tail(100), "append")
    finally:
        os.chmod(path, 0o755)
    assert _totals(store)["lines"] == 100


def test_customer_ids_come_from_the_file_or_else_the_lines(
    tmp_path: Path, lines: pl.DataFrame
) -> None:
    """Grouped by customer, ids are joined from the file beside the table; a file that
    lags the lines (missing, or written before a later batch) costs time, not ids."""
    from core.stores.customer_ids import ids_file

    path = tmp_path / "sales"
    store = EmbeddedStore(path)
    early = lines.filter(pl.col("sale_date") < date(2026, 1, 1))
    store.write(early, "append")
    recorded = pl.read_parquet(ids_file(path))
    expected_pairs = early.select("customer_key", "customer_id").drop_nulls().unique()
    assert recorded.sort("customer_key").equals(expected_pairs.sort("customer_key"))

    store.write(lines.filter(pl.col("sale_date") >= date(2026, 1, 1)), "append")
    expected = (
        lines.group_by("customer_id")
        .agg(net_sales=pl.col("net_sales").sum(), lines=pl.len())
        .sort("customer_id", nulls_last=True)
    )

    def by_customer() -> pl.DataFrame:
        return store.aggregate(Scope(), None, ("customer_id",), measures=("net_sales", "lines"))

    def check(answer: pl.DataFrame) -> None:
        assert answer["customer_id"].to_list() == expected["customer_id"].to_list()
        assert answer["lines"].to_list() == expected["lines"].to_list()
        assert answer["net_sales"].to_list() == pytest.approx(expected["net_sales"].to_list())

    check(by_customer())
    assert expected["customer_id"].null_count() == 1  # walk-ins keep a null id
    # The file as it was after the first batch only: the later customers from the lines.
    recorded.write_parquet(ids_file(path))
    check(by_customer())
    ids_file(path).unlink()
    check(by_customer())
    # A file that cannot be read is the same as none.
    ids_file(path).write_bytes(b"not parquet")
    check(by_customer())
    # The next write starts the file again from its own lines.
    store.write(lines.head(10), "append")
    check(by_customer())
    assert pl.read_parquet(ids_file(path)).height > 0


def _latest_by_sorting(
    lines: pl.DataFrame, by: list[str], column: str, grain: str | None
) -> pl.DataFrame:
    """The latest-value rule written plainly: per group, sort the lines that have a
    value by time (newest first), ties by the value, and take the first."""
    frame = lines
    if grain is not None:
        local = pl.col("sold_at").dt.convert_time_zone("Africa/Nairobi").dt.date()
        frame = frame.with_columns(period=local.dt.truncate("1mo"))
        by = [*by, "period"]
    groups = frame.select(by).unique() if by else pl.DataFrame({"_": [0]})
    ordered = frame.filter(pl.col(column).is_not_null()).sort(
        ["sold_at", column], descending=[True, False]
    )
    if not by:
        return pl.DataFrame({column: [ordered[column].first() if ordered.height else None]})
    picked = ordered.unique(by, keep="first", maintain_order=True).select(*by, column)
    return groups.join(picked, on=by, how="left", nulls_equal=True).sort(by, nulls_last=True)


@pytest.mark.parametrize("few_groups", [32, 0], ids=["filter", "join"])
def test_latest_values_match_the_plain_rule(
    tmp_path: Path, lines: pl.DataFrame, few_groups: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Latest values against a plain sort, with the cases the fast path hands on to the
    slow one: the last line of a group without a value, and two values at one moment;
    the groups looked up again by a filter on their keys and by a join."""
    from core.stores import latest

    monkeypatch.setattr(latest, "FEW_GROUPS", few_groups)
    from core.schema import CANONICAL_COLUMNS, with_derived_measures

    # A newest invoice of two lines: no customer type, two names for its customer at one moment.
    donor = lines.filter(pl.col("customer_id").is_not_null()).sort("sold_at").tail(2)
    newest = donor.select(CANONICAL_COLUMNS).with_columns(
        invoice_id=pl.lit("Z-NEWEST"),
        line_no=pl.Series([1, 2]),
        sold_at=lines["sold_at"].max() + timedelta(hours=1),
        customer_id=pl.lit(donor["customer_id"].last()),
        customer_type=pl.lit(None, dtype=pl.String),
        customer_name=pl.Series(["ZZZ last by value", "AAA first by value"]),
    )
    doctored = pl.concat([lines, with_derived_measures(newest).select(lines.columns)])
    store = EmbeddedStore(tmp_path / "sales")
    store.write(doctored, "append")
    for by, grain in [((), None), (("customer_id",), None), (("branch",), "month"), ((), "month")]:
        for column in ("customer_name", "customer_type", "product_name"):
            answer = store.aggregate(Scope(), None, by, grain, ("lines",), latest=(column,))
            keys = [*by, "period"] if grain else list(by)
            expected = _latest_by_sorting(doctored, list(by), column, grain)
            got = answer.select(*keys, column).sort(keys, nulls_last=True) if keys else answer
            assert got.select(*keys, column).to_dicts() == expected.to_dicts(), (by, grain, column)
    overall = store.aggregate(Scope(), None, measures=(), latest=("customer_name", "customer_type"))
    assert overall["customer_name"].item() == "AAA first by value"
    assert overall["customer_type"].item() is not None  # from an older invoice


def test_distinct_values_follow_updates_and_scopes(tmp_path: Path, lines: pl.DataFrame) -> None:
    """Pickers' values from the files' dictionaries (no filter, or one on the same column)
    or from the lines (other filters): the same as the stored lines', also after an
    update has removed a value from every line."""
    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    renamed_from = lines["product_line"].unique().sort()[0]
    corrected = lines.filter(pl.col("product_line") == renamed_from).with_columns(
        product_line=pl.lit("Renamed line")
    )
    store.write(corrected, "append")
    stored = pl.concat(
        [lines.filter(pl.col("product_line") != renamed_from), corrected], how="vertical"
    )
    branch = stored["branch"].unique().sort()[0]
    salesperson = stored["salesperson"].unique().sort()[0]
    scopes = {
        "everything": (Scope(), pl.lit(True)),
        "restricted": (Scope(allowed_branches=(branch, "Nowhere")), pl.col("branch") == branch),
        "one salesperson": (
            Scope(salespeople=(salesperson,)),
            pl.col("salesperson") == salesperson,
        ),
    }
    for column in ("branch", "product_line", "product_id", "salesperson", "customer_id"):
        for name, (scope, condition) in scopes.items():
            expected = stored.filter(condition)[column].drop_nulls().unique().sort().to_list()
            assert store.distinct_values(column, scope) == expected, (column, name)
    assert renamed_from not in store.distinct_values("product_line", Scope())


def test_two_ids_sharing_a_key_are_refused(tmp_path: Path, lines: pl.DataFrame) -> None:
    """Keys stand for ids in every grouping: a clash (two invoices, one key, one line
    number) refuses the write instead of merging their lines."""
    import pandera.errors

    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines, "append")
    before = _totals(store)
    clash = lines.head(2).with_columns(
        invoice_id=pl.Series(["CLASH-1", "CLASH-2"]),
        invoice_key=pl.lit(42, dtype=pl.Int64),
        line_no=pl.lit(1, dtype=pl.Int64),
    )
    with pytest.raises(pandera.errors.SchemaError, match=r"duplicate \(invoice_key, line_no\)"):
        store.write(clash, "append")
    assert _totals(store) == before


def test_a_blank_customer_id_is_refused_and_nothing_is_written(
    tmp_path: Path, lines: pl.DataFrame
) -> None:
    """A walk-in is a null id; a blank one would be counted as a customer by both stores."""
    import pandera.errors

    store = EmbeddedStore(tmp_path / "sales")
    store.write(lines.head(20), "append")
    blank = lines.slice(20, 5).with_columns(customer_id=pl.lit(""))
    with pytest.raises(pandera.errors.SchemaError, match="customer_id"):
        store.write(blank, "append")
    assert _totals(store)["lines"] == 20
