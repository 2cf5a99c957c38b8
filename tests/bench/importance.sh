#!/usr/bin/env bash
# Benchmark: `lathe runs importance` (release build, the whole command: the project's runs read,
# domains inferred, importances computed) against Optuna's evaluators on the same trials (only
# `get_param_importances` timed, in process). Not part of the test suite.
#
#   LATHE_BENCH_PYTHON=~/.cache/optuna-fixture/bin/python tests/bench/importance.sh [TRIALS] [PARAMS] [SEED]
#   (a Python with optuna 5.1.0 and scikit-learn; the issue's shape is 10000 20)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
N="${1:-10000}"
P="${2:-20}"
SEED="${3:-0}"
PY="${LATHE_BENCH_PYTHON:-python3}"
LOG="$DATA/importance-$N-$P-$SEED.jsonl"
PROJECT="$DATA/importance-$N-$P-$SEED-project"

if [ ! -f "$LOG" ]; then
  "$PY" "$REPO/tests/bench/make_importance_bench.py" write "$LOG" "$N" "$P" "$SEED"
fi
if [ ! -d "$PROJECT" ]; then
  "$LATHE" init "$PROJECT" > /dev/null
  "$LATHE" --project "$PROJECT" runs import "$LOG" > /dev/null
fi
for method in ped-anova fanova; do
  read -r lathe_s lathe_kb < <(measure "lathe runs importance --method $method ($N runs x $P params)" \
    "$LATHE" --project "$PROJECT" runs importance --metric loss --direction minimize --method "$method" --json)
  "$LATHE" --project "$PROJECT" runs importance --metric loss --direction minimize --method "$method" --json > "$DATA/importance-lathe-$method.json"
  "$PY" "$REPO/tests/bench/make_importance_bench.py" time "$LOG" "$method" > "$DATA/importance-optuna-$method.json"
  python3 - "$DATA/importance-lathe-$method.json" "$DATA/importance-optuna-$method.json" "$lathe_s" "$method" <<'PY'
import json, sys
lathe = {p["param"]: p["importance"] for p in json.load(open(sys.argv[1]))["importances"]}
optuna = json.load(open(sys.argv[2]))
worst = max(abs(lathe.get(k, 0.0) - v) for k, v in optuna["importances"].items())
top_l = sorted(lathe, key=lathe.get, reverse=True)[:3]
top_o = sorted(optuna["importances"], key=optuna["importances"].get, reverse=True)[:3]
print(f"{sys.argv[4]}: Optuna {optuna['seconds']:.2f} s / lathe {float(sys.argv[3]):.2f} s = "
      f"{optuna['seconds'] / float(sys.argv[3]):.1f}x; largest importance difference {worst:.2e}; "
      f"top three {'alike' if top_l == top_o else 'DIFFER'} ({top_l} vs {top_o})")
PY
done
