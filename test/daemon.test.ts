/**
 * Daemon lifecycle over real Unix sockets and real processes: private directory and socket
 * modes, socket-path limits, stale-socket reclaim (never a live server's), client auto-start,
 * inactivity exit, reconnect after a server restart.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CrystalMathService } from "@protoipc/crystalmath-sdk";
import { Code, createClient, createServer, type IpcError, type Server } from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import {
  connectDaemon,
  createDaemonServerTransport,
  createStreamServerTransport,
  createStreamTransport,
  daemonDir,
  daemonSocketPath,
  ensurePrivateDir,
  pingDaemon,
  probeSocket,
  type StreamBinding,
} from "@protoipc/unix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const DAEMON = resolve(import.meta.dirname, "fixtures/crystalmath-daemon.ts");
const PYTHON = resolve(import.meta.dirname, "../.venv/bin/python");
const ping = CrystalMathService.methods.systemPing!;

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** Leaves a socket file nobody listens on: a process binds it and exits without unlinking. */
function staleSocket(path: string): void {
  execFileSync(PYTHON, [
    "-c",
    "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])",
    path,
  ]);
}

function crystalServer(socketPath: string, inactivityTimeoutMs = 0) {
  const transport = createDaemonServerTransport({
    socketPath,
    binding: "jsonrpc2",
    inactivityTimeoutMs,
  });
  const server = createServer(transport);
  server.register(CrystalMathService, {
    systemPing: () => ({ pong: true, timestamp: "now" }),
  });
  return { transport, server };
}

describe("daemon paths", () => {
  it("uses $XDG_RUNTIME_DIR/<app>/<app>.sock, else a per-user directory under tmpdir", () => {
    expect(
      daemonSocketPath({ app: "crystalmath", env: { XDG_RUNTIME_DIR: "/run/user/1000" } }),
    ).toBe("/run/user/1000/crystalmath/crystalmath.sock");
    expect(daemonDir({ app: "crystalmath", env: {} })).toBe(
      join(tmpdir(), `crystalmath-${process.getuid!()}`),
    );
    expect(daemonDir({ app: "x", env: { XDG_RUNTIME_DIR: "relative/dir" } })).toBe(
      join(tmpdir(), `x-${process.getuid!()}`),
    );
  });

  it("refuses a socket path over the platform limit, naming its length", () => {
    const env = { XDG_RUNTIME_DIR: `/run/${"d".repeat(100)}` };
    const err = (() => {
      try {
        daemonSocketPath({ app: "crystalmath", env });
      } catch (e) {
        return e as IpcError;
      }
      throw new Error("expected a throw");
    })();
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^socket path of 134 bytes exceeds the limit of 107 bytes/);
  });

  it("makes the socket directory 0700 and refuses one open to others or a symlink", async () => {
    const tmp = privateDir();
    try {
      const dir = join(tmp.dir, "a", "app");
      await ensurePrivateDir(dir);
      expect(mode(dir)).toBe(0o700);
      const open = join(tmp.dir, "open");
      mkdirSync(open);
      chmodSync(open, 0o755);
      const err = await rejection(ensurePrivateDir(open));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.rawMessage).toMatch(/mode 0755/);
      symlinkSync(dir, join(tmp.dir, "link"));
      expect((await rejection(ensurePrivateDir(join(tmp.dir, "link")))).code).toBe(
        Code.PermissionDenied,
      );
    } finally {
      tmp.remove();
    }
  });
});

describe("daemon server", () => {
  let tmp: ReturnType<typeof privateDir>;
  let socketPath: string;
  const servers: Server[] = [];

  beforeEach(() => {
    tmp = privateDir();
    socketPath = join(tmp.dir, "run", "crystalmath.sock");
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    tmp.remove();
  });

  it("listens on a 0600 socket inside a 0700 directory, found through XDG_RUNTIME_DIR", async () => {
    const xdg = join(tmp.dir, "xdg");
    const transport = createDaemonServerTransport({
      app: "crystalmath",
      env: { XDG_RUNTIME_DIR: xdg },
      binding: "jsonrpc2",
    });
    const server = createServer(transport);
    servers.push(server);
    server.register(CrystalMathService, { systemPing: () => ({ pong: true }) });
    await server.listen();
    expect(transport.socketPath).toBe(join(xdg, "crystalmath", "crystalmath.sock"));
    expect(mode(join(xdg, "crystalmath"))).toBe(0o700);
    expect(mode(transport.socketPath)).toBe(0o600);
    expect(statSync(transport.socketPath).isSocket()).toBe(true);
    expect(await pingDaemon({ socketPath: transport.socketPath, pingMethod: ping })).toMatchObject({
      pong: true,
    });
    await server.close();
    expect(existsSync(transport.socketPath)).toBe(false);
  });

  it("reclaims a stale socket file nobody answers on", async () => {
    mkdirSync(join(tmp.dir, "run"), { mode: 0o700 });
    staleSocket(socketPath);
    expect(await probeSocket(socketPath)).toBe("stale");
    const { server } = crystalServer(socketPath);
    servers.push(server);
    await server.listen();
    expect(await probeSocket(socketPath)).toBe("live");
    expect(await pingDaemon({ socketPath, pingMethod: ping })).toMatchObject({ pong: true });
  });

  it("never steals a live server's socket", async () => {
    const first = crystalServer(socketPath);
    servers.push(first.server);
    await first.server.listen();
    const second = crystalServer(socketPath);
    const err = await rejection(second.server.listen());
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toBe(`a server is already listening on ${socketPath}`);
    await second.server.close();
    // The first server still owns and answers on the socket.
    expect(await pingDaemon({ socketPath, pingMethod: ping })).toMatchObject({ pong: true });
  });

  it("refuses to remove a path that is not a socket", async () => {
    mkdirSync(join(tmp.dir, "run"), { mode: 0o700 });
    execFileSync("touch", [socketPath]);
    const { server } = crystalServer(socketPath);
    expect((await rejection(server.listen())).code).toBe(Code.FailedPrecondition);
    await server.close();
    expect(existsSync(socketPath)).toBe(true);
  });

  it("reports inactivity once the last client has been gone for inactivityTimeoutMs", async () => {
    const { transport, server } = crystalServer(socketPath, 150);
    servers.push(server);
    await server.listen();
    let idle = false;
    void transport.inactive.then(() => {
      idle = true;
    });
    const client = createStreamTransport({ endpoint: { path: socketPath } });
    await createClient(CrystalMathService, client).systemPing({});
    expect(idle).toBe(false);
    await client.close();
    await transport.inactive;
  });
});

describe("daemon processes", () => {
  let tmp: ReturnType<typeof privateDir>;
  let socketPath: string;
  const started: number[] = [];
  const children: ChildProcess[] = [];

  beforeEach(() => {
    tmp = privateDir();
    socketPath = join(tmp.dir, "run", "crystalmath.sock");
  });

  afterEach(async () => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    for (const c of children.splice(0)) await killAndWait(c);
    tmp.remove();
  });

  it("auto-starts the daemon when nothing answers, then reuses it", async () => {
    const command = [process.execPath, "--import", "tsx", DAEMON, "--socket", socketPath];
    const first = await connectDaemon({
      socketPath,
      pingMethod: ping,
      command,
      startupTimeoutMs: 15_000,
    });
    try {
      expect(first.startedPid).toBeGreaterThan(0);
      started.push(first.startedPid!);
      const version = await createClient(CrystalMathService, first.transport).systemVersion({});
      expect(version.transport).toBe("unix-socket");
      expect(mode(socketPath)).toBe(0o600);
    } finally {
      await first.transport.close();
    }
    const second = await connectDaemon({ socketPath, pingMethod: ping, command });
    await second.transport.close();
    expect(second.startedPid).toBeUndefined();
  });

  it("names the command, its exit code and its output when the daemon dies while starting", async () => {
    const err = await rejection(
      connectDaemon({
        socketPath,
        pingMethod: ping,
        command: ["sh", "-c", "echo 'config file missing' >&2; exit 3"],
      }),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(
      /^daemon sh -c .* exited with code 3 before answering system\.ping/,
    );
    expect(err.rawMessage).toMatch(/config file missing/);
  });

  it("without a command, fails with Unavailable naming the socket", async () => {
    const err = await rejection(connectDaemon({ socketPath, pingMethod: ping }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain(socketPath);
  });

  it("a daemon process exits after its inactivity timeout", async () => {
    const child = await spawnReady(DAEMON, ["--socket", socketPath, "--idle-ms", "200"]);
    children.push(child);
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    await pingDaemon({ socketPath, pingMethod: ping });
    expect(await exited).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });

  it("a second daemon on the same socket exits with AlreadyExists and leaves the first serving", async () => {
    const child = await spawnReady(DAEMON, ["--socket", socketPath]);
    children.push(child);
    const err = await spawnReady(DAEMON, ["--socket", socketPath]).then(
      () => new Error("second daemon started"),
      (e: Error) => e,
    );
    expect(err.message).toMatch(/exited \(3\)/);
    expect(await pingDaemon({ socketPath, pingMethod: ping })).toMatchObject({ pong: true });
  });
});

describe.each<StreamBinding>(["native", "jsonrpc2"])("reconnect over %s", (binding) => {
  it("finds a restarted server on the same socket with the same client transport", async () => {
    const tmp = privateDir();
    const endpoint = { path: join(tmp.dir, "s.sock") };
    const start = async (tag: string) => {
      const server = createServer(createStreamServerTransport({ endpoint, binding }));
      server.register(TestService, { echo: (req) => ({ value: `${tag}:${req.value}` }) });
      await server.listen();
      return server;
    };
    const client = createStreamTransport({ endpoint, binding });
    const c = createClient(TestService, client);
    try {
      let server = await start("a");
      expect((await c.echo({ value: "1" })).value).toBe("a:1");
      await server.close();
      const down = await rejection(c.echo({ value: "2" }));
      expect(down.code).toBe(Code.Unavailable);
      server = await start("b");
      expect((await c.echo({ value: "3" })).value).toBe("b:3");
      await server.close();
    } finally {
      await client.close();
      tmp.remove();
    }
  });
});
