"""Generates the models benchmark's data and models (tests/bench/models.sh).

    python tests/bench/make_model_bench.py OUT_DIR [ROWS]

make_classification(ROWS x 20, seed 0) -> OUT_DIR/rows-ROWS.csv (features f0..f19, target y);
a 50-tree RandomForestClassifier (max_depth 12) and a StandardScaler + LogisticRegression
pipeline trained on the first 20,000 rows, exported by skl2onnx (zipmap off).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from skl2onnx import to_onnx
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = Path(sys.argv[1])
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
out.mkdir(parents=True, exist_ok=True)
X, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)
X = X.astype(np.float32)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
frame["y"] = y
frame.to_csv(out / f"rows-{rows}.csv", index=False)
opts = {"zipmap": False}
forest = RandomForestClassifier(n_estimators=50, max_depth=12, random_state=0, n_jobs=-1).fit(X[:20000], y[:20000])
logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:20000], y[:20000])
for name, model in [("forest", forest), ("logreg", logreg)]:
    onx = to_onnx(model, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}, options={id(model): opts})
    (out / f"{name}.onnx").write_bytes(onx.SerializeToString())
print("wrote", out)
