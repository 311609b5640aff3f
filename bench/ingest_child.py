"""One ingest in a fresh process: `python -m bench.ingest_child FILE STORE_DIR`.

Prints one JSON line: seconds from reading the file to a queryable store
(`ingest_file`, then a count through a new store object), the pipeline's
own stage timings, and this process's peak resident memory (ru_maxrss), so
the peak is the ingest's alone and not the bench's.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import ingest.pipeline
from core.store import Scope
from core.stores.embedded import EmbeddedStore
from ingest.pipeline import ingest_file

# The upload limit (ingest.pipeline.MAX_FILE_MB, 200 MB like the upload page's) would
# refuse the 10M-line CSV (1.7 GB); the bench measures the pipeline, so it lifts it.
if hasattr(ingest.pipeline, "MAX_FILE_BYTES"):
    ingest.pipeline.MAX_FILE_BYTES = 1 << 40


def main(argv: list[str]) -> int:
    source, store_dir = Path(argv[0]), Path(argv[1])
    started = time.perf_counter()
    result = ingest_file(source, EmbeddedStore(store_dir))
    queryable = EmbeddedStore(store_dir).count_lines(Scope(), None) if result.ok else 0
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "ok": result.ok,
                "rows": result.prepared.rows,
                "stored": queryable,
                "seconds": seconds,
                "timings": result.timings,
                # Linux reports ru_maxrss in KiB.
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0 if result.ok and queryable == result.prepared.rows else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
