import { describe, expect, it } from "vitest";
import { cellText, nextSort, pagesFor, sortDirection, visibleRange } from "./table";

describe("visibleRange", () => {
  it("covers the viewport plus overscan", () => {
    expect(visibleRange(0, 280, 28, 1000, 5)).toEqual({ first: 0, end: 16 });
    expect(visibleRange(2800, 280, 28, 1000, 5)).toEqual({ first: 95, end: 116 });
  });
  it("clamps to the table", () => {
    expect(visibleRange(28_000, 280, 28, 1000, 5)).toEqual({ first: 995, end: 1000 });
    expect(visibleRange(0, 280, 28, 0, 5)).toEqual({ first: 0, end: 0 });
    expect(visibleRange(-50, 280, 28, 3, 5)).toEqual({ first: 0, end: 3 });
  });
  it("handles ten million rows", () => {
    const { first, end } = visibleRange(9_999_990 * 28, 560, 28, 10_000_000, 10);
    expect(end).toBe(10_000_000);
    expect(first).toBe(9_999_980);
  });
});

describe("pagesFor", () => {
  it("lists every page touched", () => {
    expect(pagesFor(0, 16, 200)).toEqual([0]);
    expect(pagesFor(190, 210, 200)).toEqual([0, 1]);
    expect(pagesFor(400, 400, 200)).toEqual([]);
  });
});

describe("sorting by header clicks", () => {
  it("cycles ascending, descending, none", () => {
    expect(nextSort(null, "age")).toBe("age");
    expect(nextSort("age", "age")).toBe("age:desc");
    expect(nextSort("age:desc", "age")).toBeNull();
    expect(nextSort("age:desc", "bmi")).toBe("bmi");
    expect(sortDirection("age:desc", "age")).toBe("desc");
    expect(sortDirection("age", "bmi")).toBeNull();
  });
});

describe("cellText", () => {
  it("shows data as data", () => {
    expect(cellText(null)).toBe("");
    expect(cellText(1234567)).toBe("1234567");
    expect(cellText(0.1 + 0.2)).toBe("0.3");
    expect(cellText(true)).toBe("true");
    expect(cellText("NaN")).toBe("NaN");
  });
});
