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

/** How long before `now` (ms since the epoch) an RFC 3339 time was: "12 s ago", "3 min ago",
 * "2 h ago"; older than a day (or unreadable) as `formatTimestamp` writes it. */
export function ago(rfc3339: string, now: number): string {
  const then = Date.parse(rfc3339);
  if (Number.isNaN(then)) return formatTimestamp(rfc3339);
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatTimestamp(rfc3339);
}

/** Share of work done, 0–100, or null when the total is unknown. */
export function percent(done: number, total: number | null): number | null {
  if (total === null || total <= 0) return null;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}

/** A count for a progress label: 950, 12.5k, 3.2M. */
export function compactCount(n: number): string {
  if (n < 1000) return `${n}`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
}
