/**
 * Golden vectors of the native envelope (test/golden/envelope-vectors.json): representative
 * frames of every kind with their exact bytes. Every runtime (TypeScript here, Python later)
 * checks that it encodes the fields to these bytes and decodes the bytes to these fields, so the
 * runtimes stay byte-compatible by test, not by hope.
 */
import { readFileSync } from "node:fs";
import { decodeEnvelope, type EnvelopeInit, encodeEnvelope, FrameKind } from "@protoipc/runtime";
import { encodeReferenceEnvelope } from "@protoipc/runtime/testing";
import { describe, expect, it } from "vitest";

interface VectorFields {
  requestId?: number;
  kind: keyof typeof FrameKind;
  method?: string;
  deadlineUnixMs?: number;
  sequence?: number;
  payloadHex?: string;
  error?: { code: number; message: string; details: { typeUrl: string; valueHex: string }[] };
  hello?: {
    protocolVersion: number;
    schemaHashes: Record<string, string>;
    heartbeatIntervalMs: number;
    maxFrameBytes: number;
  };
  metadata?: Record<string, string>;
}

interface Vector {
  name: string;
  fields: VectorFields;
  hex: string;
}

const vectors: Vector[] = JSON.parse(
  readFileSync(new URL("./golden/envelope-vectors.json", import.meta.url), "utf8"),
).vectors;

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function toInit(f: VectorFields): EnvelopeInit {
  return {
    kind: FrameKind[f.kind],
    ...(f.requestId === undefined ? {} : { requestId: f.requestId }),
    ...(f.method === undefined ? {} : { method: f.method }),
    ...(f.deadlineUnixMs === undefined ? {} : { deadlineUnixMs: f.deadlineUnixMs }),
    ...(f.sequence === undefined ? {} : { sequence: f.sequence }),
    ...(f.payloadHex === undefined ? {} : { payload: fromHex(f.payloadHex) }),
    ...(f.metadata === undefined ? {} : { metadata: f.metadata }),
    ...(f.hello === undefined ? {} : { hello: f.hello }),
    ...(f.error === undefined
      ? {}
      : {
          error: {
            code: f.error.code,
            message: f.error.message,
            details: f.error.details.map((d) => ({
              $typeName: "google.protobuf.Any" as const,
              typeUrl: d.typeUrl,
              value: fromHex(d.valueHex),
            })),
          },
        }),
  };
}

describe("golden envelope vectors", () => {
  it("covers every frame kind", () => {
    const kinds = new Set(vectors.map((v) => v.fields.kind));
    for (const k of Object.keys(FrameKind).filter(
      (k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED",
    )) {
      expect(kinds).toContain(k);
    }
  });

  for (const v of vectors) {
    it(`encodes ${v.name} to its golden bytes`, () => {
      expect(toHex(encodeEnvelope(toInit(v.fields)))).toBe(v.hex);
    });

    it(`decodes ${v.name} from its golden bytes`, () => {
      const d = decodeEnvelope(fromHex(v.hex));
      const f = v.fields;
      expect(d.kind).toBe(FrameKind[f.kind]);
      expect(d.requestId).toBe(f.requestId ?? 0);
      expect(d.method).toBe(f.method ?? "");
      expect(d.deadlineUnixMs).toBe(f.deadlineUnixMs ?? 0);
      expect(d.sequence).toBe(f.sequence ?? 0);
      expect(toHex(d.payload)).toBe(f.payloadHex ?? "");
      expect(d.metadata).toEqual(f.metadata);
      expect(d.hello).toEqual(f.hello);
      expect(d.error?.code).toBe(f.error?.code);
      expect(d.error?.message).toBe(f.error?.message);
      expect(
        d.error?.details.map((x) => ({ typeUrl: x.typeUrl, valueHex: toHex(x.value) })),
      ).toEqual(f.error?.details);
    });
  }

  it("agrees with @bufbuild/protobuf's reference serializer on every vector", () => {
    for (const v of vectors) {
      const ref = encodeReferenceEnvelope(toInit(v.fields));
      expect(toHex(ref), v.name).toBe(v.hex);
    }
  });
});
