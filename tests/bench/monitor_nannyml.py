"""The monitoring benchmark's peer: NannyML's CBPE (six binary metrics) and data
reconstruction drift on the same tables and chunks as `lathe monitor`, reading included; with
`univariate`, also its univariate drift of every feature, the score and the target per chunk
(its default Jensen-Shannon distance), as `lathe monitor` does without --no-column-drift.

    NML_DISABLE_USAGE_LOGGING=1 PYTHON tests/bench/monitor_nannyml.py REF ANA FEATURES CHUNK [univariate]
"""

import sys
import warnings

import pandas as pd
import nannyml as nml

warnings.filterwarnings("ignore")
ref_path, ana_path, features, chunk = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
reference = pd.read_parquet(ref_path)
analysis = pd.read_parquet(ana_path)
cbpe = nml.CBPE(
    y_pred_proba="y_pred_proba",
    y_pred="y_pred",
    y_true="target",
    metrics=["roc_auc", "f1", "precision", "recall", "specificity", "accuracy"],
    problem_type="classification_binary",
    chunk_size=chunk,
)
cbpe.fit(reference)
estimated = cbpe.estimate(analysis).to_df()
drift = nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=chunk)
drift.fit(reference)
reconstructed = drift.calculate(analysis).to_df()
if len(sys.argv) > 5 and sys.argv[5] == "univariate":
    univariate = nml.UnivariateDriftCalculator(
        column_names=features + ["y_pred_proba", "target"], chunk_size=chunk
    )
    univariate.fit(reference)
    print(len(univariate.calculate(analysis).to_df()))
print(len(estimated), len(reconstructed), int(estimated[("roc_auc", "alert")].sum()))
