"""Generates the rows benchmark's table: 10,000,000 rows x 8 columns as Parquet (pyarrow).

An id, five numeric columns (two with about 2% missing), a low- and a high-cardinality text
column. Seeded: the same file every time.

    python tests/bench/make_rows_table.py OUT.parquet [ROWS]
"""

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    rng = np.random.default_rng(20261127)
    missing = rng.random(rows) < 0.02
    columns = {
        "id": np.arange(rows, dtype=np.int64),
        "amount": pa.array(rng.lognormal(3, 1, rows), mask=missing),
        "score": rng.normal(0, 1, rows),
        "age": rng.integers(18, 90, rows),
        "balance": pa.array(rng.normal(1000, 300, rows), mask=rng.random(rows) < 0.02),
        "visits": rng.poisson(4, rows),
        "country": pa.array(rng.choice(["NO", "SE", "DK", "FI", "IS", "DE", "FR"], rows)),
        "customer": pa.array(np.char.add("c", rng.integers(0, 2_000_000, rows).astype(str))),
    }
    pq.write_table(pa.table(columns), out, compression="zstd")
    print(f"wrote {out}: {rows} rows x {len(columns)} columns")


if __name__ == "__main__":
    main()
