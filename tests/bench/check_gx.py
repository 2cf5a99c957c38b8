"""GX's pandas engine on the same file and suite as `lathe check` (tests/bench/check.sh):
reads the Parquet file with pandas, validates with result_format BASIC, writes the statistics.

    python check_gx.py TABLE.parquet SUITE.json OUT.json
"""

import json
import sys

import great_expectations as gx
import pandas as pd

table, suite_path, out = sys.argv[1:4]
frame = pd.read_parquet(table)
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("p").add_dataframe_asset("t")
    .add_batch_definition_whole_dataframe("w").get_batch(batch_parameters={"dataframe": frame})
)
spec = json.load(open(suite_path))
suite = gx.ExpectationSuite(name=spec["name"])
for x in spec["expectations"]:
    cls = next(c for c in vars(gx.expectations).values()
               if isinstance(c, type) and getattr(c, "expectation_type", None) == x["type"])
    suite.add_expectation(cls(**x["kwargs"]))
suite = context.suites.add(suite)
result = batch.validate(suite).to_json_dict()
json.dump({"success": bool(result["success"]), "statistics": result["statistics"],
           "flags": [bool(r["success"]) for r in result["results"]],
           "types": [r["expectation_config"]["type"] for r in result["results"]]},
          open(out, "w"), default=str)
