import { describe, expect, it } from "vitest";
import { countLabel, countWithShare, formatStat, formatTimestamp, percent } from "./format";

describe("countLabel", () => {
  it("turns keys into labels", () => {
    expect(countLabel("audit_entries")).toBe("Audit entries");
    expect(countLabel("objects")).toBe("Objects");
  });
});

describe("formatTimestamp", () => {
  it("keeps UTC and drops milliseconds", () => {
    expect(formatTimestamp("2026-11-26T16:10:47.091Z")).toBe("2026-11-26 16:10:47 UTC");
  });
  it("passes through what it does not recognise", () => {
    expect(formatTimestamp("yesterday")).toBe("yesterday");
  });
});

describe("percent", () => {
  it("is null without a total", () => expect(percent(5, null)).toBeNull());
  it("is clamped and rounded", () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(9, 3)).toBe(100);
  });
});

describe("formatStat", () => {
  it.each([
    [null, "–"],
    ["Europe", "Europe"],
    [5140, "5,140"],
    [23.514572864321607, "23.5146"],
    [0.000012345, "1.234e-5"],
    [12345678901.5, "1.235e+10"],
    [0, "0"],
    [-0.4570663, "-0.457066"],
  ])("%s → %s", (value, text) => expect(formatStat(value)).toBe(text));
});

describe("countWithShare", () => {
  it("adds the share of the total", () => expect(countWithShare(8, 406)).toBe("8 (2.0%)"));
  it("leaves zero and empty tables plain", () => {
    expect(countWithShare(0, 406)).toBe("0");
    expect(countWithShare(3, 0)).toBe("3");
  });
});
