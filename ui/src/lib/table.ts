// The arithmetic of the virtualised rows table: which rows are on screen, which pages hold
// them, and how a click on a column header changes the sort.

/** Rows [first, end) that are visible (plus `overscan` each side), clamped to [0, total). */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 10,
): { first: number; end: number } {
  const top = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const first = Math.max(0, Math.min(total, top - overscan));
  const end = Math.max(first, Math.min(total, top + shown + overscan));
  return { first, end };
}

/** The page numbers (of `pageSize` rows) that hold rows [first, end). */
export function pagesFor(first: number, end: number, pageSize: number): number[] {
  if (end <= first) return [];
  const pages: number[] = [];
  for (let p = Math.floor(first / pageSize); p * pageSize < end; p += 1) pages.push(p);
  return pages;
}

/** A header click: unsorted → ascending → descending → unsorted; another column starts ascending. */
export function nextSort(current: string | null, column: string): string | null {
  if (current === column) return `${column}:desc`;
  if (current === `${column}:desc`) return null;
  return column;
}

/** The direction `sort` gives `column`, for the header arrow. */
export function sortDirection(sort: string | null, column: string): "asc" | "desc" | null {
  if (sort === column) return "asc";
  if (sort === `${column}:desc`) return "desc";
  return null;
}

/** A table cell's text: numbers with thousands separators off (they are data, not counts). */
export function cellText(value: number | string | boolean | null): string {
  if (value === null) return "";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
  return String(value);
}
