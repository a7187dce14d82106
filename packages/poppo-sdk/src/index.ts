/**
 * The PoppoBuilder SDK: everything generated from proto/poppo/v1/poppo.proto. Regenerate with
 * `pnpm generate` after editing the schema; never edit the files under src/gen by hand.
 *
 * `DaemonService` is protoipc's service descriptor (from `poppo_ipc.ts`), the one to pass to
 * `createClient` and `server.register`; protoc-gen-es's descriptor of the same name stays
 * available as `DaemonServiceDesc`. The service's binding is command frames: connect with
 * `createCommandFrameTransport` / `createCommandFrameServerTransport` from `@protoipc/unix`.
 */
import { homedir } from "node:os";
import { join } from "node:path";

export * from "./gen/poppo/v1/poppo_ipc.js";
export { DaemonService } from "./gen/poppo/v1/poppo_ipc.js";
export * from "./gen/poppo/v1/poppo_pb.js";
export { DaemonService as DaemonServiceDesc } from "./gen/poppo/v1/poppo_pb.js";

/**
 * Where the PoppoBuilder daemon listens by default (PROTOCOLS.md §4): the Unix socket
 * `~/.poppobuilder/daemon.sock`, or on Windows the named pipe `\\.\pipe\poppobuilder-daemon`.
 * Pass it as the `endpoint` of `createCommandFrameTransport`.
 *
 * @param home the home directory; `os.homedir()` by default
 * @param platform the platform; `process.platform` by default
 */
export function defaultDaemonEndpoint(
  home: string = homedir(),
  platform: NodeJS.Platform = process.platform,
): { readonly path: string } {
  if (platform === "win32") return { path: "\\\\.\\pipe\\poppobuilder-daemon" };
  return { path: join(home, ".poppobuilder", "daemon.sock") };
}
