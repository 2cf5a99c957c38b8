// Presentation helpers of the Models view.

/** The order metrics are shown in: the headline ones first, the rest alphabetically. */
export function metricOrder(keys: string[]): string[] {
  const first = ["accuracy", "roc_auc", "f1", "precision", "recall", "log_loss", "r2", "rmse", "mae"];
  const known = first.filter((k) => keys.includes(k));
  return [...known, ...keys.filter((k) => !first.includes(k)).sort()];
}

/** Four significant decimals for scores in [0, 1]; more digits only for larger errors. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 1000) return value.toLocaleString("en-US", { maximumFractionDigits: 1 });
  return value.toFixed(4);
}
