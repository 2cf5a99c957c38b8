"""The strongest peer of `lathe dataset show FILE`: DuckDB's SUMMARIZE (count, nulls, min, max,
mean, std, approximate quantiles and distinct counts per column) over the same file.

    python tests/bench/profile_duckdb.py FILE.csv|FILE.parquet      (PyPI duckdb)
    python tests/bench/profile_duckdb.py FILE --compare LATHE.json  (also checks that the numbers
        both report agree: row count, nulls, min, max, mean, std; prints the largest differences)
"""

import json
import sys

import duckdb


def summarize(path: str) -> list[dict]:
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
    cursor = duckdb.connect().execute(f"SUMMARIZE SELECT * FROM {reader}(?)", [path])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(summary: list[dict], lathe: dict) -> None:
    columns = {c["name"]: c for c in lathe["columns"]}
    worst = {"mean": 0.0, "std": 0.0}
    for row in summary:
        c = columns[row["column_name"]]
        assert row["count"] == lathe["rows"], (row["column_name"], row["count"], lathe["rows"])
        nulls = float(row["null_percentage"]) / 100 * lathe["rows"]
        # DuckDB rounds the percentage to 2 decimals: 0.005% of the rows.
        assert abs(nulls - c["nulls"]) <= 0.00005 * lathe["rows"] + 1, (row["column_name"], nulls, c["nulls"])
        if c["mean"] is None:
            assert str(c["min"]) == row["min"] and str(c["max"]) == row["max"], row["column_name"]
            continue
        assert float(row["min"]) == float(c["min"]) and float(row["max"]) == float(c["max"]), row["column_name"]
        for key, theirs in (("mean", row["avg"]), ("std", row["std"])):
            worst[key] = max(worst[key], relative(float(theirs), c[key]))
    print(f"{len(summary)} columns agree on count, nulls, min, max; largest relative difference: "
          f"mean {worst['mean']:.1e}, std {worst['std']:.1e}", file=sys.stderr)
    assert worst["mean"] < 1e-9 and worst["std"] < 1e-9, worst


def main() -> None:
    path = sys.argv[1]
    summary = summarize(path)
    if len(sys.argv) > 3 and sys.argv[2] == "--compare":
        with open(sys.argv[3]) as f:
            compare(summary, json.load(f))
    else:
        print(f"{len(summary)} columns summarized")


if __name__ == "__main__":
    main()
