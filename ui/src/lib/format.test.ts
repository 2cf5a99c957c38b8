import { describe, expect, it } from "vitest";
import { countLabel, formatTimestamp, percent } from "./format";

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
