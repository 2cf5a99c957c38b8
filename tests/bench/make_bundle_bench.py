"""A ~200 MB ONNX model for the bundle export benchmark: Y = X · W, W random float32
(100 × 500,000), which compresses about as badly as real weights do.

    python tests/bench/make_bundle_bench.py OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
w = rng.standard_normal((100, 500_000), dtype=np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["input", "w"], ["output"])],
    "big",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 100])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 500_000])],
    [numpy_helper.from_array(w, "w")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
