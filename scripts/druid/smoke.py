#!/usr/bin/env python3
"""Smoke test for a running local Druid (scripts/druid/druid-local up). Standard library only.

1. SQL-based (MSQ) ingestion of inline CSV via POST /druid/v2/sql/task, polled to SUCCESS.
2. Wait until the segments are queryable, then query through the router with
   sqlTimeZone=Africa/Nairobi and typed parameters, and check the answers.
3. SQL-based ingestion of a CSV file by absolute path (EXTERN local input source).
4. Optional (--parquet): the same with a Parquet file; reports whether it works, never fails.

Usage: python3 scripts/druid/smoke.py [--router http://127.0.0.1:8888] [--parquet]
Exit 0 when checks 1-3 pass.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

INLINE_CSV = "\n".join(
    [
        "ts,region,product,amount",
        "2024-01-15T10:00:00Z,x,pear,5",
        "2024-01-15T21:30:00Z,x,apple,10",  # 2024-01-16 00:30 in Nairobi (UTC+3)
        "2024-01-31T22:00:00Z,x,apple,7",  # 2024-02-01 01:00 in Nairobi: February locally
        "2024-02-10T08:00:00Z,y,apple,3",
        "2024-02-11T09:00:00Z,x,plum,4",
        "2024-03-01T12:00:00Z,y,pear,8",
    ]
)
SIGNATURE = [
    {"name": "ts", "type": "string"},
    {"name": "region", "type": "string"},
    {"name": "product", "type": "string"},
    {"name": "amount", "type": "long"},
]


def sql_string(value: str) -> str:
    """Quote a value as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def replace_sql(table: str, input_source: dict, input_format: dict) -> str:
    return f"""
REPLACE INTO "{table}" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS __time, "region", "product", "amount"
FROM TABLE(EXTERN(
  {sql_string(json.dumps(input_source))},
  {sql_string(json.dumps(input_format))},
  {sql_string(json.dumps(SIGNATURE))}
))
PARTITIONED BY MONTH
"""


class Druid:
    def __init__(self, router: str) -> None:
        self.router = router.rstrip("/")

    def call(
        self, method: str, path: str, body: object | None = None, timeout: float = 60
    ) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.router + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise RuntimeError(
                f"{method} {path} -> HTTP {err.code}: {err.read().decode()[:2000]}"
            ) from None
        return json.loads(raw) if raw else None

    def sql(self, query: str, parameters: list | None = None, context: dict | None = None) -> list:
        body: dict = {"query": query, "resultFormat": "object"}
        if parameters:
            body["parameters"] = parameters
        if context:
            body["context"] = context
        return self.call("POST", "/druid/v2/sql", body)  # type: ignore[return-value]

    def ingest(self, query: str, timeout: float = 300) -> tuple[str, float]:
        """Submit an MSQ task and poll it to SUCCESS. Returns (task id, seconds)."""
        t0 = time.monotonic()
        # waitUntilSegmentsLoad only exists from Druid 28 on (ignored by 27); we also poll below.
        context = {"maxNumTasks": 2, "waitUntilSegmentsLoad": True, "finalizeAggregations": True}
        resp = self.call("POST", "/druid/v2/sql/task", {"query": query, "context": context})
        task_id = resp["taskId"]  # type: ignore[index]
        while True:
            status = self.call("GET", f"/druid/indexer/v1/task/{task_id}/status")["status"]  # type: ignore[index]
            state = status.get("statusCode") or status.get("status")
            if state == "SUCCESS":
                return task_id, time.monotonic() - t0
            if state == "FAILED":
                raise RuntimeError(f"task {task_id} failed: {status.get('errorMsg')}")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"task {task_id} still {state} after {timeout}s")
            time.sleep(1)

    def wait_queryable(self, table: str, expected_rows: int, timeout: float = 120) -> float:
        """Poll until the broker sees all rows of `table` (segments loaded on the historical)."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            try:
                rows = self.sql(f'SELECT COUNT(*) AS n FROM "{table}"')
                last = rows[0]["n"] if rows else 0
                if last == expected_rows:
                    return time.monotonic() - t0
            except RuntimeError as err:  # table unknown until the first segment is announced
                last = str(err)[:120]
            time.sleep(0.5)
        raise RuntimeError(
            f"{table} not queryable with {expected_rows} rows after {timeout}s (last: {last})"
        )


def check(label: str, got: object, want: object) -> None:
    if got != want:
        raise AssertionError(f"{label}: got {got!r}, want {want!r}")
    print(f"  ok  {label}: {got!r}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--router", default=f"http://127.0.0.1:{os.environ.get('DRUID_PORT_ROUTER', '8888')}"
    )
    ap.add_argument(
        "--parquet", action="store_true", help="also try EXTERN local + parquet input format"
    )
    args = ap.parse_args()
    druid = Druid(args.router)
    t_all = time.monotonic()

    # 1. Inline CSV through MSQ.
    print("[1] REPLACE INTO smoke_test from inline CSV (MSQ task)")
    sql = replace_sql(
        "smoke_test",
        {"type": "inline", "data": INLINE_CSV},
        {"type": "csv", "findColumnsFromHeader": True},
    )
    task_id, secs = druid.ingest(sql)
    print(f"  task {task_id} SUCCESS after {secs:.1f}s")
    secs_q = druid.wait_queryable("smoke_test", 6)
    print(f"  queryable {secs_q:.1f}s after task success (ingest->queryable {secs + secs_q:.1f}s)")

    # 2. Queries through the router: typed parameters + session time zone.
    print("[2] queries via router, sqlTimeZone=Africa/Nairobi, typed parameters")
    ctx = {"sqlTimeZone": "Africa/Nairobi"}
    param = [{"type": "VARCHAR", "value": "x"}]
    t0 = time.monotonic()
    rows = druid.sql(
        'SELECT COUNT(*) AS n, SUM("amount") AS total FROM "smoke_test" WHERE "region" = ?',
        param,
        ctx,
    )
    check("count/sum for region x", (rows[0]["n"], rows[0]["total"]), (4, 26))
    rows = druid.sql(
        'SELECT TIME_FLOOR(__time, \'P1M\') AS "month", COUNT(*) AS n FROM "smoke_test" '
        'WHERE "region" = ? GROUP BY 1 ORDER BY 1',
        param,
        ctx,
    )
    # In Nairobi time the 2024-01-31T22:00Z row belongs to February (UTC would give Jan=3, Feb=1).
    check(
        "local-month buckets",
        [(r["month"], r["n"]) for r in rows],
        [("2024-01-01T00:00:00.000+03:00", 2), ("2024-02-01T00:00:00.000+03:00", 2)],
    )
    rows = druid.sql(
        'SELECT COUNT(*) AS n FROM "smoke_test" WHERE __time >= ? AND "product" = ?',
        [
            {"type": "TIMESTAMP", "value": "2024-02-01 00:00:00"},
            {"type": "VARCHAR", "value": "apple"},
        ],
        ctx,
    )
    check("apples since 2024-02-01 local (TIMESTAMP parameter)", rows[0]["n"], 2)
    print(f"  queries took {time.monotonic() - t0:.2f}s")

    # 3. CSV file by absolute path (what the app will use for large files).
    print("[3] REPLACE INTO smoke_test_file from a local CSV file by path")
    tmp = tempfile.mkdtemp(prefix="druid-smoke-")
    os.chmod(tmp, 0o755)
    csv_path = os.path.join(tmp, "sales.csv")
    n_rows = 20000
    with open(csv_path, "w") as f:
        f.write("ts,region,product,amount\n")
        for i in range(n_rows):
            stamp = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
            f.write(f"{stamp},r{i % 5},p{i % 50},{i % 100}\n")
    sql = replace_sql(
        "smoke_test_file",
        {"type": "local", "files": [csv_path]},
        {"type": "csv", "findColumnsFromHeader": True},
    )
    task_id, secs = druid.ingest(sql)
    secs_q = druid.wait_queryable("smoke_test_file", n_rows)
    print(
        f"  task {task_id} SUCCESS after {secs:.1f}s, queryable {secs_q:.1f}s later ({n_rows} rows)"
    )
    rows = druid.sql(
        'SELECT SUM("amount") AS s FROM "smoke_test_file" WHERE "region" = ?',
        [{"type": "VARCHAR", "value": "r0"}],
    )
    check("sum for region r0", rows[0]["s"], sum(i % 100 for i in range(0, n_rows, 5)))

    # 4. Optional Parquet by path.
    if args.parquet:
        print("[4] REPLACE INTO smoke_test_parquet from a local Parquet file (optional)")
        try:
            import pyarrow as pa  # type: ignore[import-not-found]
            import pyarrow.parquet as pq  # type: ignore[import-not-found]
        except ImportError:
            print("  skipped: pyarrow not importable here (try the project venv's python)")
        else:
            pq_path = os.path.join(tmp, "sales.parquet")
            pq.write_table(
                pa.table(
                    {
                        "ts": ["2024-01-15T10:00:00Z", "2024-02-10T08:00:00Z"],
                        "region": ["x", "y"],
                        "product": ["pear", "apple"],
                        "amount": [5, 3],
                    }
                ),
                pq_path,
            )
            sql = replace_sql(
                "smoke_test_parquet", {"type": "local", "files": [pq_path]}, {"type": "parquet"}
            )
            try:
                task_id, secs = druid.ingest(sql)
                druid.wait_queryable("smoke_test_parquet", 2)
                print(f"  Parquet by path WORKS (task {task_id}, {secs:.1f}s)")
            except RuntimeError as err:
                print(f"  Parquet by path does NOT work here: {str(err)[:400]}")

    print(f"smoke OK in {time.monotonic() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, RuntimeError, OSError) as err:
        print(f"smoke FAILED: {err}", file=sys.stderr)
        sys.exit(1)
