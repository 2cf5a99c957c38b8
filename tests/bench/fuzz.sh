#!/usr/bin/env bash
# Benchmark mode of the hostile-input tests (crates/lathe-core/tests/fuzz): every parser fed
# LATHE_FUZZ_CASES generated and mutated inputs (default 1,000,000 each) in a release build,
# one parser at a time, each case under the allocation cap. Prints per parser the cases run,
# the time and the largest allocation a case made; fails on the first property that breaks
# (with the smallest input proptest finds). A new seed each run unless LATHE_FUZZ_SEED is set.
#
#   tests/bench/fuzz.sh [FILTER]      (FILTER: a test name part, e.g. the_run_filter_language)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lathe-target}"
export LATHE_FUZZ_CASES="${LATHE_FUZZ_CASES:-1000000}"
export LATHE_FUZZ_SEED="${LATHE_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
cd "$REPO"
echo "seed $LATHE_FUZZ_SEED, $LATHE_FUZZ_CASES cases per parser" >&2
cargo test --release --locked -p lathe-core --test fuzz -- --test-threads=1 --nocapture ${1:+"$1"} 2>&1 \
  | grep -oE "fuzz [^:]+: .*|panicked.*|FAILED.*|test result.*"
