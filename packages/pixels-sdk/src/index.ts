/**
 * The pixels SDK: everything generated from proto/pixels/v1/pixels.proto. Regenerate with
 * `pnpm generate` after editing the schema; never edit the files under src/gen by hand.
 */
export * from "./gen/pixels/v1/pixels_ipc.js";
export * from "./gen/pixels/v1/pixels_pb.js";
