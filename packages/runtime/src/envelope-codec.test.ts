import { create, fromBinary } from "@bufbuild/protobuf";
import { anyPack, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  decodeEnvelope,
  type EnvelopeInit,
  encodeEnvelope,
  FrameKind,
  peekRequestId,
} from "./envelope-codec.js";
import { Code, IpcError } from "./error.js";
import { EnvelopeSchema } from "./gen/protoipc/v1/envelope_pb.js";
import { encodeReferenceEnvelope } from "./testing/reference-envelope.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Representative frames of every kind; the reference serializer must produce the same bytes. */
const frames: Record<string, EnvelopeInit> = {
  request: {
    requestId: 1,
    kind: FrameKind.REQUEST,
    method: "/pixels.v1.PixelService/Ping",
    deadlineUnixMs: 1_763_700_000_000,
    payload: new Uint8Array([0x0a, 0x02, 0x68, 0x69]),
  },
  requestWithMetadata: {
    requestId: 300,
    kind: FrameKind.REQUEST,
    method: "/a.B/C",
    deadlineUnixMs: 5,
    metadata: { authorization: "bearer x", "x-trace": "" },
  },
  response: { requestId: 2 ** 40, kind: FrameKind.RESPONSE, payload: new Uint8Array(200).fill(7) },
  error: {
    requestId: 9,
    kind: FrameKind.ERROR,
    error: {
      code: Code.InvalidArgument,
      message: "prompt is empty — ✗",
      details: [anyPack(StringValueSchema, create(StringValueSchema, { value: "prompt" }))],
    },
  },
  progress: {
    requestId: 3,
    kind: FrameKind.PROGRESS,
    sequence: 100_000,
    payload: new Uint8Array([8, 1]),
  },
  streamItem: { requestId: 3, kind: FrameKind.STREAM_ITEM, sequence: 1, payload: new Uint8Array() },
  end: { requestId: 3, kind: FrameKind.END, sequence: 12 },
  cancel: { requestId: 77, kind: FrameKind.CANCEL },
  heartbeat: { kind: FrameKind.HEARTBEAT },
  hello: {
    kind: FrameKind.HELLO,
    hello: {
      protocolVersion: 1,
      schemaHashes: { "pixels.v1.PixelService": "ab".repeat(32) },
      heartbeatIntervalMs: 1000,
      maxFrameBytes: 4 * 1024 * 1024,
    },
  },
};

describe("method paths", () => {
  it("decodes each frame's own path when paths of the same length alternate", () => {
    const paths = ["/a.B/Cd", "/a.B/Ce", "/a.B/Cd", "/x.Y/Zé", "/x.Y/Zé"];
    const decoded = paths.map(
      (method, i) =>
        decodeEnvelope(encodeEnvelope({ requestId: i + 1, kind: FrameKind.REQUEST, method }))
          .method,
    );
    expect(decoded).toEqual(paths);
  });
});

describe("envelope codec", () => {
  for (const [name, init] of Object.entries(frames)) {
    it(`encodes a ${name} frame byte for byte like @bufbuild/protobuf`, () => {
      expect(hex(encodeEnvelope(init))).toBe(hex(encodeReferenceEnvelope(init)));
    });

    it(`decodes a ${name} frame written by @bufbuild/protobuf`, () => {
      const d = decodeEnvelope(encodeReferenceEnvelope(init));
      expect(d.requestId).toBe(init.requestId ?? 0);
      expect(d.kind).toBe(init.kind);
      expect(d.method).toBe(init.method ?? "");
      expect(d.deadlineUnixMs).toBe(init.deadlineUnixMs ?? 0);
      expect(d.sequence).toBe(init.sequence ?? 0);
      expect(hex(d.payload)).toBe(hex(init.payload ?? new Uint8Array()));
      expect(d.metadata).toEqual(init.metadata);
      expect(d.hello).toEqual(init.hello);
      if (init.error) {
        expect(d.error?.code).toBe(init.error.code);
        expect(d.error?.message).toBe(init.error.message);
        expect(d.error?.details.map((x) => [x.typeUrl, hex(x.value)])).toEqual(
          init.error.details.map((x) => [x.typeUrl, hex(x.value)]),
        );
      }
    });
  }

  it("pins the bytes of a request frame (golden vector shared with the Python runtime)", () => {
    expect(hex(encodeEnvelope(frames.request!))).toBe(
      "080110011a1c2f706978656c732e76312e506978656c536572766963652f50696e67" +
        "20808ad9a5aa3332040a026869",
    );
  });

  it("skips unknown fields, so a newer peer's additions are tolerated", () => {
    const known = encodeEnvelope({ requestId: 5, kind: FrameKind.CANCEL });
    // field 15 varint 1, field 16 fixed64, field 17 length-delimited "xy", field 18 fixed32
    const extra = new Uint8Array([
      0x78, 0x01, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x01, 2, 0x78, 0x79, 0x95, 0x01, 1, 2,
      3, 4,
    ]);
    const d = decodeEnvelope(new Uint8Array([...known, ...extra]));
    expect(d.requestId).toBe(5);
    expect(d.kind).toBe(FrameKind.CANCEL);
  });

  const garbage: Record<string, number[]> = {
    "an empty frame (no kind)": [],
    "a truncated varint": [0x08, 0xff],
    "a length beyond the frame": [0x10, 0x01, 0x32, 0x10, 0x01],
    "a wrong wire type for a known field": [0x0a, 0x01, 0x00],
    "a group wire type": [0x10, 0x01, 0x0b],
    "field number 0": [0x00, 0x01],
    "invalid UTF-8 in the method": [0x10, 0x01, 0x1a, 0x02, 0xc3, 0x28],
    "an 11-byte varint": [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    "a varint beyond 2^53": [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
  };
  for (const [name, bytes] of Object.entries(garbage)) {
    it(`rejects ${name} with InvalidArgument`, () => {
      let err: unknown;
      try {
        decodeEnvelope(new Uint8Array(bytes));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IpcError);
      expect((err as IpcError).code).toBe(Code.InvalidArgument);
      expect((err as IpcError).rawMessage).toMatch(/^malformed envelope: /);
    });
  }

  it("refuses to encode a request id that a double cannot hold", () => {
    expect(() => encodeEnvelope({ requestId: 2 ** 53, kind: FrameKind.REQUEST })).toThrow(/2\^53/);
  });

  it("peeks the request id of an undecoded frame's head", () => {
    const f = encodeEnvelope({
      requestId: 123_456,
      kind: FrameKind.REQUEST,
      payload: new Uint8Array(100),
    });
    expect(peekRequestId(f.subarray(0, 64))).toBe(123_456);
    expect(peekRequestId(new Uint8Array([0x10, 0x01]))).toBe(0);
    expect(peekRequestId(new Uint8Array([0x08, 0xff]))).toBe(0);
  });

  it("round-trips through the reference decoder", () => {
    const e = fromBinary(EnvelopeSchema, encodeEnvelope(frames.hello!));
    expect(e.hello?.schemaHashes["pixels.v1.PixelService"]).toBe("ab".repeat(32));
  });
});
