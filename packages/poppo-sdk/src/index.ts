/**
 * The PoppoBuilder SDK: everything generated from proto/poppo/v1/poppo.proto. Regenerate with
 * `pnpm generate` after editing the schema; never edit the files under src/gen by hand.
 *
 * `DaemonService` is protoipc's service descriptor (from `poppo_ipc.ts`), the one to pass to
 * `createClient` and `server.register`; protoc-gen-es's descriptor of the same name stays
 * available as `DaemonServiceDesc`. The service's binding is command frames: connect with
 * `createCommandFrameTransport` / `createCommandFrameServerTransport` from `@protoipc/unix`.
 */
export * from "./gen/poppo/v1/poppo_ipc.js";
export { DaemonService } from "./gen/poppo/v1/poppo_ipc.js";
export * from "./gen/poppo/v1/poppo_pb.js";
export { DaemonService as DaemonServiceDesc } from "./gen/poppo/v1/poppo_pb.js";
