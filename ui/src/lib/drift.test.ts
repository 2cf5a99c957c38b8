import { describe, expect, it } from "vitest";
import type { ColumnDrift } from "../bindings/ColumnDrift";
import { formatThreshold, sortDriftColumns } from "./drift";

function column(name: string, score: number, drifted: boolean): ColumnDrift {
  return {
    name,
    kind: "numeric",
    method: "ks",
    method_reason: "",
    score,
    statistic: 0,
    p_value: score,
    threshold: 0.05,
    drifted,
    n_reference: 10,
    n_current: 10,
    dropped_non_finite: { reference: 0, current: 0 },
    distinct: 10,
    is_test: true,
    score_text: String(score),
    effect: { measure: "mean_shift", value: null, text: "", category: null, short: "—" },
    bins: { edges: null, labels: [], reference: [], current: [] },
  };
}

describe("sortDriftColumns", () => {
  const columns = [column("b", 0.5, false), column("a", 0.01, true), column("c", 0.001, true)];

  it("puts drifted columns first, by name within", () => {
    expect(sortDriftColumns(columns, { key: "drift", descending: true }).map((c) => c.name)).toEqual(["a", "c", "b"]);
  });

  it("sorts by score both ways", () => {
    expect(sortDriftColumns(columns, { key: "score", descending: false }).map((c) => c.name)).toEqual(["c", "a", "b"]);
    expect(sortDriftColumns(columns, { key: "score", descending: true }).map((c) => c.name)).toEqual(["b", "a", "c"]);
  });

  it("sorts by name and leaves the input alone", () => {
    expect(sortDriftColumns(columns, { key: "name", descending: false }).map((c) => c.name)).toEqual(["a", "b", "c"]);
    expect(columns.map((c) => c.name)).toEqual(["b", "a", "c"]);
  });
});

describe("formatThreshold", () => {
  it("switches to an exponent below 0.001", () => {
    expect(formatThreshold(0.05)).toBe("0.050");
    expect(formatThreshold(10 ** -9)).toBe("1.0e-9");
  });
});
