/**
 * The pixels SDK: everything generated from proto/pixels/v1/pixels.proto. Regenerate with
 * `pnpm generate` after editing the schema; never edit the files under src/gen by hand.
 *
 * `PixelService` is protoipc's service descriptor (from `pixels_ipc.ts`), the one to pass to
 * `createClient` and `server.register`; protoc-gen-es's descriptor of the same name stays
 * available as `PixelServiceDesc`.
 */
export * from "./gen/pixels/v1/pixels_ipc.js";
export { PixelService } from "./gen/pixels/v1/pixels_ipc.js";
export * from "./gen/pixels/v1/pixels_pb.js";
export { PixelService as PixelServiceDesc } from "./gen/pixels/v1/pixels_pb.js";
