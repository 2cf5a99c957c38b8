#!/usr/bin/env bash
# Benchmark: frame times of the desktop app's run table over 100,000 runs (a sweep to the
# bottom in 120 frames, a steady scroll of 300 frames, and the idle display's baseline), from
# the e2e test `runs::scroll_a_table_of_100000_runs` run alone, with each scroll's median frame
# held to LATHE_FRAME_GATE_MS (default 40 ms). The test suite records the same figures without a
# gate: a frame time measures the machine as much as the app. Run it on an idle machine.
#
#   tests/bench/gui_frames.sh            (LATHE_BENCH_RUNS=N runs, default 3)
#
# Prints each run's figures (target/e2e/runs-scroll.json) and fails when a median is over the gate.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe-target}"
export LATHE_FRAME_GATE_MS="${LATHE_FRAME_GATE_MS:-40}"
RUNS="${LATHE_BENCH_RUNS:-3}"
cd "$REPO"
bash -c 'source scripts/lib.sh; cd "$REPO"; build_ui' > /dev/null
for i in $(seq "$RUNS"); do
  cargo test --locked -p lathe-desktop --test e2e -- --exact runs::scroll_a_table_of_100000_runs \
    > "$CARGO_TARGET_DIR/gui-frames.log" 2>&1 || { tail -20 "$CARGO_TARGET_DIR/gui-frames.log"; exit 1; }
  python3 - "$i" "$REPO/target/e2e/runs-scroll.json" <<'PY'
import json, sys
run, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
for mode in ("idle", "sweep", "steady"):
    m = r[mode]
    print(f"run {run} {mode:6}: frame p50 {m['frame_ms_p50']:.1f} ms, p95 {m['frame_ms_p95']:.1f} ms, "
          f"max {m['frame_ms_max']:.1f} ms, rows filled after {m['rows_filled_after_ms']:.0f} ms")
PY
done
echo "every scroll's median frame under ${LATHE_FRAME_GATE_MS} ms in $RUNS runs"
