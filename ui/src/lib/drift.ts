// The Drift page's table order: by name, by score, or drifted columns first.
import type { ColumnDrift } from "../bindings/ColumnDrift";

export interface DriftSort {
  key: "name" | "score" | "drift";
  descending: boolean;
}

/** The columns in the order the table shows them; ties keep the report's order by name. */
export function sortDriftColumns(columns: ColumnDrift[], sort: DriftSort): ColumnDrift[] {
  const sign = sort.descending ? -1 : 1;
  const byName = (a: ColumnDrift, b: ColumnDrift) => a.name.localeCompare(b.name);
  const compare = (a: ColumnDrift, b: ColumnDrift): number => {
    switch (sort.key) {
      case "name":
        return sign * byName(a, b);
      case "score": {
        const d = a.score - b.score;
        return d !== 0 ? sign * d : byName(a, b);
      }
      case "drift": {
        const d = Number(a.drifted) - Number(b.drifted);
        return d !== 0 ? sign * d : byName(a, b);
      }
    }
  };
  return [...columns].sort(compare);
}

/** A threshold as the what-if shows it: three decimals, or the exponent below 0.001. */
export function formatThreshold(t: number): string {
  return t < 0.001 ? t.toExponential(1) : t.toFixed(3);
}
