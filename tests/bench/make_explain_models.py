"""Models and data for tests/bench/explain_models.sh, written to DIR: the five kinds of model a
person picks, each trained twice (scikit-learn defaults unless said, exported by skl2onnx):

- 30 features: the breast-cancer table (569 rows) for the classifiers, a generated regression
  of 569 rows for the regressor — for permutation SHAP (569 rows) and Kernel SHAP (100 rows);
- 10 features: generated, 1,000 rows — for exact SHAP.

Models: `logreg` (StandardScaler + LogisticRegression), `forest` (RandomForestClassifier, 100
trees), `boosting` (GradientBoostingClassifier, 100 stages), `mlp` (StandardScaler +
MLPClassifier, 100 hidden units), `regression` (StandardScaler + Ridge).

    python3 make_explain_models.py DIR
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType


def export(model, width, path):
    options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, width]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options=options,
    )
    path.write_bytes(onx.SerializeToString())


def models():
    return {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "forest": RandomForestClassifier(n_estimators=100, random_state=0),
        "boosting": GradientBoostingClassifier(random_state=0),
        "mlp": make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=0)),
    }


def write(out, name, X, y):
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"f{i}" for i in range(X.shape[1])])
    frame["y"] = y
    frame.to_csv(out / f"{name}.csv", index=False)


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    bc = load_breast_cancer()
    rng = np.random.RandomState(0)
    X10 = rng.normal(size=(1000, 10))
    y10 = (X10[:, 0] + X10[:, 1] * X10[:, 2] + np.sin(3 * X10[:, 3]) + 0.5 * X10[:, 4] ** 2 > 0.5).astype(int)
    for width, X, y in [(30, bc.data, bc.target), (10, X10, y10)]:
        write(out, f"class{width}", X, y)
        for name, m in models().items():
            m.fit(X, y)
            export(m, width, out / f"{name}{width}.onnx")
        Xr, yr = make_regression(n_samples=569 if width == 30 else 1000, n_features=width, noise=10.0, random_state=0)
        write(out, f"reg{width}", Xr, yr)
        r = make_pipeline(StandardScaler(), Ridge())
        r.fit(Xr, yr)
        export(r, width, out / f"regression{width}.onnx")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
