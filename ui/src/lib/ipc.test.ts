import { describe, expect, it } from "vitest";
import { taskError, toIpcError } from "./ipc";

describe("toIpcError", () => {
  it("keeps a { code, message } from Rust as is", () => {
    expect(toIpcError({ code: "not_a_project", message: "not a Lathe project: /x", extra: 1 })).toEqual({
      code: "not_a_project",
      message: "not a Lathe project: /x",
    });
  });
  it("wraps strings (Tauri's own rejections, e.g. a denied command)", () => {
    expect(toIpcError("command open_project not allowed")).toEqual({
      code: "internal",
      message: "command open_project not allowed",
    });
  });
  it("wraps JS errors and anything else", () => {
    expect(toIpcError(new Error("boom")).message).toBe("boom");
    expect(toIpcError(42)).toEqual({ code: "internal", message: "unexpected error: 42" });
  });
});

describe("taskError", () => {
  it("says what a cancel did instead of the core's message", () => {
    expect(taskError({ code: "cancelled", message: "cancelled" }, "Import cancelled; nothing was changed.")).toEqual({
      code: "cancelled",
      message: "Import cancelled; nothing was changed.",
    });
  });
  it("passes other errors through", () => {
    expect(taskError({ code: "remote", message: "cannot connect" }, "x")).toEqual({ code: "remote", message: "cannot connect" });
  });
});
