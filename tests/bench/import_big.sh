#!/usr/bin/env bash
# Benchmark: importing a CSV larger than the memory limit. `lathe dataset import` of a
# generated ROWS x 25 CSV (default 20,000,000 rows, 3.3 GB; the profile benchmark's column mix)
# into a new project with the default memory limit: the CSV is written to the Parquet copy a
# chunk at a time and profiled from it. Beside it, DuckDB's SUMMARIZE of the same CSV (its
# profile, read in one pass; it stores nothing). Not part of the test suite (release build,
# ~7 GB of disk).
#
#   tests/bench/import_big.sh [ROWS]          (LATHE_BENCH_RUNS=N runs each side, default 1)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export LATHE_BENCH_RUNS="${LATHE_BENCH_RUNS:-1}"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-20000000}"
FILE="$DATA/table-$ROWS.csv"
[ -f "$FILE" ] || python3 "$REPO/tests/bench/make_table.py" "$FILE" "$ROWS"
ls -l "$FILE"

PROJECT="$(mktemp -d "$DATA/import-project-XXXXXX")"
trap 'rm -rf "$PROJECT"' EXIT
"$LATHE" init "$PROJECT/p" > /dev/null
# A fresh project each run: an unchanged file would not be imported twice.
read -r lathe_s lathe_kb < <(measure "lathe dataset import" sh -c 'rm -rf "$1/p" && "$2" init "$1/p" > /dev/null && exec "$2" dataset import "$3" --project "$1/p"' sh "$PROJECT" "$LATHE" "$FILE")
"$LATHE" dataset list --project "$PROJECT/p"
du -sh "$PROJECT/p/objects"
read -r duck_s duck_kb < <(measure "duckdb SUMMARIZE (csv)" python3 "$REPO/tests/bench/profile_duckdb.py" "$FILE")
awk -v l="$lathe_s" -v lk="$lathe_kb" -v d="$duck_s" -v dk="$duck_kb" 'BEGIN {
  printf "lathe import %.1f s (%.0f MiB peak), duckdb SUMMARIZE %.1f s (%.0f MiB peak): %.2fx\n", l, lk/1024, d, dk/1024, l/d }'
