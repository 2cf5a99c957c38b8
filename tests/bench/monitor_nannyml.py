"""The monitoring benchmark's peer: NannyML's CBPE (six binary metrics) and data
reconstruction drift on the same tables and chunks as `lathe monitor`, reading included.

    NML_DISABLE_USAGE_LOGGING=1 PYTHON tests/bench/monitor_nannyml.py REF ANA FEATURES CHUNK
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
print(len(estimated), len(reconstructed), int(estimated[("roc_auc", "alert")].sum()))
