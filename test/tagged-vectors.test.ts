/**
 * Golden vectors of the tagged binding (test/golden/tagged-vectors.json), checked here from
 * TypeScript and in python/tests/test_tagged.py from Python: every variant of the dgx-pixels
 * request, response and update unions encodes to exactly its bytes and decodes back; decode-only
 * vectors (float 64 as the Python original writes, other key orders, unknown keys, nil) decode;
 * bad input fails with InvalidArgument naming the tag or field.
 */
import { readFileSync } from "node:fs";
import {
  create,
  createRegistry,
  type DescMessage,
  fromJson,
  type JsonValue,
  toJson,
} from "@bufbuild/protobuf";
import {
  file_pixels_v1_pixels,
  GenerateRequestSchema,
  GenerationStage,
  PixelService,
  ProgressSchema,
  StatusResponseSchema,
} from "@protoipc/pixels-sdk";
import { Code, IpcError } from "@protoipc/runtime";
import { decodeTagged, encodeTagged, taggedService, taggedUnion } from "@protoipc/runtime/tagged";
import { TestService } from "@protoipc/runtime/testing";
import { describe, expect, it } from "vitest";

interface Vector {
  name: string;
  union: string;
  variant?: string;
  message?: JsonValue;
  hex: string;
  decodeOnly?: boolean;
  error?: { code: number; contains: string };
}

const { vectors } = JSON.parse(
  readFileSync(new URL("./golden/tagged-vectors.json", import.meta.url), "utf8"),
) as { vectors: Vector[] };
const registry = createRegistry(file_pixels_v1_pixels);
const desc = (name: string): DescMessage => {
  const d = registry.getMessage(name);
  if (d === undefined) throw new Error(`no message ${name}`);
  return d;
};
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

describe("tagged golden vectors", () => {
  it("include the ping of PROTOCOLS.md §1 and every variant of the three unions", () => {
    expect(vectors.find((v) => v.name === "request ping")?.hex).toBe("81a474797065a470696e67");
    for (const u of [
      "pixels.v1.PixelRequest",
      "pixels.v1.PixelResponse",
      "pixels.v1.PixelUpdate",
    ]) {
      const covered = new Set(
        vectors.filter((v) => v.union === u && !v.decodeOnly && !v.error).map((v) => v.variant),
      );
      const all = [...taggedUnion(desc(u)).variants.values()].map((d) => d.typeName);
      expect([...covered].sort()).toEqual([...new Set(all)].sort());
    }
  });

  for (const v of vectors) {
    const union = () => taggedUnion(desc(v.union));
    if (v.error !== undefined) {
      it(`rejects ${v.name}`, () => {
        let err: unknown;
        try {
          decodeTagged(union(), bytes(v.hex));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(IpcError);
        expect((err as IpcError).code).toBe(v.error!.code);
        expect((err as IpcError).rawMessage).toContain(v.error!.contains);
      });
      continue;
    }
    const variant = () => desc(v.variant!);
    if (!v.decodeOnly) {
      it(`encodes ${v.name} to its bytes`, () => {
        const m = fromJson(variant(), v.message!);
        expect(Buffer.from(encodeTagged(union(), m)).toString("hex")).toBe(v.hex);
      });
    }
    it(`decodes ${v.name}`, () => {
      const m = decodeTagged(union(), bytes(v.hex));
      expect(m.$typeName).toBe(v.variant);
      expect(toJson(variant(), m)).toEqual(v.message);
    });
  }
});

describe("tagged codec beyond the vectors", () => {
  const requests = () => taggedUnion(desc("pixels.v1.PixelRequest"));
  const responses = () => taggedUnion(desc("pixels.v1.PixelResponse"));

  it("writes JSON of the same shape, 64-bit integers past 2^53 as strings", () => {
    const status = create(StatusResponseSchema, { version: "1", queueSize: 2, uptimeS: 2n ** 60n });
    const text = new TextDecoder().decode(encodeTagged(responses(), status, "json"));
    expect(JSON.parse(text)).toEqual({
      type: "status_info",
      version: "1",
      queue_size: 2,
      active_jobs: 0,
      uptime_s: String(2n ** 60n),
    });
    expect(decodeTagged(responses(), new TextEncoder().encode(text), "json")).toEqual(status);
  });

  it("refuses to encode what the wire cannot carry", () => {
    const cases: Array<[() => Uint8Array, string]> = [
      [() => encodeTagged(requests(), create(StatusResponseSchema)), "is not a variant of"],
      [
        () => encodeTagged(requests(), create(GenerateRequestSchema, { size: [1, 2, 3] })),
        "fixed_length is 2",
      ],
      [
        () =>
          encodeTagged(
            taggedUnion(desc("pixels.v1.PixelUpdate")),
            create(ProgressSchema, { stage: GenerationStage.UNSPECIFIED }),
          ),
        "has no (protoipc.v1.enum_value).wire_name",
      ],
    ];
    for (const [run, contains] of cases) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IpcError);
      expect((err as IpcError).code).toBe(Code.InvalidArgument);
      expect((err as IpcError).rawMessage).toContain(contains);
    }
  });

  it("says which schema option is missing", () => {
    expect(() => taggedUnion(desc("pixels.v1.ModelInfo"))).toThrow(
      "pixels.v1.ModelInfo is not a tagged union",
    );
    // A hand-written descriptor whose requests come from another file: no schema to read.
    expect(() => taggedService(TestService)).toThrow(
      "protoipc.test.TestService is not declared in google/protobuf/wrappers",
    );
  });

  it("maps the pixels service: every request to its method, Generate onto a job", () => {
    const b = taggedService(PixelService);
    expect([...b.methodByRequest].map(([k, m]) => [k, m.name])).toEqual([
      ["pixels.v1.GenerateRequest", "Generate"],
      ["pixels.v1.CancelRequest", "Cancel"],
      ["pixels.v1.ListModelsRequest", "ListModels"],
      ["pixels.v1.StatusRequest", "Status"],
      ["pixels.v1.PingRequest", "Ping"],
    ]);
    const job = b.jobs.get("/pixels.v1.PixelService/Generate");
    expect([job?.accepted.typeName, job?.correlationField.name, job?.cancel?.name]).toEqual([
      "pixels.v1.JobAccepted",
      "id",
      "Cancel",
    ]);
  });
});
