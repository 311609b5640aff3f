"""The segments of one datasource as Druid lists them (`sys.segments`), read in one query.

Two views of them matter. The published set (published and not overshadowed)
is what Druid holds once every write has arrived, and what an ingestion task
reads; its fingerprint names it. The available set, per version, is what
historicals serve right now; the data version that keys the app's caches is
taken from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.stores.druid_http import DruidClient, parameter

LIST_SQL = (
    'SELECT "segment_id", "version", "size", "is_published", "is_available", "is_overshadowed" '
    'FROM sys.segments WHERE "datasource" = ?'
)


@dataclass(frozen=True)
class Segments:
    published: frozenset[str]  # segment ids, published and not overshadowed
    published_bytes: int
    available_per_version: dict[str, int]

    @property
    def fingerprint(self) -> str | None:
        """Names the published set: every write and every deletion changes it, and
        the segments dropped after a write (overshadowed) do not. None when empty."""
        if not self.published:
            return None
        digest = hashlib.sha256("\n".join(sorted(self.published)).encode()).hexdigest()
        return f"{len(self.published)}-{digest[:24]}"

    @property
    def data_version(self) -> str:
        """Newest version served and how many segments are: any write changes them."""
        if not self.available_per_version:
            return "empty"
        return f"druid-{max(self.available_per_version)}-{sum(self.available_per_version.values())}"


def listed(client: DruidClient, datasource: str) -> Segments:
    """The segments of `datasource` (none when Druid does not know it).

    Raises
    ------
    StoreError
        If Druid cannot be reached or refuses the query.
    """
    _, rows = client.sql(LIST_SQL, [parameter(datasource)], {})
    published: set[str] = set()
    published_bytes = 0
    available: dict[str, int] = {}
    for segment_id, version, size, is_published, is_available, is_overshadowed in rows:
        if is_published and not is_overshadowed:
            published.add(str(segment_id))
            published_bytes += int(size or 0)
        if is_available:
            available[str(version)] = available.get(str(version), 0) + 1
    return Segments(frozenset(published), published_bytes, available)
