import { Code, IpcError } from "@protoipc/runtime";
import { describe, expect, it } from "vitest";
import { createLengthPrefixFramer } from "./length-prefix-framer.js";

const POPPO = new TextEncoder().encode("POPPO");
const enc = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function thrown(fn: () => unknown): IpcError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return e as IpcError;
  }
  throw new Error("expected a throw");
}

const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));

describe.each([
  ["no magic", undefined],
  ["magic POPPO", POPPO],
])("length-prefix framer, %s", (_name, magic) => {
  const framer = createLengthPrefixFramer(magic === undefined ? {} : { magic });
  // Small payloads are copied behind their header, large ones (over 512 bytes) are not: both here.
  const payloads = [
    "{}",
    "",
    `{"type":"command","args":{"x":"é€"}}`,
    "x".repeat(300),
    "y".repeat(2000),
  ];
  const wire = concat(payloads.flatMap((p) => framer.encode(enc.encode(p))));

  it("encodes magic, a u32 big-endian length, then the payload", () => {
    const bytes = concat(framer.encode(enc.encode("abc")));
    const m = magic?.byteLength ?? 0;
    expect(bytes.subarray(0, m)).toEqual(magic ?? new Uint8Array(0));
    expect(Array.from(bytes.subarray(m, m + 4))).toEqual([0, 0, 0, 3]);
    expect(text([bytes.subarray(m + 4)])).toEqual(["abc"]);
  });

  it("decodes several frames from one chunk", () => {
    expect(text(framer.createDecoder().push(wire))).toEqual(payloads);
  });

  it("decodes the same frames when the stream is split at every byte offset", () => {
    for (let cut = 0; cut <= wire.byteLength; cut++) {
      const d = framer.createDecoder();
      const frames = [...d.push(wire.slice(0, cut)), ...d.push(wire.slice(cut))];
      expect(text(frames)).toEqual(payloads);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it("decodes the same frames when every pair of cuts splits the first two frames", () => {
    const end = framer.encode(enc.encode(payloads[0]!))[0]!.byteLength + 2 + 12;
    for (let a = 0; a <= end; a++) {
      for (let b = a; b <= end; b++) {
        const d = framer.createDecoder();
        const frames = [
          ...d.push(wire.slice(0, a)),
          ...d.push(wire.slice(a, b)),
          ...d.push(wire.slice(b)),
        ];
        expect(text(frames)).toEqual(payloads);
      }
    }
  });

  it("decodes byte by byte, reporting the partial frame it holds", () => {
    const d = framer.createDecoder();
    const frames: string[] = [];
    for (let i = 0; i < wire.byteLength; i++) {
      for (const f of d.push(wire.subarray(i, i + 1))) frames.push(new TextDecoder().decode(f));
    }
    expect(frames).toEqual(payloads);
    const half = framer.createDecoder();
    half.push(wire.subarray(0, 3));
    expect(half.bufferedBytes).toBe(3);
  });

  it("rejects a declared length over maxFrameBytes before the payload arrives", () => {
    const small = createLengthPrefixFramer({ maxFrameBytes: 10, ...(magic ? { magic } : {}) });
    const header = concat([magic ?? new Uint8Array(0), new Uint8Array([0xff, 0xff, 0xff, 0xff])]);
    const d = small.createDecoder();
    const err = thrown(() => d.push(header));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toBe("frame of 4294967295 bytes exceeds maxFrameBytes 10");
    // Nothing was buffered for the 4 GiB payload, and the decoder stays failed.
    expect(d.bufferedBytes).toBe(0);
    expect(thrown(() => d.push(new Uint8Array(1))).code).toBe(Code.ResourceExhausted);
    expect(thrown(() => small.encode(new Uint8Array(11))).code).toBe(Code.ResourceExhausted);
    expect(text(small.createDecoder().push(concat(small.encode(new Uint8Array(10)))))).toHaveLength(
      1,
    );
  });
});

describe("length-prefix framer with a magic", () => {
  const framer = createLengthPrefixFramer({ magic: POPPO });

  it("refuses garbage at its first wrong byte, naming what it saw", () => {
    const d = framer.createDecoder();
    expect(d.push(enc.encode("PO"))).toEqual([]);
    const err = thrown(() => d.push(enc.encode("X")));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("frame magic mismatch: expected 50 4f 50 50 4f, got 50 4f 58");
  });

  it("refuses garbage after a good frame in the same chunk, after returning nothing poisoned", () => {
    const d = framer.createDecoder();
    const good = concat(framer.encode(enc.encode("{}")));
    const err = thrown(() => d.push(concat([good, enc.encode("GET / HTTP/1.1\r\n")])));
    expect(err.code).toBe(Code.InvalidArgument);
    // A fresh decoder (a new connection) decodes normally.
    expect(text(framer.createDecoder().push(good))).toEqual(["{}"]);
  });

  it("refuses a frame with the magic of another framer", () => {
    const other = createLengthPrefixFramer({ magic: enc.encode("ZMQ!!") });
    const d = framer.createDecoder();
    expect(thrown(() => d.push(concat(other.encode(enc.encode("{}"))))).code).toBe(
      Code.InvalidArgument,
    );
  });

  it("copies the magic, so changing the caller's array changes nothing", () => {
    const magic = enc.encode("MAGIC");
    const f = createLengthPrefixFramer({ magic });
    magic[0] = 0;
    expect(text(f.createDecoder().push(concat(f.encode(enc.encode("a")))))).toEqual(["a"]);
  });
});

describe("createLengthPrefixFramer options", () => {
  it("refuses a limit that is not a u32 and a magic over 64 bytes", () => {
    expect(thrown(() => createLengthPrefixFramer({ maxFrameBytes: -1 })).code).toBe(
      Code.InvalidArgument,
    );
    expect(thrown(() => createLengthPrefixFramer({ maxFrameBytes: 2 ** 32 })).code).toBe(
      Code.InvalidArgument,
    );
    expect(thrown(() => createLengthPrefixFramer({ magic: new Uint8Array(65) })).code).toBe(
      Code.InvalidArgument,
    );
  });
});
