"""Generates the drift benchmark's tables: a reference and a current CSV, 1,000,000 rows x 25
columns each (20 numeric, 5 categorical), the current one with a documented shift: num_00..num_04
moved by 0.3 of their standard deviation, num_05 scaled by 1.2, and `channel` re-weighted.
Seeded: the same files every time.

    python tests/bench/make_drift_tables.py REFERENCE.csv CURRENT.csv [ROWS]
"""

import sys

import numpy as np
import pandas as pd


def table(rng, rows, shifted):
    data = {}
    for i in range(20):
        kind = i % 4
        if kind == 0:
            col = rng.normal(100 + i, 15, rows)
        elif kind == 1:
            col = rng.lognormal(3, 1, rows)
        elif kind == 2:
            col = rng.uniform(-1, 1, rows)
        else:
            col = rng.poisson(3 + i, rows).astype(float)
        if shifted and i < 5:
            col = col + 0.3 * np.std(col)
        if shifted and i == 5:
            col = col * 1.2
        if i % 2 == 0:
            col[rng.random(rows) < 0.02] = np.nan
        data[f"num_{i:02d}"] = col
    data["country"] = rng.choice(["SE", "NO", "DK", "FI", "IS"], rows, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    data["plan"] = rng.choice([f"plan-{k}" for k in range(40)], rows)
    data["channel"] = rng.choice(["web", "app", "store"], rows, p=[0.3, 0.5, 0.2] if shifted else [0.5, 0.3, 0.2])
    data["segment"] = rng.choice(list("ABCDEFGH"), rows)
    data["device"] = rng.choice([f"d{k}" for k in range(12)], rows)
    return pd.DataFrame(data)


def main() -> None:
    ref_out, cur_out = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    rng = np.random.default_rng(20261127)
    for out, shifted in ((ref_out, False), (cur_out, True)):
        frame = table(rng, rows, shifted)
        frame.to_csv(out, index=False, float_format="%.6g")
        print(f"{out}: {rows} rows x {frame.shape[1]} columns")


if __name__ == "__main__":
    main()
