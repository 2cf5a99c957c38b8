#!/usr/bin/env bash
# Benchmark: `lathe check` (release build) against Great Expectations' pandas engine on the same
# generated ROWS x 25 Parquet file and 50-expectation suite (both read the file). Reports wall
# time, peak memory, the ratio, and whether the success flags agree. Not part of the test suite.
#
#   LATHE_BENCH_PYTHON=~/.cache/gx-fixture/bin/python tests/bench/check.sh [ROWS] [SEED]
#   (a Python with great_expectations, pandas and pyarrow; LATHE_BENCH_RUNS=N runs of lathe,
#   GX runs once)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-1000000}"
SEED="${2:-7}"
PY="${LATHE_BENCH_PYTHON:-python3}"
TABLE="$DATA/check-$ROWS-$SEED.parquet"
SUITE="$DATA/check-$ROWS-$SEED.suite.json"

[ -f "$TABLE" ] || "$PY" "$REPO/tests/bench/make_check_bench.py" "$TABLE" "$SUITE" "$ROWS" "$SEED"
ls -l "$TABLE"

cd "$DATA"  # outside any project: nothing is stored
# exit 3 (a failed expectation) is the expected outcome; measure ignores the exit code
read -r lathe_s lathe_kb < <(measure "lathe check" sh -c "\"$LATHE\" check \"$SUITE\" --data \"$TABLE\" --json > \"$DATA/check-lathe.json\" || [ \$? -eq 3 ]")
read -r gx_s gx_kb < <(RUNS=1 measure "GX pandas" "$PY" "$REPO/tests/bench/check_gx.py" "$TABLE" "$SUITE" "$DATA/check-gx.json")
python3 - "$DATA/check-lathe.json" "$DATA/check-gx.json" <<'PY'
import json, sys
lathe, gx = (json.load(open(p)) for p in sys.argv[1:3])
# GX may reorder its results; compare flags per type and count
mine = sorted((r["expectation_type"], r["success"]) for r in lathe["results"])
theirs = sorted(zip(gx["types"], gx["flags"]))
print(f"success flags agree: {mine == theirs}; lathe {lathe['statistics']['successful_expectations']}/50 passed, "
      f"GX {gx['statistics']['successful_expectations']}/50")
PY
awk -v a="$gx_s" -v b="$lathe_s" -v ka="$gx_kb" -v kb="$lathe_kb" \
  'BEGIN { printf "GX / lathe: %.1fx faster; peak %d MiB (lathe) vs %d MiB (GX)\n", a / b, kb / 1024, ka / 1024 }'
