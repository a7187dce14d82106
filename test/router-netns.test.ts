/**
 * Across hosts: router, server and client each in their own network namespace, joined by veth
 * pairs (10.55.1.0/24 router <-> server, 10.55.2.0/24 router <-> client), over tcp:// with ZeroMQ
 * CURVE (key files; only the listed client keys are admitted). Shows that calls route across
 * hosts, that peers the router does not know are refused, and that cutting the server's link is
 * detected by heartbeat and reported to the pending caller as Unavailable.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createCurveKeyFiles } from "@protoipc/router";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAndWait, privateDir, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const peerFixture = fileURLToPath(new URL("./fixtures/router-peer.ts", import.meta.url));
const protoipcBin = `${repo}packages/router/bin/protoipc.js`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Whether this process may create network namespaces (root, or CAP_SYS_ADMIN, and a kernel with
 * network namespaces): the probe creates and deletes one.
 */
function netnsAvailable(): boolean {
  const probe = `pr5probe${randomBytes(3).toString("hex")}`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
    return true;
  } catch {
    return false;
  }
}

const available = netnsAvailable();

/** A child's stdout lines, awaited one by one. */
function lines(child: ChildProcess) {
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return {
    next(): Promise<string> {
      const l = queue.shift();
      if (l !== undefined) return Promise.resolve(l);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

// Skipped only where the kernel or our privileges forbid creating network namespaces (the probe
// above fails): then no cross-host topology can be built on this machine.
describe.skipIf(!available)("the router across hosts (network namespaces, tcp://, CURVE)", () => {
  const id = randomBytes(2).toString("hex");
  const ns = { router: `pr5r${id}`, server: `pr5s${id}`, client: `pr5c${id}` };
  const link = { rs: `pr5rs${id}`, sr: `pr5sr${id}`, rc: `pr5rc${id}`, cr: `pr5cr${id}` };
  const tmp = privateDir();
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    for (const n of Object.values(ns)) ip("netns", "add", n);
    ip("link", "add", link.rs, "type", "veth", "peer", "name", link.sr);
    ip("link", "add", link.rc, "type", "veth", "peer", "name", link.cr);
    ip("link", "set", link.rs, "netns", ns.router);
    ip("link", "set", link.rc, "netns", ns.router);
    ip("link", "set", link.sr, "netns", ns.server);
    ip("link", "set", link.cr, "netns", ns.client);
    ip("-n", ns.router, "addr", "add", "10.55.1.1/24", "dev", link.rs);
    ip("-n", ns.router, "addr", "add", "10.55.2.1/24", "dev", link.rc);
    ip("-n", ns.server, "addr", "add", "10.55.1.2/24", "dev", link.sr);
    ip("-n", ns.client, "addr", "add", "10.55.2.2/24", "dev", link.cr);
    for (const [n, devs] of [
      [ns.router, [link.rs, link.rc]],
      [ns.server, [link.sr]],
      [ns.client, [link.cr]],
    ] as const) {
      ip("-n", n, "link", "set", "lo", "up");
      for (const d of devs) ip("-n", n, "link", "set", d, "up");
    }
    // Keys: the router's pair, and the pairs of the two peers it admits.
    const authorized = `${tmp.dir}/authorized`;
    mkdirSync(authorized, { mode: 0o700 });
    await createCurveKeyFiles(tmp.dir, "router");
    for (const name of ["srv", "client"]) {
      await createCurveKeyFiles(tmp.dir, name);
      copyFileSync(`${tmp.dir}/${name}.key`, `${authorized}/${name}.key`);
    }
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => killAndWait(c, "SIGTERM")));
    for (const n of Object.values(ns)) {
      try {
        ip("netns", "del", n); // also removes the veth pairs
      } catch {
        // not created (setup failed early)
      }
    }
    tmp.remove();
  });

  function inNs(n: string, args: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", n, process.execPath, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      cwd: repo,
    });
    children.push(child);
    return child;
  }

  it("routes calls across hosts over CURVE, refuses unknown keys, and reports a cut server link", async () => {
    const router = inNs(ns.router, [
      protoipcBin,
      "router",
      "--bind",
      "tcp://0.0.0.0:5556",
      "--heartbeat-ms",
      "300",
      "--curve-secret-key",
      `${tmp.dir}/router.key_secret`,
      "--curve-authorized-keys",
      `${tmp.dir}/authorized`,
    ]);
    expect(await lines(router).next()).toBe(
      "protoipc router listening on tcp://0.0.0.0:5556 (native, heartbeat 300 ms, curve)",
    );
    const server = await spawnReady(
      "ip",
      [
        "netns",
        "exec",
        ns.server,
        process.execPath,
        "--import",
        "tsx",
        peerFixture,
        "server",
        "tcp://10.55.1.1:5556",
        "srv",
        tmp.dir,
      ],
      { interpreter: "none" },
    );
    children.push(server);

    // A peer with keys the router does not list, and one without CURVE, are refused.
    const intruder = lines(
      inNs(ns.client, [
        "--import",
        "tsx",
        peerFixture,
        "intruder",
        "tcp://10.55.2.1:5556",
        tmp.dir,
      ]),
    );
    expect(await intruder.next()).toBe("refused handshake:error:auth");
    const plain = lines(
      inNs(ns.client, ["--import", "tsx", peerFixture, "intruder", "tcp://10.55.2.1:5556"]),
    );
    expect(await plain.next()).toMatch(/^refused /);

    const client = lines(
      inNs(ns.client, ["--import", "tsx", peerFixture, "client", "tcp://10.55.2.1:5556", tmp.dir]),
    );
    expect(await client.next()).toBe("echo srv:hi");
    expect(await client.next()).toBe("pending");
    // Cut the server's link: no FIN, no RST; only missed heartbeats tell.
    ip("-n", ns.server, "link", "set", link.sr, "down");
    const error = await client.next();
    expect(error).toMatch(
      /^error 14 server srv left the router \(heartbeat expired after \d+ ms\)$/,
    );
  });
});
