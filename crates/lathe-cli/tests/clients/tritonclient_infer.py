"""Drives a running `lathe serve` with NVIDIA's tritonclient (PyPI `tritonclient[http,grpc]`),
the Open Inference Protocol's most used client, as an ops script would: health, metadata, and
inference over REST (binary tensors, the client's default, and JSON) and gRPC, plus one bad
request each way. Reads {"http", "grpc", "model", "rows"} on stdin; prints what it got as JSON
for the Rust test (crates/lathe-cli/tests/cli/serve.rs) to compare with `lathe model predict`.
"""

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def outputs(result):
    return {
        name: result.as_numpy(name).astype(np.float64).tolist()
        for name in ("label", "probabilities")
    }


def main() -> None:
    job = json.load(sys.stdin)
    model = job["model"]
    rows = np.asarray(job["rows"], dtype=np.float32)
    out = {}

    http = httpclient.InferenceServerClient(url=job["http"])
    assert http.is_server_live() and http.is_server_ready() and http.is_model_ready(model)
    out["http_metadata"] = http.get_model_metadata(model)
    for binary in (True, False):
        x = httpclient.InferInput("input", list(rows.shape), "FP32")
        x.set_data_from_numpy(rows, binary_data=binary)
        asked = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("label", "probabilities")]
        out["http_binary" if binary else "http_json"] = outputs(http.infer(model, [x], outputs=asked))
    x = httpclient.InferInput("input", list(rows.shape), "FP32")
    x.set_data_from_numpy(rows)
    out["http_default"] = outputs(http.infer(model, [x]))
    bad = httpclient.InferInput("input", [rows.shape[0], rows.shape[1] - 1], "FP32")
    bad.set_data_from_numpy(rows[:, 1:])
    try:
        http.infer(model, [bad])
        out["http_error"] = None
    except InferenceServerException as e:
        out["http_error"] = {"status": e.status(), "message": e.message()}

    grpc = grpcclient.InferenceServerClient(url=job["grpc"])
    assert grpc.is_server_live() and grpc.is_server_ready() and grpc.is_model_ready(model)
    meta = grpc.get_model_metadata(model, as_json=True)
    out["grpc_metadata"] = meta
    x = grpcclient.InferInput("input", list(rows.shape), "FP32")
    x.set_data_from_numpy(rows)
    out["grpc"] = outputs(grpc.infer(model, [x]))
    bad = grpcclient.InferInput("input", [rows.shape[0], rows.shape[1] - 1], "FP32")
    bad.set_data_from_numpy(rows[:, 1:])
    try:
        grpc.infer(model, [bad])
        out["grpc_error"] = None
    except InferenceServerException as e:
        out["grpc_error"] = {"status": e.status(), "message": e.message()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
