import { StringValueSchema, UInt32ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Code, codeToString, IpcError, isIpcError } from "./error.js";

describe("IpcError", () => {
  it("prefixes the message with the code's gRPC name and keeps the raw message", () => {
    const e = new IpcError("frame of 5 bytes exceeds maxFrameBytes 4", Code.ResourceExhausted);
    expect(e.message).toBe("[resource_exhausted] frame of 5 bytes exceeds maxFrameBytes 4");
    expect(e.rawMessage).toBe("frame of 5 bytes exceeds maxFrameBytes 4");
    expect(e.name).toBe("IpcError");
    expect(e).toBeInstanceOf(Error);
  });

  it("numbers codes like gRPC", () => {
    expect([
      Code.Canceled,
      Code.DeadlineExceeded,
      Code.Unimplemented,
      Code.Unavailable,
      Code.Unauthenticated,
    ]).toEqual([1, 4, 12, 14, 16]);
    expect(codeToString(Code.DeadlineExceeded)).toBe("deadline_exceeded");
  });

  it("packs typed details and finds them by type", () => {
    const e = new IpcError("bad", Code.InvalidArgument, {
      details: [
        { desc: StringValueSchema, value: { value: "prompt" } },
        { desc: UInt32ValueSchema, value: { value: 7 } },
      ],
    });
    expect(e.findDetails(StringValueSchema).map((d) => d.value)).toEqual(["prompt"]);
    expect(e.findDetails(UInt32ValueSchema).map((d) => d.value)).toEqual([7]);
  });

  it("normalises anything thrown", () => {
    const same = new IpcError("x", Code.NotFound);
    expect(IpcError.from(same)).toBe(same);
    expect(IpcError.from(new Error("boom")).code).toBe(Code.Unknown);
    expect(IpcError.from(new Error("boom"), Code.Internal).rawMessage).toBe("boom");
    expect(IpcError.from(new DOMException("gone", "AbortError")).code).toBe(Code.Canceled);
    expect(IpcError.from(new DOMException("late", "TimeoutError")).code).toBe(
      Code.DeadlineExceeded,
    );
    expect(IpcError.from("text").rawMessage).toBe("text");
    expect(isIpcError(same, Code.NotFound)).toBe(true);
    expect(isIpcError(same, Code.Internal)).toBe(false);
  });
});
