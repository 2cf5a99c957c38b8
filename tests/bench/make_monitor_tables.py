"""Tables for the monitoring benchmark: a binary classifier's scores, predictions and targets
plus FEATURES features (three in four numeric, the rest text categories and booleans), ROWS
reference rows and ROWS analysis rows, seeded. The analysis's second half is shifted (a mean
shift, a flipped correlation and a weaker model), so both CBPE and the reconstruction error
have something to find.

    python3 tests/bench/make_monitor_tables.py OUT_DIR ROWS FEATURES SEED
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def part(rng, n, features, shifted):
    cols = {}
    base = rng.normal(size=n)
    for j in range(features):
        kind = j % 8
        if kind in (6,):
            cols[f"cat_{j}"] = rng.choice(["a", "b", "c", "d", "e"], size=n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
        elif kind == 7:
            cols[f"flag_{j}"] = rng.random(n) < (0.3 if not shifted else 0.35)
        else:
            rho = 0.8 if j % 2 == 0 else 0.0
            if shifted and j == 0:
                rho = -0.8
            x = rho * base + np.sqrt(1 - rho**2) * rng.normal(size=n)
            if shifted and j == 2:
                x = x + 0.3
            cols[f"x_{j}"] = x
    df = pd.DataFrame(cols)
    strength = 1.0 if shifted else 2.0
    logit = -0.3 + strength * base + 0.5 * df[f"x_{1}"].to_numpy()
    p = 1 / (1 + np.exp(-logit))
    df["target"] = (rng.random(n) < p).astype(np.int64)
    score = 1 / (1 + np.exp(-(-0.3 + 2.0 * base + 0.5 * df["x_1"].to_numpy() + rng.normal(scale=0.4, size=n))))
    df["y_pred_proba"] = score
    df["y_pred"] = (score >= 0.5).astype(np.int64)
    return df


def main():
    out, rows, features, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    reference = part(rng, rows, features, False)
    half = rows // 2
    analysis = pd.concat([part(rng, half, features, False), part(rng, rows - half, features, True)], ignore_index=True)
    reference.to_parquet(out / "reference.parquet", index=False)
    analysis.to_parquet(out / "analysis.parquet", index=False)
    names = [c for c in reference.columns if c not in ("target", "y_pred_proba", "y_pred")]
    (out / "features.txt").write_text(",".join(names))


if __name__ == "__main__":
    main()
