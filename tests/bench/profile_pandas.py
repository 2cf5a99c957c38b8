"""The Python peer of `lathe dataset show FILE`: pandas/numpy computing the same profile.

Per column: count, nulls, nunique, mean, std, min, max, quantiles 5/25/50/75/95, skew, zeros,
top-10 value counts, numpy histogram (min(20, distinct) bins); per table: duplicated rows,
Pearson and Spearman correlation matrices of the numeric columns.

    python tests/bench/profile_pandas.py FILE.csv
"""

import sys

import numpy as np
import pandas as pd


def main() -> None:
    df = pd.read_csv(sys.argv[1])
    result = {"rows": len(df), "duplicate_rows": int(df.duplicated().sum()), "columns": {}}
    for name in df.columns:
        s = df[name]
        col = {"count": int(s.count()), "nulls": int(s.isna().sum()), "distinct": int(s.nunique())}
        col["top"] = s.value_counts().head(10).to_dict()
        if pd.api.types.is_numeric_dtype(s):
            col.update(
                mean=s.mean(), std=s.std(), min=s.min(), max=s.max(), skew=s.skew(),
                quantiles=s.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_list(),
                zeros=int((s == 0).sum()),
            )
            values = s.dropna().to_numpy()
            col["histogram"] = np.histogram(values, bins=max(1, min(20, col["distinct"])))
        else:
            values = s.dropna().astype(str)
            col.update(min=values.min(), max=values.max())
        result["columns"][name] = col
    numeric = df.select_dtypes(include="number")
    result["pearson"] = numeric.corr(method="pearson")
    result["spearman"] = numeric.corr(method="spearman")
    print(f"profiled {len(df)} rows x {df.shape[1]} columns")


if __name__ == "__main__":
    main()
