#!/usr/bin/env bash
# Benchmark: bounded memory. `lathe dataset show` (full profile) of a generated ROWS x 25
# Parquet file (default 100,000,000 rows; the profile benchmark's column mix) beside DuckDB's
# SUMMARIZE on the same file, with wall time and peak RSS, and a check that the numbers both
# report agree. Then the same profile read over s3:// is left to tests/bench/profile.sh.
# Not part of the test suite (it needs a release build, ~12 GB of disk and most of an hour).
#
#   tests/bench/bigdata.sh [ROWS]          (LATHE_BENCH_RUNS=N runs each side, default 1)
set -euo pipefail
export OUT
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export LATHE_BENCH_RUNS="${LATHE_BENCH_RUNS:-1}"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-100000000}"
FILE="$DATA/table-$ROWS.parquet"

[ -f "$FILE" ] || python3 "$REPO/tests/bench/make_table.py" "$FILE" "$ROWS"
ls -l "$FILE"

OUT="$DATA/profile-$ROWS.json"
read -r lathe_s lathe_kb < <(measure "lathe dataset show" sh -c 'exec "$@" > "$OUT"' sh "$LATHE" dataset show "$FILE" --json)
# SUMMARIZE, then the comparison of the numbers both report (a few milliseconds).
read -r duck_s duck_kb < <(measure "duckdb SUMMARIZE" python3 "$REPO/tests/bench/profile_duckdb.py" "$FILE" --compare "$OUT")
python3 - "$OUT" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print(f"lathe: {p['rows']} rows, {len(p['columns'])} columns, {p['duplicate_rows']} duplicate rows, "
      f"{len(p['correlations']['spearman']['columns'])}x{len(p['correlations']['spearman']['columns'])} correlations")
PY
awk -v l="$lathe_s" -v lk="$lathe_kb" -v d="$duck_s" -v dk="$duck_kb" 'BEGIN {
  printf "lathe %.1f s (%.0f MiB peak), duckdb SUMMARIZE %.1f s (%.0f MiB peak): lathe takes %.2fx its time\n", l, lk/1024, d, dk/1024, l/d }'
