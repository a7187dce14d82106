import { Code, IpcError } from "@protoipc/runtime";
import { describe, expect, it } from "vitest";
import { createBackoff } from "./backoff.js";
import { authProof, constantTimeEqual, createAuthNonce } from "./command-frame-auth.js";
import {
  codeFromWire,
  codeToWire,
  decodeCommandFrameMessage,
  encodeCommandFrameMessage,
  errorFromWire,
} from "./command-frame-protocol.js";

describe("command-frame auth helpers", () => {
  it("proves with HMAC-SHA256 over role, challenge and nonce", () => {
    const c = createAuthNonce();
    const n = createAuthNonce();
    expect(c).not.toBe(n);
    const client = authProof("secret", "client", c, n);
    expect(client).toBe(authProof("secret", "client", c, n));
    // The server's proof differs from the client's, so one cannot be reflected as the other.
    expect(authProof("secret", "server", c, n)).not.toBe(client);
    expect(authProof("other", "client", c, n)).not.toBe(client);
    expect(authProof("secret", "client", c, createAuthNonce())).not.toBe(client);
  });

  it("compares secrets of any length", () => {
    expect(constantTimeEqual("token", "token")).toBe(true);
    expect(constantTimeEqual("token", "token2")).toBe(false);
    expect(constantTimeEqual("", "x")).toBe(false);
    expect(constantTimeEqual(new TextEncoder().encode("ab"), "ab")).toBe(true);
  });
});

describe("command-frame protocol", () => {
  it("adds version and timestamp, and refuses frames that are not tagged JSON objects", () => {
    const bytes = encodeCommandFrameMessage({ type: "auth", id: "1" }, 1234);
    expect(decodeCommandFrameMessage(bytes)).toEqual({
      type: "auth",
      id: "1",
      version: "1.0.0",
      timestamp: 1234,
    });
    for (const bad of ["[1]", "null", '{"id":1}', "{", '{"type":3}']) {
      expect(() => decodeCommandFrameMessage(new TextEncoder().encode(bad))).toThrow(IpcError);
    }
    expect(() => decodeCommandFrameMessage(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(
      /malformed command frame/,
    );
  });

  it("maps codes both ways; foreign codes are Unknown, Authentication required is Unauthenticated", () => {
    expect(codeToWire(Code.NotFound)).toBe("NOT_FOUND");
    expect(codeFromWire("NOT_FOUND", "x")).toBe(Code.NotFound);
    expect(codeFromWire("DEADLINE_EXCEEDED", "x")).toBe(Code.DeadlineExceeded);
    expect(codeFromWire("UNKNOWN_ERROR", "x")).toBe(Code.Unknown);
    expect(codeFromWire("AUTH_ERROR", "Authentication required")).toBe(Code.Unauthenticated);
    const e = errorFromWire({ type: "error", error: { code: "E_BUSY" } });
    expect(e.code).toBe(Code.Unknown);
    expect(e.rawMessage).toBe("error E_BUSY without a message");
    expect(e.metadata["error-code"]).toBe("E_BUSY");
  });
});

describe("backoff", () => {
  it("grows exponentially to the cap, jittered downwards, and resets", () => {
    const top = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    expect([top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    top.reset();
    expect(top.next()).toBe(100);
    const low = createBackoff({ initialDelayMs: 100, jitter: 0.5, random: () => 0.999999 });
    expect(low.next()).toBe(50);
    expect(() => createBackoff({ jitter: 2 })).toThrow(IpcError);
  });
});
