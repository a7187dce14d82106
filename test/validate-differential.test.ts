// Differential test of the generated validators: fast-check builds CheckRequest messages
// (proto/validatetest/v1/rules.proto covers every supported rule family) from pools of valid and
// invalid values; our generated validator and @bufbuild/protovalidate must agree on the verdict,
// on each violation's field path and rule id. The vectors go to a golden file
// (test/gen/validate-vectors.json) that the Python validators replay
// (python/tests/test_validate_vectors.py). Regenerate it with PROTOIPC_UPDATE_VECTORS=1.
import { readFileSync, writeFileSync } from "node:fs";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { createValidator, violationsToProto } from "@bufbuild/protovalidate";
import { fieldPathToString } from "@protoipc/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RulesService } from "./gen/validatetest/v1/rules_ipc.js";
import { CheckRequestSchema, Kind } from "./gen/validatetest/v1/rules_pb.js";

const vectorsPath = new URL("./gen/validate-vectors.json", import.meta.url);

const str = (valid: string[], invalid: string[]) =>
  fc.oneof(fc.constantFrom(...valid, ...invalid), fc.string({ maxLength: 10 }));

const request = fc.record({
  name: str(["a", "abcdefgh"], ["", "abcdefghi", "ü".repeat(9)]),
  code: str(["abz", "abbz"], ["", "bz", "abqz", "aBz", "az"]),
  email: str(["a@b.co", "x.y+z@example.com"], ["", "a@", "@b", "a b@c.d", "a@-b.c"]),
  host: str(["example.com", "a-b.c.", "x"], ["", "-a.com", "a..b", "1.2.3.4", "a_b.com"]),
  ip: str(
    ["1.2.3.4", "::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4"],
    ["", "1.2.3", "01.2.3.4", "256.1.1.1", "1::2::3", "1:2:3:4:5:6:7:8:9", "fe80::1%"],
  ),
  uri: str(
    ["https://example.com/a?b#c", "urn:isbn:123", "http://[::1]:80/", "a:"],
    ["", "//example.com", "http://a b", "1http://x", "http://[::1", "http://%zz"],
  ),
  uuid: str(["123e4567-e89b-12d3-a456-426614174000"], ["", "123e4567e89b12d3a456426614174000"]),
  color: str(["red", "blue"], ["", "green"]),
  four: str(["abcd", "üü"], ["", "abc", "ü"]),
  small: fc.integer({ min: -2, max: 12 }),
  big: fc.bigInt({ min: -7n, max: 7n }),
  gap: fc.integer({ min: 0, max: 30 }),
  ratio: fc.constantFrom(0, 1.5, -1, Number.POSITIVE_INFINITY, Number.NaN),
  scale: fc.constantFrom(0, 1, 2.5, 3),
  odd: fc.integer({ min: 0, max: 6 }),
  flag: fc.boolean(),
  kind: fc.constantFrom(Kind.UNSPECIFIED, Kind.ONE, Kind.TWO, 7 as Kind),
  blob: fc.uint8Array({ maxLength: 6 }),
  tags: fc.array(fc.constantFrom("ab", "cd", "x", ""), { maxLength: 4 }),
  counts: fc.dictionary(fc.constantFrom("a", "bb", "cccc"), fc.integer({ min: -1, max: 1 }), {
    maxKeys: 3,
  }),
  inner: fc.option(fc.record({ id: fc.constantFrom("", "x") }), { nil: undefined }),
  inners: fc.array(fc.record({ id: fc.constantFrom("", "x") }), { maxLength: 2 }),
  timeout: fc.option(
    fc.record({
      seconds: fc.constantFrom(-1n, 0n, 1n, 60n, 61n),
      nanos: fc.constantFrom(0, 1),
    }),
    { nil: undefined },
  ),
  at: fc.option(fc.record({ seconds: fc.constantFrom(0n, 1n, 2n), nanos: fc.constantFrom(0, 5) }), {
    nil: undefined,
  }),
  nick: fc.option(fc.constantFrom("", "abc", "abcd"), { nil: undefined }),
  choice: fc.oneof(
    fc.constant({ case: undefined }),
    fc.record({ case: fc.constant("a" as const), value: fc.constantFrom("", "x", "xy") }),
    fc.record({ case: fc.constant("b" as const), value: fc.integer({ min: -1, max: 1 }) }),
  ),
  optIn: fc.constantFrom("", "x", "xy"),
  reqNum: fc.constantFrom(0n, 1n),
  limits: fc.option(
    fc.record({ lo: fc.integer({ min: 0, max: 3 }), hi: fc.constantFrom(0, 2, 101) }),
    { nil: undefined },
  ),
}) as fc.Arbitrary<MessageInitShape<typeof CheckRequestSchema>>;

/** A valid CheckRequest; the generator changes at most one field of it, or takes all random. */
const valid: MessageInitShape<typeof CheckRequestSchema> = {
  name: "a",
  code: "abz",
  email: "a@b.co",
  host: "example.com",
  ip: "::1",
  uri: "https://example.com/",
  uuid: "123e4567-e89b-12d3-a456-426614174000",
  color: "red",
  four: "abcd",
  small: 1,
  big: 0n,
  gap: 5,
  ratio: 1,
  scale: 1,
  odd: 1,
  flag: true,
  kind: Kind.ONE,
  blob: new Uint8Array([1]),
  tags: ["ab"],
  counts: { a: 1 },
  inner: { id: "x" },
  inners: [{ id: "x" }],
  timeout: { seconds: 1n },
  at: { seconds: 2n },
  choice: { case: "a", value: "xy" },
  optIn: "",
  reqNum: 1n,
  limits: { lo: 1, hi: 2 },
};

const keys = Object.keys(valid) as (keyof typeof valid)[];

const messages = fc.oneof(
  request,
  fc
    .tuple(fc.option(fc.constantFrom(...keys, "nick" as const), { nil: undefined }), request)
    .map(([k, r]) => (k === undefined ? valid : { ...valid, [k]: r[k] })),
);

/** Per violation: field path, rule id, rule path (in buf.validate.FieldRules). */
type Verdict = [path: string, ruleId: string, rulePath: string][];

function sorted(v: Verdict): Verdict {
  const key = (x: Verdict[number]) => x.join(" ");
  return v.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

describe("generated validators vs @bufbuild/protovalidate", () => {
  const ours = RulesService.methods.check!.validateInput!;
  const reference = createValidator();

  it("agree on the verdict, field path and rule id of every violation", () => {
    const vectors: { message: string; violations: Verdict }[] = [];
    fc.assert(
      fc.property(messages, (init) => {
        const m = create(CheckRequestSchema, init);
        const mine = sorted(
          ours(m).map((v) => [fieldPathToString(v.field), v.ruleId, fieldPathToString(v.rule)]),
        );
        const r = reference.validate(CheckRequestSchema, m);
        expect(r.kind).not.toBe("error");
        const theirs = sorted(
          r.kind === "invalid"
            ? violationsToProto(r.violations)[0].violations.map((v) => [
                fieldPathToString(v.field),
                v.ruleId,
                fieldPathToString(v.rule),
              ])
            : [],
        );
        expect(mine).toStrictEqual(theirs);
        vectors.push({
          message: Buffer.from(toBinary(CheckRequestSchema, m)).toString("base64"),
          violations: mine,
        });
      }),
      { numRuns: 1000, seed: 7 },
    );
    const text = `${JSON.stringify(vectors.slice(0, 300), null, 1)}\n`;
    if (process.env.PROTOIPC_UPDATE_VECTORS === "1") writeFileSync(vectorsPath, text);
    expect(readFileSync(vectorsPath, "utf8")).toBe(text);
  });
});
