#!/usr/bin/env bash
# Benchmark: `lathe dataset show FILE` (read + full profile, release build) against pandas
# computing the same statistics, and DuckDB's SUMMARIZE (fewer statistics, approximate quantiles
# and distinct counts: the strongest peer), on the same generated 1,000,000 x 25 CSV. Reports
# wall time, peak memory and the ratios. Not part of the test suite (it needs a release build).
#
#   tests/bench/profile.sh [ROWS]        (LATHE_BENCH_RUNS=N runs each side, default 3)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-1000000}"
CSV="$DATA/table-$ROWS.csv"

[ -f "$CSV" ] || python3 "$REPO/tests/bench/make_table.py" "$CSV" "$ROWS"
ls -l "$CSV"

read -r lathe_s lathe_kb < <(measure "lathe dataset show" "$LATHE" dataset show "$CSV" --json)
read -r pandas_s pandas_kb < <(measure "pandas" python3 "$REPO/tests/bench/profile_pandas.py" "$CSV")
read -r duck_s duck_kb < <(measure "duckdb SUMMARIZE" python3 "$REPO/tests/bench/profile_duckdb.py" "$CSV")
awk -v l="$lathe_s" -v p="$pandas_s" -v lk="$lathe_kb" -v pk="$pandas_kb" -v d="$duck_s" -v dk="$duck_kb" 'BEGIN {
  printf "lathe %.2f s (%.0f MiB peak), pandas %.2f s (%.0f MiB peak): lathe is %.1fx faster\n", l, lk/1024, p, pk/1024, p/l
  printf "duckdb SUMMARIZE %.2f s (%.0f MiB peak): lathe takes %.2fx its time\n", d, dk/1024, l/d }'
