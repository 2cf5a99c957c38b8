#!/usr/bin/env bash
# Benchmark: `lathe explain` (release build) against shap 0.51 over onnxruntime for the five
# kinds of model a person picks (tests/bench/make_explain_models.py: Scaler + LogisticRegression,
# a 100-tree random forest, a 100-stage gradient boosting, Scaler + MLP, Scaler + Ridge), the
# same rows and background (50 rows, shap.sample with seed 0) on both sides:
# - permutation SHAP, 30 features, 569 rows, max_evals 600 (`--algorithm permutation`);
# - Kernel SHAP, 30 features, 100 rows, nsamples 2108, l1_reg num_features(10);
# - exact SHAP, 10 features, 1,000 rows.
# Each twice: one thread on both sides (RAYON_NUM_THREADS=1; onnxruntime intra_op 1), then two.
# Lathe's time is the whole command (CSV read and model load included); shap's the explanation
# alone after a warm-up row. Prints shap/lathe and the largest difference of the values relative
# to the largest value, and Lathe's peak RSS. Not part of the test suite.
#
#   LATHE_BENCH_PYTHON=~/.cache/explain-fixture/bin/python tests/bench/explain_models.sh [FILTER]
#   (FILTER: only the cases whose "algorithm-model-threads" name holds it)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
PY="${LATHE_BENCH_PYTHON:-python3}"
DIR="$DATA/explain_models"
[ -f "$DIR/regression10.onnx" ] || "$PY" "$REPO/tests/bench/make_explain_models.py" "$DIR"
cd "$DIR"
ONLY="${1:-}"
run() { # run ALGORITHM MODEL WIDTH ROWS THREADS
  local algorithm="$1" model="$2" width="$3" rows="$4" threads="$5"
  local case="$algorithm-$model-${threads}t"
  case "$case" in *"$ONLY"*) ;; *) return 0 ;; esac
  local data="class$width.csv"
  [ "$model" = regression ] && data="reg$width.csv"
  local onnx="$model$width.onnx" features extra=()
  features="$(head -1 "$data" | cut -d, -f1-"$width")"
  case "$algorithm" in
    permutation) extra=(--max-evals 600) ;;
    kernel) extra=(--nsamples 2108) ;;
  esac
  /usr/bin/time -f "%e %M" -o "$DIR/time.txt" env RAYON_NUM_THREADS="$threads" \
    "$LATHE" explain "$onnx" "$data" --features "$features" --algorithm "$algorithm" \
    --rows "0..$rows" --background 50 --seed 0 "${extra[@]}" --json > "$DIR/$case-lathe.json"
  local lathe_s peak shap_s gap
  read -r lathe_s peak < "$DIR/time.txt"
  shap_s="$("$PY" "$REPO/tests/bench/explain_models_shap.py" "$algorithm" "$onnx" "$data" "$rows" 50 "$threads" 2>/dev/null)"
  gap="$("$PY" - "$DIR/$case-lathe.json" "${onnx%.onnx}-$algorithm-shap.npy" <<'PY'
import json, sys
import numpy as np
ours = np.array(json.load(open(sys.argv[1]))["values"])
theirs = np.load(sys.argv[2])
print(f"{np.abs(ours - theirs).max() / np.abs(theirs).max():.1e}")
PY
)"
  awk -v c="$case" -v l="$lathe_s" -v s="$shap_s" -v g="$gap" -v p="$peak" 'BEGIN {
    printf "%-26s lathe %7.2f s (peak %4d MiB), shap %8.2f s: shap/lathe = %6.1fx (values differ by %s)\n", c, l, p / 1024, s, s/l, g }'
}
for threads in 1 2; do
  for model in logreg forest boosting mlp regression; do
    run permutation "$model" 30 569 "$threads"
    run kernel "$model" 30 100 "$threads"
    run exact "$model" 10 1000 "$threads"
  done
done
