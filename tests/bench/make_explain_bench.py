"""Data and models for tests/bench/explain.sh: generated, written to DIR.

- exact.csv / exact_mlp.onnx / exact_gb.onnx: 10 features (a nonlinear binary task), 1,000
  rows; an MLP (16 hidden units) and a 50-stage gradient boosting, for exact SHAP;
- perm.csv / perm_mlp.onnx: 30 features, 2,000 rows, an MLP, for permutation SHAP;
- tree.csv / tree_forest.onnx: 30 features, 2,000 rows, a 50-tree random forest (depth 8).
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType


def export(model, width, path):
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, width]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options={id(model): {"zipmap": False}},
    )
    path.write_bytes(onx.SerializeToString())


def table(rows, width, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(rows, width))
    y = (X[:, 0] + X[:, 1] * X[:, 2] + np.sin(3 * X[:, 3]) + 0.5 * X[:, 4] ** 2 > 0.5).astype(int)
    return X, y


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    for name, rows, width, models in [
        ("exact", 1000, 10, {"mlp": "mlp", "gb": "gb"}),
        ("perm", 2000, 30, {"mlp": "mlp"}),
        ("tree", 2000, 30, {"forest": "forest"}),
    ]:
        X, y = table(rows, width, 0)
        cols = [f"f{i}" for i in range(width)]
        frame = pd.DataFrame(X.astype(np.float32), columns=cols)
        frame["y"] = y
        frame.to_csv(out / f"{name}.csv", index=False)
        for key in models:
            if key == "mlp":
                m = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=500, random_state=0))
            elif key == "gb":
                m = GradientBoostingClassifier(n_estimators=50, random_state=0)
            else:
                m = RandomForestClassifier(n_estimators=50, max_depth=8, random_state=0)
            m.fit(X, y)
            export(m, width, out / f"{name}_{key}.onnx")
            with open(out / f"{name}_{key}.pkl", "wb") as fh:
                pickle.dump(m, fh)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
