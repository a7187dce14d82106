/**
 * The AI Hydra SDK: everything generated from proto/hydra/v1/hydra.proto. Regenerate with
 * `pnpm generate` after editing the schema; never edit the files under src/gen by hand.
 *
 * `SimulationService` is protoipc's service descriptor (from `hydra_ipc.ts`, binding `"hydra"`),
 * the one to pass to `createClient` and `server.register` with the Hydra transports of
 * `@protoipc/router`; protoc-gen-es's descriptor of the same name stays available as
 * `SimulationServiceDesc`. The broadcast payloads (`StatusUpdateSchema`, `GameStateSchema`,
 * `PerformanceMetricsSchema`, `DecisionCycleCompleteSchema`, `GameOverSchema`,
 * `ErrorOccurredSchema`, `PeerStatusSchema`) carry their elem as `wire_name`.
 */

export { elemForClientName, elemWireName } from "./elems.js";
export * from "./gen/hydra/v1/hydra_ipc.js";
export { SimulationService } from "./gen/hydra/v1/hydra_ipc.js";
export * from "./gen/hydra/v1/hydra_pb.js";
export { SimulationService as SimulationServiceDesc } from "./gen/hydra/v1/hydra_pb.js";
