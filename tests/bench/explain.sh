#!/usr/bin/env bash
# Benchmark: `lathe explain` (release build) against shap 0.51 on the same ONNX models, rows and
# background (100 rows, shap.sample with seed 0), one run each, as the issue asks:
# - exact SHAP, 10 features, 1,000 rows: an MLP and a 50-stage gradient boosting (Lathe forced
#   to --algorithm exact; shap's ExactExplainer calls onnxruntime);
# - permutation SHAP, 30 features, 2,000 rows, an MLP, max_evals 500, seed 0;
# - TreeSHAP of a 50-tree random forest, 30 features, 2,000 rows (shap's TreeExplainer, C++).
# Lathe's time is the whole command (reading the CSV and loading the model included); shap's is
# the explanation alone after a warm-up row. Also prints the largest difference of the values.
# Not part of the test suite.
#
#   tests/bench/explain.sh [CASE]   (CASE: only the cases whose name holds it)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
DIR="$DATA/explain"
[ -f "$DIR/tree_forest.onnx" ] || python3 "$REPO/tests/bench/make_explain_bench.py" "$DIR"
cd "$DIR"
ONLY="${1:-}"
run() { # run CASE ALGORITHM MODEL DATA ROWS WIDTH
  local case="$1" algorithm="$2" model="$3" data="$4" rows="$5" width="$6"
  case "$case" in *"$ONLY"*) ;; *) return 0 ;; esac
  local features
  features="$(head -1 "$data" | cut -d, -f1-"$width")"
  local start end lathe_s shap_s
  start=$(date +%s.%N)
  "$LATHE" explain "$model" "$data" --features "$features" --algorithm "$algorithm" \
    --rows "0..$rows" --background 100 --seed 0 --json > "$DIR/$case-lathe.json"
  end=$(date +%s.%N)
  lathe_s=$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')
  shap_s="$(python3 "$REPO/tests/bench/explain_shap.py" "$algorithm" "$model" "$data" "$rows" "${model%.onnx}.pkl" 2>/dev/null)"
  local gap
  gap="$(python3 - "$DIR/$case-lathe.json" "${model%.onnx}-$algorithm-shap.npy" <<'PY'
import json, sys
import numpy as np
ours = np.array(json.load(open(sys.argv[1]))["values"])
theirs = np.load(sys.argv[2])
print(f"{np.abs(ours - theirs).max() / np.abs(theirs).max():.1e}")
PY
)"
  awk -v c="$case" -v l="$lathe_s" -v s="$shap_s" -v g="$gap" 'BEGIN {
    printf "%-22s lathe %7.2f s, shap %7.2f s: shap/lathe = %5.1fx (values differ by %s of the largest)\n", c, l, s, s/l, g }'
}
run exact-mlp exact exact_mlp.onnx exact.csv 1000 10
run exact-boosting exact exact_gb.onnx exact.csv 1000 10
run permutation-mlp permutation perm_mlp.onnx perm.csv 2000 30
run tree-forest tree tree_forest.onnx tree.csv 2000 30
