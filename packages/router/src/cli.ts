/**
 * The `protoipc` command (bin/protoipc.js):
 *
 * ```
 * protoipc router --bind tcp://0.0.0.0:5556 [--heartbeat-ms 5000] [--protocol native|hydra]
 *                 [--max-queued-frames 4096] [--curve-secret-key FILE] [--curve-authorized-keys DIR]
 * protoipc keygen PATH          writes a CURVE key pair: PATH (public) and PATH_secret
 * ```
 *
 * The router prints `protoipc router listening on <endpoint> (<protocol>, heartbeat <n> ms)` once
 * bound, one line per peer joining or leaving, and stops on SIGINT or SIGTERM. Arguments are
 * parsed with node:util `parseArgs`.
 */
import { parseArgs } from "node:util";
import {
  createCurveKeyPair,
  readAuthorizedKeys,
  readCurveKeyPair,
  writeCurveKeyFiles,
} from "./curve.js";
import { createRouter, type RouterOptions } from "./router.js";

const USAGE = `usage:
  protoipc router --bind ENDPOINT [--heartbeat-ms MS] [--protocol native|hydra]
                  [--max-queued-frames N] [--curve-secret-key FILE] [--curve-authorized-keys DIR]
  protoipc keygen PATH

router options:
  --bind ENDPOINT              where to listen: tcp://0.0.0.0:5556, tcp://127.0.0.1:*, ipc:///path
  --heartbeat-ms MS            heartbeat interval in milliseconds (default 5000); a peer is
                               expired after 3 missed heartbeats
  --protocol native|hydra      native protoipc frames (default) or AI Hydra's JSON envelope
  --max-queued-frames N        frames queued per peer before frames for it are dropped (default 4096)
  --curve-secret-key FILE      enable ZeroMQ CURVE with this secret key file (ZPL certificate);
                               peers without CURVE are refused
  --curve-authorized-keys DIR  with CURVE: admit only the public keys of the certificates in DIR
`;

/**
 * Runs the command with `argv` (without node and the script); resolves with the exit code:
 * 0 on success or `--help` / `-h` (the usage goes to `out`), 2 on a usage error, 1 when the
 * router cannot start.
 */
export async function runCli(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "keygen") {
    const path = rest[0];
    if (path === undefined || rest.length !== 1) {
      err(USAGE);
      return 2;
    }
    await writeCurveKeyFiles(path, createCurveKeyPair());
    out(`wrote ${path} and ${path}_secret`);
    return 0;
  }
  if (command !== "router") {
    if (command !== undefined && isHelp(command)) {
      out(USAGE);
      return 0;
    }
    err(command === undefined ? USAGE : `unknown command ${command}\n${USAGE}`);
    return 2;
  }
  if (rest.some(isHelp)) {
    out(USAGE);
    return 0;
  }
  let values: {
    bind?: string | undefined;
    "heartbeat-ms"?: string | undefined;
    protocol?: string | undefined;
    "max-queued-frames"?: string | undefined;
    "curve-secret-key"?: string | undefined;
    "curve-authorized-keys"?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        bind: { type: "string" },
        "heartbeat-ms": { type: "string" },
        protocol: { type: "string" },
        "max-queued-frames": { type: "string" },
        "curve-secret-key": { type: "string" },
        "curve-authorized-keys": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.bind === undefined) {
    err(`--bind is required\n${USAGE}`);
    return 2;
  }
  const protocol = values.protocol ?? "native";
  if (protocol !== "native" && protocol !== "hydra") {
    err(`--protocol ${protocol} is not native or hydra`);
    return 2;
  }
  const intArg = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} ${v} is not a positive integer`);
    return n;
  };
  let options: RouterOptions;
  try {
    const heartbeatIntervalMs = intArg("heartbeat-ms", values["heartbeat-ms"]);
    const maxQueuedFramesPerPeer = intArg("max-queued-frames", values["max-queued-frames"]);
    const secret = values["curve-secret-key"];
    const authorizedDir = values["curve-authorized-keys"];
    if (authorizedDir !== undefined && secret === undefined) {
      throw new Error("--curve-authorized-keys needs --curve-secret-key");
    }
    options = {
      bind: values.bind,
      protocol,
      ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
      ...(maxQueuedFramesPerPeer === undefined ? {} : { maxQueuedFramesPerPeer }),
      ...(secret === undefined
        ? {}
        : {
            curve: {
              ...(await readCurveKeyPair(secret)),
              ...(authorizedDir === undefined
                ? {}
                : { authorizedKeys: await readAuthorizedKeys(authorizedDir) }),
            },
          }),
    };
  } catch (e) {
    err((e as Error).message);
    return 2;
  }
  const router = createRouter(options);
  router.on("peerJoined", (p) => out(`peer joined ${p.id} ${p.role} ${p.name}`.trimEnd()));
  router.on("peerLeft", (p) => out(`peer left ${p.id} ${p.role} (${p.reason})`));
  try {
    await router.start();
  } catch (e) {
    err((e as Error).message);
    await router.close();
    return 1;
  }
  out(
    `protoipc router listening on ${router.address} (${protocol}, heartbeat ${router.heartbeatIntervalMs} ms${options.curve ? ", curve" : ""})`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await router.close();
  return 0;
}

/** `--help` / `-h`: print the usage and exit 0. */
function isHelp(arg: string): boolean {
  return arg === "--help" || arg === "-h";
}
