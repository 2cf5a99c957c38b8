import { describe, expect, it } from "vitest";
import { commonKeys, dragToRange, runTime } from "./runs";

describe("runs helpers", () => {
  it("turns a drag into the x range under it", () => {
    // Plot from pixel 76 to 886 showing steps 0..810: one step a pixel.
    expect(dragToRange(176, 276, 76, 886, 0, 810)).toEqual([100, 200]);
    expect(dragToRange(276, 176, 76, 886, 0, 810)).toEqual([100, 200]);
    expect(dragToRange(10, 86, 76, 886, 0, 810)).toEqual([0, 10]);
    expect(dragToRange(100, 102, 76, 886, 0, 810)).toBeNull();
  });
  it("formats epoch milliseconds in UTC", () => {
    expect(runTime(1764000000000)).toBe("2025-11-24 16:00");
    expect(runTime(null)).toBe("");
  });
  it("shows by default the keys most loaded runs hold, the most held first", () => {
    const keys = ["acc", "log_loss", "mae", "r2", "rmse"];
    const regressors = Array(8).fill(["mae", "r2", "rmse"]);
    const classifiers = Array(2).fill(["acc", "log_loss"]);
    expect(commonKeys(keys, [...regressors, ...classifiers], 4)).toEqual(["mae", "r2", "rmse", "acc"]);
    expect(commonKeys(keys, regressors, 6)).toEqual(["mae", "r2", "rmse"]);
    expect(commonKeys(keys, [], 2)).toEqual(["acc", "log_loss"]);
  });
});
