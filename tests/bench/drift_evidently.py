"""The Python peer of `lathe drift`: Evidently's DataDriftPreset on two CSV files, as a user
runs it (pandas reads the files, the report is computed, the verdict printed as JSON).

    pip install 'evidently==0.7.*' 'pandas<3'
    python tests/bench/drift_evidently.py REFERENCE.csv CURRENT.csv [OUT.json]
"""

import json
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main() -> None:
    reference = pd.read_csv(sys.argv[1])
    current = pd.read_csv(sys.argv[2])
    result = Report([DataDriftPreset()]).run(current, reference).dict()
    out = {"columns": {}}
    for m in result["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            out["count"], out["share"] = m["value"]["count"], m["value"]["share"]
        elif cfg["type"].endswith("ValueDrift"):
            out["columns"][cfg["column"]] = {"method": cfg["method"], "score": m["value"]}
    text = json.dumps(out)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
