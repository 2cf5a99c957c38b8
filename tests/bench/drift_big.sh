#!/usr/bin/env bash
# Benchmark: drift of two large Parquet files in bounded memory. Generates a reference and a
# current ROWS x 25 table (default 50,000,000 rows each; the profile benchmark's column mix,
# the current from another seed with the normal columns shifted by 1.0), then times
# `lathe drift REF CUR --json` (default memory limit) with its peak RSS, and prints what it
# found. Not part of the test suite (release build, ~14 GB of disk, most of an hour).
#
#   tests/bench/drift_big.sh [ROWS]          (LATHE_BENCH_RUNS=N runs, default 1)
set -euo pipefail
export OUT
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export LATHE_BENCH_RUNS="${LATHE_BENCH_RUNS:-1}"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-50000000}"
REF="$DATA/drift-ref-$ROWS.parquet"
CUR="$DATA/drift-cur-$ROWS.parquet"

[ -f "$REF" ] || python3 "$REPO/tests/bench/make_table.py" "$REF" "$ROWS" 20261126
[ -f "$CUR" ] || python3 "$REPO/tests/bench/make_table.py" "$CUR" "$ROWS" 7 1.0
ls -l "$REF" "$CUR"

OUT="$DATA/drift-$ROWS.json"
read -r secs kb < <(measure "lathe drift" sh -c 'exec "$@" > "$OUT"' sh "$LATHE" drift "$REF" "$CUR" --json)
python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['reference']['rows']} vs {r['current']['rows']} rows: {len(r['columns'])} columns tested, "
      f"{r['drifted_columns']} drifted, skipped: {[s['name'] for s in r['skipped']]}")
for c in r["columns"]:
    print(f"  {c['name']:10} {c['method']:14} {c['score']:.6g} {'DRIFT' if c['drifted'] else ''}")
PY
awk -v s="$secs" -v k="$kb" 'BEGIN { printf "lathe drift: %.1f s, %.0f MiB peak\n", s, k/1024 }'
