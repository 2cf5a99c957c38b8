#!/usr/bin/env bash
# Benchmark: Lathe's ONNX runtime (`lathe model predict --repeat`, release build) against
# onnxruntime (pip) on the same models and rows: a 50-tree random forest and a StandardScaler +
# LogisticRegression pipeline over 100,000 x 20 rows. Prediction time only (best of 5; reading
# the CSV excluded on both sides), single-threaded and on every core. Also checks that both
# give the same labels. Not part of the test suite.
#
#   tests/bench/models.sh [ROWS]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
. "$REPO/tests/bench/lib.sh"
ROWS="${1:-100000}"
DIR="$DATA/models-$ROWS"
[ -f "$DIR/forest.onnx" ] || python3 "$REPO/tests/bench/make_model_bench.py" "$DIR" "$ROWS"
CSV="$DIR/rows-$ROWS.csv"
FEATURES="$(head -1 "$CSV" | cut -d, -f1-20)"
CORES="$(nproc)"
cd "$DIR"
for model in forest logreg; do
  for threads in 1 "$CORES"; do
    lathe_ms="$("$LATHE" model predict "$model.onnx" "$CSV" --features "$FEATURES" --threads "$threads" --repeat 5 --out "$DIR/$model-lathe.csv" 2>&1 >/dev/null | sed -n 's/.*best of 5 runs \([0-9.]*\) ms.*/\1/p')"
    ort_ms="$(python3 "$REPO/tests/bench/models_ort.py" "$model.onnx" "$CSV" "$threads" 5)"
    awk -v m="$model" -v t="$threads" -v l="$lathe_ms" -v o="$ort_ms" 'BEGIN {
      printf "%-6s %d thread(s): lathe %.1f ms, onnxruntime %.1f ms: lathe/onnxruntime = %.2f\n", m, t, l, o, l/o }'
  done
  python3 - "$model.onnx" "$CSV" "$DIR/$model-lathe.csv" <<'PY'
import sys
import numpy as np, onnxruntime as ort, pandas as pd
X = pd.read_csv(sys.argv[2]).drop(columns=["y"]).to_numpy(np.float32)
sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
label, proba = sess.run(None, {sess.get_inputs()[0].name: X})
ours = pd.read_csv(sys.argv[3])
same = (ours["label"].to_numpy() == label).mean()
diff = np.abs(ours[["probabilities_0", "probabilities_1"]].to_numpy() - proba).max()
print(f"  same labels on {same:.4%} of rows; largest probability difference {diff:.2e}")
PY
done
