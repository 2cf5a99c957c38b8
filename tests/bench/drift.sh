#!/usr/bin/env bash
# Benchmark: `lathe drift REF CUR` (release build; reads both CSVs, tests every column) against
# Evidently's DataDriftPreset report on the same generated 1,000,000 x 25 files (both read the
# files). Reports wall time, peak memory, the ratio, and whether the verdicts agree. Not part of
# the test suite (it needs a release build and minutes of Evidently).
#
#   tests/bench/drift.sh [ROWS]   (LATHE_BENCH_RUNS=N runs of lathe, default 3; Evidently runs once)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-1000000}"
REF="$DATA/drift-reference-$ROWS.csv"
CUR="$DATA/drift-current-$ROWS.csv"

[ -f "$CUR" ] || python3 "$REPO/tests/bench/make_drift_tables.py" "$REF" "$CUR" "$ROWS"
ls -l "$REF" "$CUR"

# Outside any project, so nothing is stored.
cd "$DATA"
read -r lathe_s lathe_kb < <(measure "lathe drift" "$LATHE" drift "$REF" "$CUR" --json)
"$LATHE" drift "$REF" "$CUR" --json > "$DATA/drift-lathe.json"
read -r ev_s ev_kb < <(RUNS=1 measure "evidently DataDriftPreset" python3 "$REPO/tests/bench/drift_evidently.py" "$REF" "$CUR" "$DATA/drift-evidently.json")
python3 - "$DATA/drift-lathe.json" "$DATA/drift-evidently.json" <<'PY'
import json, sys
lathe, ev = (json.load(open(p)) for p in sys.argv[1:3])
worst = max(abs(c["score"] - ev["columns"][c["name"]]["score"]) / max(abs(ev["columns"][c["name"]]["score"]), 1e-12)
            for c in lathe["columns"])
print(f"verdicts: lathe {lathe['drifted_columns']} drifted columns (share {lathe['share_drifted']}), "
      f"evidently {int(ev['count'])} (share {ev['share']}); columns {len(lathe['columns'])} vs {len(ev['columns'])}; "
      f"largest relative score difference {worst:.2e}")
PY
awk -v l="$lathe_s" -v p="$ev_s" -v lk="$lathe_kb" -v pk="$ev_kb" 'BEGIN {
  printf "lathe %.2f s (%.0f MiB peak), evidently %.2f s (%.0f MiB peak): lathe is %.1fx faster\n", l, lk/1024, p, pk/1024, p/l }'

# The HTML report of 100 columns x 1,000,000 rows must stay under 2 MB.
WREF="$DATA/drift-wide-reference-$ROWS.parquet"
WCUR="$DATA/drift-wide-current-$ROWS.parquet"
[ -f "$WCUR" ] || python3 "$REPO/tests/bench/make_wide_drift_tables.py" "$WREF" "$WCUR" "$ROWS"
read -r wide_s wide_kb < <(RUNS=1 measure "lathe drift, 100 columns, --html" "$LATHE" drift "$WREF" "$WCUR" --html "$DATA/drift-wide.html")
echo "100 x $ROWS report: $(stat -c %s "$DATA/drift-wide.html") bytes in ${wide_s} s ($((wide_kb / 1024)) MiB peak)"
