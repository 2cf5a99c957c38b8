"""Makes what tests/bench/serve.sh serves: the demo's two breast-cancer models (the 100-tree
random forest and the StandardScaler + LogisticRegression pipeline), trained exactly as
tests/fixtures/models_reference.py trains the shipped ONNX files, saved with joblib for
MLServer (mlserver-sklearn), with MLServer's model settings; and the request bodies: the
Open Inference Protocol's JSON with 1 and 100 rows of the demo table, asking each server for
the label and the probabilities.

    python make_serve_bench.py OUT_DIR
"""

import json
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    out = Path(sys.argv[1])
    bc = pd.read_csv(ROOT / "assets" / "datasets" / "breast_cancer.csv")
    features = [c for c in bc.columns if c not in ("target", "diagnosis")]
    X = bc[features].to_numpy(np.float32)
    y = bc["target"].to_numpy()
    models = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(X, y),
    }
    for name, model in models.items():
        folder = out / "mlserver" / name
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, folder / "model.joblib")
        (folder / "model-settings.json").write_text(json.dumps({
            "name": name,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib", "version": "1"},
        }))
    (out / "features.txt").write_text(",".join(features))
    for rows in (1, 100):
        data = X[:rows].astype(float).tolist()
        tensor = {"name": "input", "shape": [rows, len(features)], "datatype": "FP32", "data": data}
        (out / f"lathe-{rows}.json").write_text(json.dumps({
            "inputs": [tensor], "outputs": [{"name": "label"}, {"name": "probabilities"}],
        }))
        (out / f"mlserver-{rows}.json").write_text(json.dumps({
            "inputs": [tensor], "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
        }))


if __name__ == "__main__":
    main()
