import { describe, expect, it } from "vitest";
import { ago, countLabel, formatTimestamp, percent } from "./format";

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

describe("ago", () => {
  const t = "2026-11-26T16:10:47.091Z";
  const at = Date.parse(t);
  it("counts seconds, minutes and hours", () => {
    expect(ago(t, at + 400)).toBe("0 s ago");
    expect(ago(t, at + 59_999)).toBe("59 s ago");
    expect(ago(t, at + 61_000)).toBe("1 min ago");
    expect(ago(t, at + 7_300_000)).toBe("2 h ago");
  });
  it("writes older times, clock skew and the unreadable plainly", () => {
    expect(ago(t, at + 90_000_000)).toBe("2026-11-26 16:10:47 UTC");
    expect(ago(t, at - 5_000)).toBe("0 s ago");
    expect(ago("yesterday", at)).toBe("yesterday");
  });
});

describe("percent", () => {
  it("is null without a total", () => expect(percent(5, null)).toBeNull());
  it("is clamped and rounded", () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(9, 3)).toBe(100);
  });
});
