import { describe, expect, it } from "vitest";
import { bundleFileName, cardSections, fileName } from "./bundles";

describe("bundles", () => {
  it("proposes <model>-<version>.tar.gz with safe characters", () => {
    expect(bundleFileName("breast_cancer_classifier", 1)).toBe("breast_cancer_classifier-1.tar.gz");
    expect(bundleFileName("my model/v", 12)).toBe("my_model_v-12.tar.gz");
  });

  it("shows a path's file name", () => {
    expect(fileName("/srv/bundles/churn-3.tar.gz")).toBe("churn-3.tar.gz");
    expect(fileName("C:\\out\\churn-3")).toBe("churn-3");
    expect(fileName("/srv/bundles/folder/")).toBe("folder");
  });

  it("offers the card sections the CLI's --card file takes, each once", () => {
    const keys = cardSections.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) {
      expect([
        "model_details",
        "intended_use",
        "factors",
        "metrics",
        "evaluation_data",
        "training_data",
        "quantitative_analyses",
        "ethical_considerations",
        "caveats",
      ]).toContain(k);
    }
  });
});
