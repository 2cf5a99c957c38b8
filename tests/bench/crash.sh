#!/usr/bin/env bash
# Benchmark mode of the crash-consistency tests (crates/lathe-cli/tests/crash): every writer of
# a project killed with SIGKILL at LATHE_CRASH_KILLS seeded random moments (default 200), each
# kill followed by the consistency checks and a rerun that must leave what one uninterrupted
# run leaves. Prints per writer the kills survived and how many landed while it ran. A new seed
# each run unless LATHE_CRASH_SEED is set.
#
#   tests/bench/crash.sh [FILTER]     (FILTER: a test name part, e.g. run_imports)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe-target}"
export LATHE_CRASH_KILLS="${LATHE_CRASH_KILLS:-200}"
export LATHE_CRASH_SEED="${LATHE_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
cd "$REPO"
echo "seed $LATHE_CRASH_SEED, $LATHE_CRASH_KILLS kills per writer" >&2
cargo test --locked -p lathe-cli --test crash -- --nocapture ${1:+"$1"} 2>&1 \
  | grep -oE "crash [^:]+: .*|panicked.*|FAILED.*|test result.*"
