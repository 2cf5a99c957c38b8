"""Broken and unsupported ONNX files for `lathe model register` (crates/lathe-cli/tests/cli/model.rs).

    pip install 'scikit-learn==1.7.*' 'skl2onnx==1.20.*' 'onnx==1.23.*'
    python tests/corpus/make_model_corpus.py

Writes tests/corpus/models/: each file is refused with a clear error naming what is wrong, and
nothing is registered.
- not_onnx.onnx: a text file; empty.onnx: no bytes; truncated.onnx: half of a real forest;
- unsupported_op.onnx: an SVC exported by skl2onnx (ai.onnx.ml SVMClassifier, which Lathe
  does not run);
- string_input.onnx: a LabelEncoder graph taking strings (Lathe feeds numeric features);
- image_input.onnx: a Relu over a [N, 3, 8, 8] input (not tabular rows).
Not written here: dangling_input.onnx, the smallest input the hostile-input tests
(crates/lathe-core/tests/fuzz) found on which the ONNX runtime (tract) panicked — a mutated
logistic pipeline whose graph output names a value nothing makes.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.svm import SVC

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "corpus" / "models"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "not_onnx.onnx").write_text("this is a CSV file, not a model\n1,2,3\n")
    (OUT / "empty.onnx").write_bytes(b"")
    forest = (ROOT / "tests" / "fixtures" / "models" / "rf_binary.onnx").read_bytes()
    (OUT / "truncated.onnx").write_bytes(forest[: len(forest) // 2])

    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    svc = SVC(probability=False).fit(X, y)
    onx = to_onnx(svc, X[:1], target_opset={"": 17, "ai.onnx.ml": 3}, options={id(svc): {"zipmap": False}})
    (OUT / "unsupported_op.onnx").write_bytes(onx.SerializeToString())

    enc = helper.make_node(
        "LabelEncoder", ["text"], ["code"], domain="ai.onnx.ml",
        keys_strings=["a", "b"], values_int64s=[0, 1],
    )
    g = helper.make_graph(
        [enc], "strings",
        [helper.make_tensor_value_info("text", TensorProto.STRING, [None, 1])],
        [helper.make_tensor_value_info("code", TensorProto.INT64, [None, 1])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 2)])
    m.ir_version = 9
    onnx.checker.check_model(m)
    (OUT / "string_input.onnx").write_bytes(m.SerializeToString())

    relu = helper.make_node("Relu", ["image"], ["out"])
    g = helper.make_graph(
        [relu], "image",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 3, 8, 8])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    (OUT / "image_input.onnx").write_bytes(m.SerializeToString())
    print("wrote", OUT)


if __name__ == "__main__":
    main()
