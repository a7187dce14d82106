/**
 * Golden vectors of the tagged binding (test/golden/tagged-vectors.json), checked here from
 * TypeScript and in python/tests/test_tagged.py from Python: every variant of the dgx-pixels
 * request, response and update unions encodes to exactly its bytes and decodes back; decode-only
 * vectors (float 64 as the Python original writes, other key orders, unknown keys, nil) decode;
 * bad input fails with InvalidArgument naming the tag or field.
 */
import { readFileSync } from "node:fs";
import {
  createRegistry,
  type DescMessage,
  fromJson,
  type JsonValue,
  toJson,
} from "@bufbuild/protobuf";
import { file_pixels_v1_pixels } from "@protoipc/pixels-sdk";
import { IpcError } from "@protoipc/runtime";
import { decodeTagged, encodeTagged, taggedUnion } from "@protoipc/runtime/tagged";
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
