// Presentation helpers of the Runs view: a run's start time, turning a drag across a chart into
// an x range, and the columns shown first.

export type Agg = "last" | "min" | "max";

/** Milliseconds since the epoch as a short UTC date-time. */
export function runTime(ms: number | null): string {
  if (ms === null) return "";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * A drag from pixel `a` to pixel `b` (in the chart's own pixels) over a plot spanning
 * [left, right] pixels and [x0, x1] in data: the x range to zoom to, or null for a click.
 */
export function dragToRange(a: number, b: number, left: number, right: number, x0: number, x1: number): [number, number] | null {
  const lo = Math.max(left, Math.min(a, b));
  const hi = Math.min(right, Math.max(a, b));
  if (hi - lo < 4 || right <= left) return null;
  const at = (px: number) => x0 + ((px - left) / (right - left)) * (x1 - x0);
  return [at(lo), at(hi)];
}

/**
 * The columns shown before the user chooses: the `n` keys that the most of `have` (one key set
 * per loaded run) hold, the most held first, ties in `keys`' own order; keys no loaded run holds
 * are left out unless nothing is loaded. A project mixing regressors and classifiers then opens
 * on the metrics most of its runs report, not on the alphabetically first ones.
 */
export function commonKeys(keys: string[], have: string[][], n: number): string[] {
  if (have.length === 0) return keys.slice(0, n);
  const count = new Map<string, number>();
  for (const run of have) for (const k of run) count.set(k, (count.get(k) ?? 0) + 1);
  return keys
    .map((k, i) => ({ k, i, c: count.get(k) ?? 0 }))
    .filter((e) => e.c > 0)
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .slice(0, n)
    .map((e) => e.k);
}
