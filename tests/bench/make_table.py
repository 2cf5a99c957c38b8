"""Generates the profile benchmark's table: 1,000,000 rows x 25 columns as CSV (or Parquet,
by the output's extension), or ROWS rows.

20 numeric columns (normal, lognormal, uniform, integer counts; about 2% missing in half of
them) and 5 categorical ones (low and high cardinality). Seeded: the same file every time.
Written a million rows at a time, so a 100,000,000-row table needs no more memory than one.

    python tests/bench/make_table.py OUT.csv|OUT.parquet [ROWS [SEED [SHIFT]]]

Another SEED draws another sample of the same distributions; SHIFT moves the normal columns'
means by that many units (the drift benchmark's current data).
"""

import sys

import numpy as np
import pandas as pd

CHUNK = 1_000_000


def chunk(rng: np.random.Generator, rows: int, shift: float = 0.0) -> pd.DataFrame:
    data = {}
    for i in range(20):
        kind = i % 4
        if kind == 0:
            col = rng.normal(100 + i + shift, 15, rows)
        elif kind == 1:
            col = rng.lognormal(3, 1, rows)
        elif kind == 2:
            col = rng.uniform(-1, 1, rows)
        else:
            col = rng.poisson(3 + i, rows).astype(float)
        if i % 2 == 0:
            col[rng.random(rows) < 0.02] = np.nan
        data[f"num_{i:02d}"] = col
    data["country"] = rng.choice(["SE", "NO", "DK", "FI", "IS"], rows, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    data["plan"] = rng.choice([f"plan-{k}" for k in range(40)], rows)
    data["customer"] = np.char.add("c", rng.integers(0, 200_000, rows).astype(str))
    data["channel"] = rng.choice(["web", "app", "store"], rows)
    data["segment"] = rng.choice(list("ABCDEFGH"), rows)
    return pd.DataFrame(data)


def main() -> None:
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261126
    shift = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    rng = np.random.default_rng(seed)
    parquet = out.endswith(".parquet")
    writer = None
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        frame = chunk(rng, n, shift)
        if parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
        else:
            # Integer-valued columns keep their decimals off, so readers infer them as they would.
            frame.to_csv(out, index=False, float_format="%.6g", mode="w" if done == 0 else "a", header=done == 0)
        done += n
    if writer is not None:
        writer.close()
    print(f"{out}: {rows} rows x 25 columns")


if __name__ == "__main__":
    main()
