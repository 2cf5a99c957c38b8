"""The strongest peer of `lathe dataset show FILE`: DuckDB's SUMMARIZE (count, nulls, min, max,
mean, std, approximate quantiles and distinct counts per column) over the same file.

    python tests/bench/profile_duckdb.py FILE.csv|FILE.parquet      (PyPI duckdb)
"""

import sys

import duckdb


def main() -> None:
    path = sys.argv[1]
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
    rows = duckdb.connect().execute(f"SUMMARIZE SELECT * FROM {reader}(?)", [path]).fetchall()
    print(f"{len(rows)} columns summarized")


if __name__ == "__main__":
    main()
