/**
 * The crystalmath SDK: everything generated from proto/crystalmath/v1/crystalmath.proto.
 * Regenerate with `pnpm generate` after editing the schema; never edit the files under src/gen
 * by hand.
 *
 * `CrystalMathService` is protoipc's service descriptor (from `crystalmath_ipc.ts`, binding
 * jsonrpc2), the one to pass to `createClient` and `server.register`; protoc-gen-es's
 * descriptor of the same name stays available as `CrystalMathServiceDesc`.
 */
export * from "./gen/crystalmath/v1/crystalmath_ipc.js";
export { CrystalMathService } from "./gen/crystalmath/v1/crystalmath_ipc.js";
export * from "./gen/crystalmath/v1/crystalmath_pb.js";
export { CrystalMathService as CrystalMathServiceDesc } from "./gen/crystalmath/v1/crystalmath_pb.js";
