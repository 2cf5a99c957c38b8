"""The HTML report's size check: reference and current Parquet files of 1,000,000 rows x 100
columns (80 numeric of four distributions, 20 categorical with 5 to 60 categories), the current
one shifted in a third of its columns. Seeded.

    python tests/bench/make_wide_drift_tables.py REFERENCE.parquet CURRENT.parquet [ROWS]
"""

import sys

import numpy as np
import pandas as pd


def table(rng, rows, shifted):
    data = {}
    for i in range(80):
        kind = i % 4
        if kind == 0:
            col = rng.normal(10 * i, 5 + i, rows)
        elif kind == 1:
            col = rng.lognormal(2, 0.8, rows)
        elif kind == 2:
            col = rng.uniform(0, 1 + i, rows)
        else:
            col = rng.poisson(2 + i, rows).astype(float)
        if shifted and i % 3 == 0:
            col = col + 0.2 * np.std(col)
        data[f"num_{i:02d}"] = col
    for i in range(20):
        k = 5 + 3 * i
        weights = np.linspace(1, 2 if not (shifted and i % 3 == 0) else 4, k)
        data[f"cat_{i:02d}"] = rng.choice([f"c{i}-{j}" for j in range(k)], rows, p=weights / weights.sum())
    return pd.DataFrame(data)


def main() -> None:
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    rng = np.random.default_rng(20261128)
    for out, shifted in ((sys.argv[1], False), (sys.argv[2], True)):
        table(rng, rows, shifted).to_parquet(out, index=False)
        print(f"{out}: {rows} rows x 100 columns")


if __name__ == "__main__":
    main()
