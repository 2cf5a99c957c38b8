# Shared by the benchmarks (sourced after `set -euo pipefail` and REPO=...): where builds and
# generated data go, how many runs, the release build, and measure().
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe-target}"
DATA="${LATHE_BENCH_DIR:-$HOME/.cache/lathe-bench}"
RUNS="${LATHE_BENCH_RUNS:-3}"
LATHE="$CARGO_TARGET_DIR/release/lathe"
mkdir -p "$DATA"
cargo build --release --locked -p lathe-cli

# The best wall time of $RUNS runs and the peak RSS of a command.
# measure LABEL COMMAND...: prints "LABEL: best of N S s, peak K KiB" on stderr and "S K" on stdout.
measure() {
  local label="$1"; shift
  local best="" peak=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$@" > /dev/null
    read -r secs kb < "$DATA/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
    [ "$kb" -gt "$peak" ] && peak=$kb
  done
  echo "$label: best of $RUNS ${best} s, peak $((peak / 1024)) MiB" >&2
  echo "$best $peak"
}
