"""onnxruntime's side of tests/bench/models.sh: best of N `InferenceSession.run` times.

    python tests/bench/models_ort.py MODEL.onnx ROWS.csv THREADS [N]
"""

import sys
import time

import numpy as np
import onnxruntime as ort
import pandas as pd

path, data, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 5
X = pd.read_csv(data).drop(columns=["y"]).to_numpy(np.float32)
opts = ort.SessionOptions()
opts.intra_op_num_threads = threads
opts.inter_op_num_threads = 1
sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    sess.run(None, {name: X})
    best = min(best, time.perf_counter() - t)
print(f"{best * 1e3:.2f}")
