"""A table and a 50-expectation suite for tests/bench/check.sh.

    python3 make_check_bench.py OUT.parquet SUITE.json ROWS [SEED]

The table has 25 columns: 12 floats (some with 1% missing), 6 integers, 4 categories, an
e-mail-like text, a date text and an id. The suite has 50 expectations of every family
(per-value tests, regexes, sets, aggregates, quantiles, uniqueness, pairs), some failing.
"""

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out, suite_path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 7
rng = np.random.default_rng(seed)
cols = {}
for i in range(12):
    x = rng.normal(100 * i, 10 + i, rows)
    if i % 3 == 0:
        x[rng.random(rows) < 0.01] = np.nan
    cols[f"f{i}"] = x
for i in range(6):
    cols[f"i{i}"] = rng.integers(0, 10 ** (i + 1), rows)
cats = np.array(["red", "green", "blue", "amber", "violet"])
for i in range(4):
    cols[f"c{i}"] = cats[rng.integers(0, 5 - (i % 2), rows)]
cols["email"] = np.char.add(np.char.add("user", rng.integers(0, 10**6, rows).astype(str)), "@example.org")
days = rng.integers(0, 3650, rows).astype("timedelta64[D]") + np.datetime64("2015-01-01")
cols["day"] = days.astype(str)
cols["id"] = np.arange(rows)
pq.write_table(pa.table(cols), out, row_group_size=1 << 20)


def e(kind, **kw):
    return {"type": kind, "kwargs": kw}


suite = [
    e("expect_table_row_count_to_be_between", min_value=1, max_value=10**9),
    e("expect_table_columns_to_match_set", column_set=list(cols)),
    e("expect_column_values_to_be_unique", column="id"),
    e("expect_column_values_to_be_increasing", column="id"),
    e("expect_column_values_to_not_be_null", column="f0", mostly=0.95),
    e("expect_column_values_to_not_be_null", column="f3"),
    e("expect_column_values_to_be_in_set", column="c0", value_set=["red", "green", "blue", "amber"]),
    e("expect_column_values_to_be_in_set", column="c1", value_set=["red", "green", "blue", "amber"]),
    e("expect_column_values_to_not_be_in_set", column="c2", value_set=["black"]),
    e("expect_column_values_to_match_regex", column="email", regex=r"^user\d+@example\.org$"),
    e("expect_column_values_to_not_match_regex", column="email", regex=r"999"),
    e("expect_column_values_to_match_strftime_format", column="day", strftime_format="%Y-%m-%d"),
    e("expect_column_value_lengths_to_be_between", column="email", min_value=17, max_value=23),
    e("expect_column_distinct_values_to_be_in_set", column="c3", value_set=["red", "green", "blue", "amber"]),
    e("expect_column_most_common_value_to_be_in_set", column="c0", value_set=["red", "green"], ties_okay=True),
    e("expect_column_unique_value_count_to_be_between", column="c1", min_value=4, max_value=5),
    e("expect_column_proportion_of_unique_values_to_be_between", column="i5", min_value=0.1),
    e("expect_compound_columns_to_be_unique", column_list=["i4", "c0"], mostly=0.5),
    e("expect_column_pair_values_a_to_be_greater_than_b", column_A="f11", column_B="f10", mostly=0.9),
    e("expect_multicolumn_sum_to_equal", column_list=["i0", "i1"], sum_total=50, mostly=0.0),
]
for i in range(12):
    c = f"f{i}"
    suite.append(e("expect_column_values_to_be_between", column=c, min_value=100 * i - 3 * (10 + i), max_value=100 * i + 3 * (10 + i), mostly=0.99))
    if i < 6:
        suite.append(e("expect_column_mean_to_be_between", column=c, min_value=100 * i - 1, max_value=100 * i + 1))
    elif i < 9:
        suite.append(e("expect_column_stdev_to_be_between", column=c, min_value=10 + i - 1, max_value=10 + i + 1))
    else:
        suite.append(e("expect_column_quantile_values_to_be_between", column=c, quantile_ranges={"quantiles": [0.05, 0.5, 0.95], "value_ranges": [[None, None], [100 * i - 1, 100 * i + 1], [None, None]]}))
for i in range(6):
    c = f"i{i}"
    suite.append(e("expect_column_max_to_be_between", column=c, max_value=10 ** (i + 1)))
suite = suite[:50]
assert len(suite) == 50, len(suite)
json.dump({"name": "bench", "expectations": suite}, open(suite_path, "w"), indent=1)
