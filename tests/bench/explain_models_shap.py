"""The Python peer of tests/bench/explain_models.sh: shap 0.51 over onnxruntime on the same model,
rows and background (shap.sample(X, BG, seed 0), float32) as `lathe explain`.

    python3 explain_models_shap.py permutation|kernel|exact MODEL.onnx DATA.csv ROWS BG THREADS

permutation: PermutationExplainer(seed=0), max_evals 600; kernel: KernelExplainer after
np.random.seed(0), nsamples 2108 (2 × 30 + 2048), l1_reg num_features(10) (shap's default);
exact: ExactExplainer. onnxruntime runs with THREADS intra-op threads. Prints the seconds of
the explanation (after a warm-up row; model loading and CSV reading excluded) and writes the
values as MODEL-ALGORITHM-shap.npy.
"""

import sys
import time
import warnings

import numpy as np
import onnxruntime as ort
import pandas as pd
import shap

algorithm, model, data = sys.argv[1], sys.argv[2], sys.argv[3]
rows, bg_rows, threads = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
X = pd.read_csv(data).drop(columns=["y"]).to_numpy(np.float64)
options = ort.SessionOptions()
options.intra_op_num_threads = threads
sess = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
if len(sess.get_outputs()) > 1:
    f = lambda a: sess.run(None, {name: np.asarray(a, dtype=np.float32)})[1][:, 1].astype(np.float64)
else:
    f = lambda a: sess.run(None, {name: np.asarray(a, dtype=np.float32)})[0].astype(np.float64).ravel()
bg = shap.sample(X, bg_rows, random_state=0).astype(np.float32).astype(np.float64)
x = X[:rows].astype(np.float32).astype(np.float64)


def run(x):
    if algorithm == "exact":
        return shap.ExactExplainer(f, bg)(x).values
    if algorithm == "permutation":
        return shap.PermutationExplainer(f, bg, seed=0)(x, max_evals=600).values
    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return shap.KernelExplainer(f, bg).shap_values(x, nsamples=2108, silent=True)


run(x[:1])
start = time.perf_counter()
values = run(x)
seconds = time.perf_counter() - start
np.save(model.replace(".onnx", f"-{algorithm}-shap.npy"), np.asarray(values))
print(f"{seconds:.3f}")
