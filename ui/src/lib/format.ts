// Presentation helpers, shared by every view.

/** A record-count key from `lathe info` as a label: "audit_entries" → "Audit entries". */
export function countLabel(key: string): string {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An RFC 3339 UTC timestamp as "2026-11-26 16:10:47 UTC": unambiguous, sortable by eye. */
export function formatTimestamp(rfc3339: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(rfc3339);
  return match ? `${match[1]} ${match[2]} UTC` : rfc3339;
}

/** Share of work done, 0–100, or null when the total is unknown. */
export function percent(done: number, total: number | null): number | null {
  if (total === null || total <= 0) return null;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}

/** A statistic for a table cell: up to 6 significant digits, plain notation where sensible. */
export function formatStat(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(3);
  return Number(value.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

/** "8 (2.0%)": a count with its share of `total`. */
export function countWithShare(count: number, total: number): string {
  if (total <= 0 || count === 0) return count.toLocaleString("en-US");
  return `${count.toLocaleString("en-US")} (${((count / total) * 100).toFixed(1)}%)`;
}
