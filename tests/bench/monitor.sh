#!/usr/bin/env bash
# Benchmark: `lathe monitor` (CBPE of six binary metrics + data reconstruction drift, reading
# included, release build) against NannyML doing the same on the same generated Parquet tables
# and chunks; then both also testing every feature, the score and the target per chunk (Lathe's
# column drift, NannyML's univariate drift calculator). Reports wall time, peak memory and the
# ratio of each. Not part of the test suite.
#
#   tests/bench/monitor.sh [ROWS] [FEATURES] [CHUNK] [SEED]   (defaults 1000000 20 10000 1)
#
# NannyML runs from its own virtualenv (LATHE_NANNYML_PYTHON, default
# ~/.cache/lathe-tools/nannyml-0.13.1/bin/python), made with
#   python3 -m venv ~/.cache/lathe-tools/nannyml-0.13.1 &&
#   ~/.cache/lathe-tools/nannyml-0.13.1/bin/pip install nannyml==0.13.1 statsmodels
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-1000000}"; FEATURES="${2:-20}"; CHUNK="${3:-10000}"; SEED="${4:-1}"
NML="${LATHE_NANNYML_PYTHON:-$HOME/.cache/lathe-tools/nannyml-0.13.1/bin/python}"
DIR="$DATA/monitor-$ROWS-$FEATURES-$SEED"

[ -f "$DIR/analysis.parquet" ] || "$NML" "$REPO/tests/bench/make_monitor_tables.py" "$DIR" "$ROWS" "$FEATURES" "$SEED"
du -sh "$DIR"
FEATS="$(cat "$DIR/features.txt")"

compare() {
  local what="$1" lathe_flag="$2" nml_flag="$3"
  read -r lathe_s lathe_kb < <(measure "lathe monitor ($what)" "$LATHE" monitor "$DIR/reference.parquet" "$DIR/analysis.parquet" \
    --score-column y_pred_proba --prediction-column y_pred --features "$FEATS" --chunk-size "$CHUNK" --json $lathe_flag)
  read -r nml_s nml_kb < <(NML_DISABLE_USAGE_LOGGING=1 measure "nannyml ($what)" "$NML" "$REPO/tests/bench/monitor_nannyml.py" \
    "$DIR/reference.parquet" "$DIR/analysis.parquet" "$FEATS" "$CHUNK" $nml_flag)
  awk -v w="$what" -v l="$lathe_s" -v n="$nml_s" -v lk="$lathe_kb" -v nk="$nml_kb" -v r="$ROWS" -v f="$FEATURES" -v c="$CHUNK" 'BEGIN {
    printf "%s: %d + %d rows, %d features, chunks of %d: lathe %.2f s (%.0f MiB peak), nannyml %.2f s (%.0f MiB peak): lathe is %.1fx faster\n", w, r, r, f, c, l, lk/1024, n, nk/1024, n/l }'
}
compare "CBPE + reconstruction" --no-column-drift ""
compare "with drift per chunk" "" univariate
