"""Running one SQL-based (MSQ) ingestion task on Druid: submit it, follow it, and submit
it again when it lost its worker rather than failed on the data.

A task that fails publishes nothing, so a retry can never count a line twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.store import StoreError
from core.stores.druid_http import DruidClient, DruidQueryError

log = logging.getLogger("core.store")

# MSQ needs a controller and at least one worker; two tasks fit the local Indexer's 4 slots.
MAX_NUM_TASKS = 2
# A 10M-line load takes minutes on two cores; half an hour means it is stuck.
TASK_TIMEOUT_SECONDS = 1800.0
# Time for new segments to reach the broker once the task succeeded (coordinator period + load).
LOAD_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 1.0
# A worker starts within a second or two on an idle Indexer: waiting this long means it never will.
STALL_SECONDS = 30.0
TASK_ATTEMPTS = 3
# MSQ error codes of a worker task that went away, whatever the data.
WORKER_LOST_ERRORS = frozenset({"WorkerRpcFailed", "WorkerFailed", "TaskStartTimeout"})
Report = Callable[[str, float], None]


def ingestion_context() -> dict[str, Any]:
    return {
        "maxNumTasks": MAX_NUM_TASKS,
        "sqlTimeZone": "UTC",  # chunk bounds (core.stores.druid_chunks) are UTC instants
        "sqlJoinAlgorithm": "sortMerge",  # the only MSQ join that can be FULL OUTER
        "finalizeAggregations": True,
        "maxParseExceptions": 0,  # a line Druid cannot read fails the write, never drops silently
    }


def new_write_id() -> str:
    """Sortable by time, unique per write."""
    return f"{datetime.now(tz=UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def _task_error(client: DruidClient, task_id: str, status: dict[str, Any]) -> str:
    message = status.get("errorMsg")
    try:
        reports = client.request("GET", f"/druid/indexer/v1/task/{task_id}/reports")
        error = reports["multiStageQuery"]["payload"]["status"]["errorReport"]["error"]
        message = error.get("errorMessage") or message
    except (StoreError, KeyError, TypeError):
        pass
    return str(message or "no reason given")


def run_task(
    client: DruidClient,
    sql: str,
    report: Report,
    timeout: float = TASK_TIMEOUT_SECONDS,
    attempts: int = TASK_ATTEMPTS,
) -> str:
    """Submit an MSQ task and wait for it to succeed; returns the task id.

    A task that loses its worker (`_worker_failed`, `_stalled`) publishes
    nothing, so it is submitted again, up to `attempts` times.

    Raises
    ------
    StoreError
        With Druid's reason if the statement is refused or the task fails.
    """
    for attempt in range(1, attempts + 1):
        task_id = _submit(client, sql)
        outcome = _wait_for(client, task_id, report, timeout)
        if outcome == "succeeded":
            return task_id
        if outcome == "stalled":
            client.request("POST", f"/druid/indexer/v1/task/{task_id}/shutdown", idempotent=False)
        log.warning(
            "Druid ingestion task %s lost its worker (%s)",
            task_id,
            outcome,
            extra={"task": task_id, "attempt": attempt, "attempts": attempts},
        )
    tries = "once" if attempts == 1 else f"in {attempts} tries"
    raise StoreError(
        f"Druid's ingestion task lost its worker {tries}; "
        "nothing was changed: check the Druid indexer's log"
    )


def _submit(client: DruidClient, sql: str) -> str:
    try:
        submitted = client.request(
            "POST",
            "/druid/v2/sql/task",
            {"query": sql, "context": ingestion_context()},
            idempotent=False,
        )
    except DruidQueryError as exc:
        raise StoreError(f"Druid refused the ingestion: {exc.druid_message}") from exc
    return str(submitted["taskId"])


def _wait_for(client: DruidClient, task_id: str, report: Report, timeout: float) -> str:
    """How the task ended: "succeeded", "worker failed" or "stalled"; raises if it failed.

    The last two publish nothing, so the task may be submitted again.
    """
    started = time.monotonic()
    waiting_since: float | None = None
    while True:
        status = client.request("GET", f"/druid/indexer/v1/task/{task_id}/status")["status"]
        state = status.get("statusCode") or status.get("status")
        if state == "SUCCESS":
            return "succeeded"
        if state == "FAILED":
            if _worker_failed(client, task_id):
                return "worker failed"
            raise StoreError(
                f"Druid ingestion task {task_id} failed: "
                f"{_task_error(client, task_id, status).rstrip('. ')}. Nothing was changed."
            )
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise StoreError(
                f"Druid ingestion task {task_id} is still {state} after {timeout:.0f} s; "
                "it may still finish: check the Druid console"
            )
        if state == "RUNNING" and _stalled(client, task_id):
            waiting_since = waiting_since or time.monotonic()
            if time.monotonic() - waiting_since > STALL_SECONDS:
                return "stalled"
        else:
            waiting_since = None
        report("indexing", min(0.9, 0.2 + elapsed / 120))
        time.sleep(POLL_SECONDS)


def _msq_status(client: DruidClient, task_id: str) -> dict[str, Any]:
    try:
        status = client.request("GET", f"/druid/indexer/v1/task/{task_id}/reports")[
            "multiStageQuery"
        ]["payload"]["status"]
    except (StoreError, KeyError, TypeError):
        return {}
    return status if isinstance(status, dict) else {}


def _worker_failed(client: DruidClient, task_id: str) -> bool:
    """The task failed because a worker task went away, not because of the data."""
    error = _msq_status(client, task_id).get("errorReport") or {}
    code = (error.get("error") or {}).get("errorCode")
    # A worker's own "Canceled" is a worker shut down; the controller's is a user's cancel.
    by_worker = str(error.get("taskId", task_id)) != task_id
    return code in WORKER_LOST_ERRORS or (code == "Canceled" and by_worker)


def _stalled(client: DruidClient, task_id: str) -> bool:
    """The controller runs but waits for a worker that is not running.

    Druid 27's MSQ worker exits at once when the Overlord has not yet
    published its controller's location (fixed in Druid 30, apache/druid
    #16161), and without fault tolerance the controller then waits for it
    forever.
    """
    status = _msq_status(client, task_id)
    return int(status.get("pendingTasks") or 0) > 0 and int(status.get("runningTasks") or 0) <= 1
