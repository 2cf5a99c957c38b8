import { describe, expect, it } from "vitest";
import { formatMetric, metricOrder } from "./models";

describe("metricOrder", () => {
  it("puts the headline metrics first", () => {
    expect(metricOrder(["recall", "accuracy", "log_loss", "zeta", "roc_auc"])).toEqual([
      "accuracy",
      "roc_auc",
      "recall",
      "log_loss",
      "zeta",
    ]);
  });
  it("orders regression metrics", () => {
    expect(metricOrder(["mae", "r2", "rmse"])).toEqual(["r2", "rmse", "mae"]);
  });
});

describe("formatMetric", () => {
  it("shows four decimals, big numbers grouped, and a dash for NaN", () => {
    expect(formatMetric(0.780393)).toBe("0.7804");
    expect(formatMetric(12345.678)).toBe("12,345.7");
    expect(formatMetric(NaN)).toBe("—");
  });
});
