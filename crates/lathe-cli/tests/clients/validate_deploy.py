"""Validates a bundle's deploy/ files against the Kubernetes API's own schemas with PyPI's
kubernetes-validate (strict: unknown fields are errors), as ops would before `kubectl apply`:
every document of deploy/kubernetes.yaml (the Deployment and the Service) and, for
deploy/kserve.yaml, its predictor's containers as a Pod's (the InferenceService's own envelope
follows KServe's CRD, which kubernetes-validate does not carry). Prints what it checked; exits
non-zero on the first invalid document.

    python validate_deploy.py BUNDLE_DIR
"""

import sys
from pathlib import Path

import kubernetes_validate
import yaml

VERSION = "1.33.0"


def main() -> None:
    deploy = Path(sys.argv[1]) / "deploy"
    checked = []
    for doc in yaml.safe_load_all((deploy / "kubernetes.yaml").read_text()):
        kubernetes_validate.validate(doc, VERSION, strict=True)
        checked.append(doc["kind"])
    isvc = yaml.safe_load((deploy / "kserve.yaml").read_text())
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": isvc["metadata"]["name"], "annotations": isvc["metadata"]["annotations"]},
        "spec": {"containers": isvc["spec"]["predictor"]["containers"]},
    }
    kubernetes_validate.validate(pod, VERSION, strict=True)
    checked.append("InferenceService predictor containers (as a Pod)")
    print("valid against Kubernetes " + VERSION + ": " + ", ".join(checked))


if __name__ == "__main__":
    try:
        main()
    except kubernetes_validate.ValidationError as e:
        print(f"invalid: {e.message} at {list(e.path)}", file=sys.stderr)
        sys.exit(1)
