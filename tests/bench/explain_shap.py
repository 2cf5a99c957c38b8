"""The Python peer of tests/bench/explain.sh: shap 0.51 on the same model (through onnxruntime,
one session, default threads) and the same rows, background shap.sample(X, 100, seed 0).

    python3 explain_shap.py exact|permutation|tree MODEL.onnx DATA.csv ROWS [SKLEARN_PICKLE]

Prints the seconds shap took (explainer construction included, model loading and CSV reading
excluded) and writes the values next to the model as <model>-<algorithm>-shap.npy.
"""

import sys
import time

import numpy as np
import onnxruntime as ort
import pandas as pd
import shap

algorithm, model, data, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
X = pd.read_csv(data).drop(columns=["y"]).to_numpy(np.float64)
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
f = lambda a: sess.run(None, {name: np.asarray(a, dtype=np.float32)})[1][:, 1].astype(np.float64)
bg = shap.sample(X, 100, random_state=0).astype(np.float32).astype(np.float64)
x = X[:rows]
# Warm up first (shap compiles its numba kernels on the first row, ~10 s): only the
# explanation itself is timed.
if algorithm == "exact":
    shap.ExactExplainer(f, bg)(x[:1])
elif algorithm == "permutation":
    shap.PermutationExplainer(f, bg, seed=0)(x[:1], max_evals=500)
start = time.perf_counter()
if algorithm == "exact":
    values = shap.ExactExplainer(f, bg)(x).values
elif algorithm == "permutation":
    values = shap.PermutationExplainer(f, bg, seed=0)(x, max_evals=500).values
else:
    import pickle

    est = pickle.load(open(sys.argv[5], "rb"))
    ex = shap.TreeExplainer(est, data=bg, feature_perturbation="interventional")
    values = np.asarray(ex.shap_values(x.astype(np.float32).astype(np.float64), check_additivity=False))[:, :, 1]
seconds = time.perf_counter() - start
np.save(model.replace(".onnx", f"-{algorithm}-shap.npy"), values)
print(f"{seconds:.3f}")
