#!/usr/bin/env bash
# Benchmark: `lathe runs import` of a TensorBoard log folder (release build, into a fresh
# project, every point stored) against TensorBoard's EventAccumulator loading every run folder
# with every point kept. The folder is written by tensorboardX (tests/bench/make_tensorboard_bench.py).
# Not part of the test suite.
#
#   LATHE_BENCH_PYTHON=~/.cache/tb-fixture/bin/python tests/bench/tensorboard.sh [RUNS] [TAGS] [STEPS]
#   (a Python with tensorboard and tensorboardX; the issue's shape is 1000 10 10000)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
NRUNS="${1:-100}"
TAGS="${2:-10}"
STEPS="${3:-10000}"
PY="${LATHE_BENCH_PYTHON:-python3}"
LOGS="$DATA/tensorboard-$NRUNS-$TAGS-$STEPS"

if [ ! -f "$LOGS/.done" ]; then
  rm -rf "$LOGS"
  "$PY" "$REPO/tests/bench/make_tensorboard_bench.py" "$LOGS" "$NRUNS" "$TAGS" "$STEPS"
  touch "$LOGS/.done"
fi
du -sh "$LOGS"

read -r lathe_s lathe_kb < <(measure "lathe runs import ($NRUNS runs x $TAGS scalars x $STEPS steps)" bash -c "rm -rf '$DATA/tb-project' && '$LATHE' init '$DATA/tb-project' >/dev/null && '$LATHE' --project '$DATA/tb-project' runs import '$LOGS'")
rm -rf "$DATA/tb-project" && "$LATHE" init "$DATA/tb-project" > /dev/null
"$LATHE" --project "$DATA/tb-project" runs import "$LOGS" --json | python3 -c "import json,sys; s=json.load(sys.stdin); print('lathe stored', s['runs_new'], 'runs,', s['metric_points'], 'points', file=sys.stderr)"
read -r ea_s ea_kb < <(RUNS=1 measure "TensorBoard EventAccumulator" "$PY" "$REPO/tests/bench/tensorboard_ea.py" "$LOGS")
awk -v a="$ea_s" -v b="$lathe_s" -v ka="$ea_kb" -v kb="$lathe_kb" \
  'BEGIN { printf "EventAccumulator / lathe: %.1fx faster; peak %d MiB (lathe) vs %d MiB (EventAccumulator)\n", a / b, kb / 1024, ka / 1024 }'
