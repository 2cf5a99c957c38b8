"""MLflow pyfunc adapter written into every Lathe bundle (code/lathe_pyfunc.py).

`mlflow.pyfunc.load_model(BUNDLE).predict(frame)` and `mlflow models serve -m BUNDLE` take a
table of named feature columns (the MLmodel's column signature), pick the model's features in
its order, feed them to the ONNX graph as float32 (as Lathe does) with onnxruntime, and answer
a table with one column per output value: `label`, `probabilities_0`, `probabilities_1`, ...
(`NAME_LABEL` for a probability map), the names `lathe model predict --out` writes. A 2-D
array of features in the model's order is taken too. Needs onnxruntime, numpy and pandas,
which MLflow's ONNX flavor needs already; no network.
"""

import json
import os

import numpy as np
import onnxruntime
import pandas as pd


class LatheModel:
    def __init__(self, onnx_path):
        with open(os.path.join(os.path.dirname(onnx_path), "signature.json")) as f:
            self.features = json.load(f)["features"]
        self.session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def _matrix(self, data):
        if isinstance(data, pd.DataFrame):
            missing = [f for f in self.features if f not in data.columns]
            if missing:
                raise ValueError(
                    "the table has no column(s) " + ", ".join(map(repr, missing))
                    + "; the model's features are: " + ", ".join(self.features)
                )
            data = data[self.features]
        x = np.asarray(data, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(
                f"expected rows of {len(self.features)} features ({', '.join(self.features)}), got shape {x.shape}"
            )
        if np.isnan(x).any():
            row, col = np.argwhere(np.isnan(x))[0]
            raise ValueError(
                f"row {row + 1} has no value (NaN) in feature {self.features[col]!r}; impute or drop such rows"
            )
        return x

    def predict(self, data, params=None):
        x = self._matrix(data)
        if len(self.inputs) == 1:
            feeds = {self.inputs[0]: x}
        else:
            feeds = {name: x[:, [j]] for j, name in enumerate(self.features)}
        columns = {}
        for name, value in zip(self.outputs, self.session.run(None, feeds)):
            if isinstance(value, list):  # ZipMap: one {label: probability} per row
                for label in value[0] if value else []:
                    columns[f"{name}_{label}"] = [row[label] for row in value]
                continue
            value = np.asarray(value)
            if value.ndim <= 1 or value.shape[1] == 1:
                columns[name] = value.reshape(len(x))
            else:
                for j in range(value.shape[1]):
                    columns[f"{name}_{j}"] = value[:, j]
        return pd.DataFrame(columns)


def _load_pyfunc(path):
    return LatheModel(path)
