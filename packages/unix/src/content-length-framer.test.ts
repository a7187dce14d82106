import { Code, IpcError } from "@protoipc/runtime";
import { describe, expect, it } from "vitest";
import { createContentLengthFramer } from "./content-length-framer.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const texts = (frames: Uint8Array[]) => frames.map((f) => dec.decode(f));

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function failure(fn: () => unknown): IpcError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return e as IpcError;
  }
  throw new Error("expected a throw");
}

describe("createContentLengthFramer", () => {
  it("encodes LSP's header and round-trips", () => {
    const framer = createContentLengthFramer();
    const wire = concat(framer.encode(bytes('{"a":1}')));
    expect(dec.decode(wire)).toBe('Content-Length: 7\r\n\r\n{"a":1}');
    expect(texts(framer.createDecoder().push(wire))).toEqual(['{"a":1}']);
  });

  it("decodes the same frames however the bytes are split, including inside the header and its CRLFs", () => {
    const framer = createContentLengthFramer();
    const payloads = ["{}", "é ünïcødé", "x".repeat(300), '{"jsonrpc":"2.0"}'];
    const wire = concat(payloads.flatMap((p) => framer.encode(bytes(p))));
    for (let cut = 1; cut < wire.byteLength; cut++) {
      for (const step of [1, 7]) {
        const d = framer.createDecoder();
        const got: Uint8Array[] = [];
        got.push(...d.push(wire.subarray(0, cut)));
        for (let at = cut; at < wire.byteLength; at += step) {
          got.push(...d.push(wire.subarray(at, Math.min(wire.byteLength, at + step))));
        }
        expect(texts(got)).toEqual(payloads);
        expect(d.bufferedBytes).toBe(0);
      }
    }
  });

  it("returns several frames from one read, and holds a partial one", () => {
    const framer = createContentLengthFramer();
    const d = framer.createDecoder();
    const frames = d.push(
      bytes("Content-Length: 1\r\n\r\naContent-Length: 2\r\n\r\nbcContent-Length: 3\r\n\r\nde"),
    );
    expect(texts(frames)).toEqual(["a", "bc"]);
    expect(d.bufferedBytes).toBeGreaterThan(0);
    expect(texts(d.push(bytes("f")))).toEqual(["def"]);
    expect(d.bufferedBytes).toBe(0);
  });

  it("matches the header name case-insensitively, accepts bare LF, ignores other headers", () => {
    const d = createContentLengthFramer().createDecoder();
    const wire =
      "content-length: 2\n\nab" +
      "CONTENT-LENGTH:3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\nabc" +
      "X-Other: 1\nContent-Length:  1 \n\nz";
    expect(texts(d.push(bytes(wire)))).toEqual(["ab", "abc", "z"]);
  });

  it("rejects a declared length over maxFrameBytes before allocating, and stays failed", () => {
    const d = createContentLengthFramer({ maxFrameBytes: 100 }).createDecoder();
    // 2^40 bytes could never be allocated: the throw proves the check comes first.
    const err = failure(() => d.push(bytes("Content-Length: 1099511627776\r\n\r\n")));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("frame of 1099511627776 bytes exceeds maxFrameBytes 100");
    expect(failure(() => d.push(bytes("Content-Length: 1\r\n\r\na"))).code).toBe(
      Code.ResourceExhausted,
    );
    const ok = createContentLengthFramer({ maxFrameBytes: 100 }).createDecoder();
    expect(ok.push(bytes(`Content-Length: 100\r\n\r\n${"y".repeat(100)}`))).toHaveLength(1);
  });

  it("refuses a payload over maxFrameBytes when encoding", () => {
    const framer = createContentLengthFramer({ maxFrameBytes: 4 });
    expect(failure(() => framer.encode(bytes("12345"))).code).toBe(Code.ResourceExhausted);
  });

  it.each([
    ["a length of 0", "Content-Length: 0\r\n\r\n", /below the minimum 1/],
    ["a negative length", "Content-Length: -5\r\n\r\n", /not a decimal integer/],
    ["a non-numeric length", "Content-Length: 12abc\r\n\r\n", /not a decimal integer/],
    ["no content-length", "Content-Type: x\r\n\r\n", /without a content-length/],
    ["a line without a colon", "garbage line\r\n\r\n", /malformed header line/],
    ["conflicting lengths", "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", /conflicting/],
    ["an empty header block", "\r\n\r\n", /without a content-length/],
  ])("rejects %s with InvalidArgument", (_what, wire, message) => {
    const err = failure(() => createContentLengthFramer().createDecoder().push(bytes(wire)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(message);
  });

  it("rejects a header block longer than maxHeaderBytes, in one read or many", () => {
    const framer = createContentLengthFramer({ maxHeaderBytes: 64 });
    const long = bytes(`X-Pad: ${"p".repeat(100)}\r\nContent-Length: 1\r\n\r\na`);
    expect(failure(() => framer.createDecoder().push(long)).code).toBe(Code.ResourceExhausted);
    const d = framer.createDecoder();
    const err = failure(() => {
      for (let at = 0; at < long.byteLength; at += 10) d.push(long.subarray(at, at + 10));
    });
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/maxHeaderBytes 64/);
    expect(d.bufferedBytes).toBeLessThanOrEqual(64);
  });

  it("rejects random garbage without buffering more than the header limit", () => {
    const d = createContentLengthFramer({ maxHeaderBytes: 1024 }).createDecoder();
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0x7f;
    const err = failure(() => d.push(garbage));
    expect([Code.InvalidArgument, Code.ResourceExhausted]).toContain(err.code);
  });

  it("validates its options", () => {
    expect(failure(() => createContentLengthFramer({ maxFrameBytes: 0 })).code).toBe(
      Code.InvalidArgument,
    );
    expect(failure(() => createContentLengthFramer({ maxHeaderBytes: 1.5 })).code).toBe(
      Code.InvalidArgument,
    );
  });
});
