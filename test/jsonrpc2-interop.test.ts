/**
 * The jsonrpc2 binding against vscode-jsonrpc (the JSON-RPC library of VS Code's language
 * servers) over a real Unix socket, in both directions: requests, named and positional params,
 * errors, notifications, `$/cancelRequest` and `$/progress`. The crystalmath schema gives the
 * wire names (PROTOCOLS.md §3).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { join } from "node:path";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import {
  CancelJobRequestSchema,
  CrystalMathService,
  DftCode,
  JobState,
  RunnerType,
} from "@protoipc/crystalmath-sdk";
import {
  Code,
  createClient,
  createServer,
  defineService,
  IpcError,
  type Server,
} from "@protoipc/runtime";
import { TestService } from "@protoipc/runtime/testing";
import {
  connectEndpoint,
  createStreamServerTransport,
  createStreamTransport,
} from "@protoipc/unix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  ProgressType,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
} from "vscode-jsonrpc/node";
import { privateDir, rejection } from "./helpers.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

function vscodeConnection(socket: Socket): MessageConnection {
  const c = createMessageConnection(
    new SocketMessageReader(socket),
    new SocketMessageWriter(socket),
  );
  c.listen();
  return c;
}

const numberProgress = new ProgressType<number>();

describe("vscode-jsonrpc client → protoipc jsonrpc2 server", () => {
  let tmp: ReturnType<typeof privateDir>;
  let server: Server;
  let conn: MessageConnection;
  let socket: Socket;
  const cancelled: unknown[] = [];
  const notified = deferred<string>();
  const handlerStarted = deferred<void>();

  beforeEach(async () => {
    tmp = privateDir();
    const endpoint = { path: join(tmp.dir, "cm.sock") };
    server = createServer(createStreamServerTransport({ endpoint, binding: "jsonrpc2" }));
    server.register(CrystalMathService, {
      systemPing: () => ({ pong: true, timestamp: "2026-11-21T10:00:00Z" }),
      fetchJobs: (req) => ({
        jobs: Array.from({ length: req.limit ?? 100 }, (_, i) => ({
          pk: i + 1,
          uuid: `u${i}`,
          name: `job ${i}`,
          state: JobState.RUNNING,
          dftCode: DftCode.VASP,
          runnerType: RunnerType.SLURM,
          progressPercent: 12.5,
        })),
      }),
      fetchJobDetails: (req) => ({
        ok: false,
        error: { code: 1, message: `job with pk=${req.pk} not found` },
      }),
      cancelJob: (req) => {
        notified.resolve(req.jobId);
        return { jobId: req.jobId, cancelled: true };
      },
      getJobStatus: (req) => {
        throw new IpcError(`no job ${req.jobId}`, Code.NotFound);
      },
    });
    server.register(TestService, {
      async work(req, ctx) {
        for (let i = 1; i <= req.value; i++) await ctx.progress({ value: i });
        return { value: "done" };
      },
      async echo(_req, ctx) {
        handlerStarted.resolve();
        cancelled.push(await aborted(ctx.signal));
        return { value: "late" };
      },
    });
    await server.listen();
    socket = await connectEndpoint(endpoint);
    conn = vscodeConnection(socket);
  });

  afterEach(async () => {
    conn.dispose();
    socket.destroy();
    await server.close();
    tmp.remove();
  });

  it("answers requests by wire name with proto field names and enum wire names", async () => {
    expect(await conn.sendRequest("system.ping", {})).toEqual({
      pong: true,
      timestamp: "2026-11-21T10:00:00Z",
    });
    // vscode-jsonrpc sends a single non-object param by position: `"params": [2]`.
    const jobs = (await conn.sendRequest("fetch_jobs", 2)) as Record<string, unknown>[];
    expect(jobs).toHaveLength(2);
    expect(jobs[0]).toMatchObject({
      pk: 1,
      uuid: "u0",
      state: "RUNNING",
      dft_code: "vasp",
      runner_type: "slurm",
      progress_percent: 12.5,
    });
    expect(await conn.sendRequest("fetch_jobs", { limit: 1 })).toHaveLength(1);
    expect(await conn.sendRequest("fetch_job_details", 7)).toEqual({
      ok: false,
      error: { code: "NOT_FOUND", message: "job with pk=7 not found" },
    });
  });

  it("answers JSON-RPC errors: method not found, invalid params, mapped codes", async () => {
    const notFound = await conn.sendRequest("jobs.nope", {}).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(ResponseError);
    expect((notFound as ResponseError<unknown>).code).toBe(-32601);
    const badParams = await conn.sendRequest("jobs.cancel", { job_id: 5 }).catch((e: unknown) => e);
    expect((badParams as ResponseError<unknown>).code).toBe(-32602);
    const mapped = await conn.sendRequest("jobs.status", { job_id: "j1" }).catch((e: unknown) => e);
    expect((mapped as ResponseError<unknown>).code).toBe(-32005);
    expect((mapped as ResponseError<unknown>).message).toBe("no job j1");
    // The connection keeps serving.
    expect(await conn.sendRequest("system.ping")).toMatchObject({ pong: true });
  });

  it("runs a notification's handler and sends no response", async () => {
    await conn.sendNotification("jobs.cancel", { job_id: "j9" });
    expect(await notified.promise).toBe("j9");
  });

  it("sends progress as $/progress for the request's workDoneToken", async () => {
    const seen: number[] = [];
    conn.onProgress(numberProgress, "tok-1", (v) => {
      seen.push(v);
    });
    const result = await conn.sendRequest("protoipc.test.TestService/Work", {
      value: 4,
      workDoneToken: "tok-1",
    });
    expect(result).toBe("done");
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("aborts the handler on $/cancelRequest and answers RequestCancelled", async () => {
    const cts = new CancellationTokenSource();
    const call = conn
      .sendRequest("protoipc.test.TestService/Echo", { value: "x" }, cts.token)
      .catch((e: unknown) => e);
    await handlerStarted.promise;
    cts.cancel();
    const err = await call;
    expect(err).toBeInstanceOf(ResponseError);
    expect((err as ResponseError<unknown>).code).toBe(-32800);
    await expect.poll(() => cancelled.length).toBe(1);
    expect((cancelled[0] as IpcError).code).toBe(Code.Canceled);
  });
});

describe("protoipc jsonrpc2 client → vscode-jsonrpc server", () => {
  let tmp: ReturnType<typeof privateDir>;
  let net: NetServer;
  let conns: MessageConnection[];
  let path: string;
  let setup: (c: MessageConnection) => void;

  beforeEach(async () => {
    tmp = privateDir();
    path = join(tmp.dir, "vs.sock");
    conns = [];
    setup = () => {};
    net = createNetServer((socket) => {
      const c = createMessageConnection(
        new SocketMessageReader(socket),
        new SocketMessageWriter(socket),
      );
      conns.push(c);
      setup(c);
      c.listen();
    });
    await new Promise<void>((resolve) => net.listen(path, resolve));
  });

  afterEach(async () => {
    for (const c of conns) c.dispose();
    await new Promise<void>((resolve) => net.close(() => resolve()));
    tmp.remove();
  });

  it("calls by wire name, named or positional, and reads typed results", async () => {
    const params: unknown[] = [];
    setup = (c) => {
      c.onRequest("system.ping", () => ({ pong: true, timestamp: "t", extra: "ignored" }));
      // vscode-jsonrpc spreads positional params into the handler's arguments (then the token).
      c.onRequest("fetch_jobs", (...args: unknown[]) => {
        params.push(args.slice(0, -1));
        return [
          {
            pk: 3,
            uuid: "u",
            name: "n",
            state: "COMPLETED",
            dft_code: "crystal",
            progress_percent: 100,
            created_at: null,
          },
        ];
      });
    };
    const named = createStreamTransport({ endpoint: { path } });
    const positional = createStreamTransport({ endpoint: { path }, params: "positional" });
    try {
      const c = createClient(CrystalMathService, named);
      expect((await c.systemPing({})).pong).toBe(true);
      const jobs = await c.fetchJobs({ limit: 2 });
      expect(jobs.jobs[0]?.state).toBe(JobState.COMPLETED);
      expect(jobs.jobs[0]?.dftCode).toBe(DftCode.CRYSTAL);
      expect(jobs.jobs[0]?.createdAt).toBeUndefined();
      await createClient(CrystalMathService, positional).fetchJobs({ limit: 5 });
      expect(params).toEqual([[{ limit: 2 }], [5]]);
    } finally {
      await named.close();
      await positional.close();
    }
  });

  it("sends a notification method without an id and resolves once written", async () => {
    const got = deferred<unknown>();
    setup = (c) => {
      c.onNotification("jobs.cancel", (p: unknown) => got.resolve(p));
    };
    const NotifyService = defineService({
      typeName: "test.NotifyService",
      schemaHash: "0".repeat(64),
      binding: "jsonrpc2",
      methods: {
        cancelJob: {
          name: "CancelJob",
          kind: "unary",
          input: CancelJobRequestSchema,
          output: EmptySchema,
          progress: undefined,
          idempotency: "idempotency_unknown",
          wireName: "jobs.cancel",
          notification: true,
        },
      },
    });
    const t = createStreamTransport({ endpoint: { path } });
    try {
      const c = createClient(NotifyService, t) as {
        cancelJob(req: { jobId: string }): Promise<unknown>;
      };
      await c.cancelJob({ jobId: "n1" });
      expect(await got.promise).toEqual({ job_id: "n1" });
    } finally {
      await t.close();
    }
  });

  it("maps JSON-RPC error codes to Code", async () => {
    setup = (c) => {
      c.onRequest("jobs.status", () => new ResponseError(-32602, "job_id is required"));
      c.onRequest("jobs.cancel", () => {
        throw new Error("boom");
      });
    };
    const t = createStreamTransport({ endpoint: { path } });
    try {
      const c = createClient(CrystalMathService, t);
      const invalid = await rejection(c.getJobStatus({}, { validate: false }));
      expect(invalid.code).toBe(Code.InvalidArgument);
      expect(invalid.rawMessage).toBe("job_id is required");
      expect((await rejection(c.cancelJob({ jobId: "j" }))).code).toBe(Code.Internal);
      // vscode-jsonrpc answers an unhandled method with MethodNotFound.
      expect((await rejection(c.systemVersion({}))).code).toBe(Code.Unimplemented);
    } finally {
      await t.close();
    }
  });

  it("receives $/progress for its workDoneToken, in order", async () => {
    setup = (c) => {
      c.onRequest(
        "protoipc.test.TestService/Work",
        async (p: { value: number; workDoneToken: string }) => {
          for (let i = 1; i <= p.value; i++)
            await c.sendProgress(numberProgress, p.workDoneToken, i);
          return "done";
        },
      );
    };
    const t = createStreamTransport({ endpoint: { path }, binding: "jsonrpc2" });
    try {
      const call = createClient(TestService, t).work({ value: 5 });
      const seen: number[] = [];
      for await (const u of call.progress) seen.push(u.value);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      expect((await call.result).value).toBe("done");
    } finally {
      await t.close();
    }
  });

  it("sends $/cancelRequest when the caller aborts, and the server's token fires", async () => {
    const started = deferred<void>();
    const serverCancelled = deferred<void>();
    setup = (c) => {
      c.onRequest("protoipc.test.TestService/Echo", (_p, token) => {
        started.resolve();
        return new Promise((resolve) => {
          token.onCancellationRequested(() => {
            serverCancelled.resolve();
            resolve("cancelled");
          });
        });
      });
    };
    const t = createStreamTransport({ endpoint: { path }, binding: "jsonrpc2" });
    try {
      const ac = new AbortController();
      const call = createClient(TestService, t).echo({ value: "x" }, { signal: ac.signal });
      await started.promise;
      ac.abort();
      expect((await rejection(call)).code).toBe(Code.Canceled);
      await serverCancelled.promise;
    } finally {
      await t.close();
    }
  });

  it("fails pending calls with Unavailable when the server goes away", async () => {
    const started = deferred<void>();
    setup = (c) => {
      c.onRequest("system.ping", () => {
        started.resolve();
        return new Promise(() => {});
      });
    };
    const t = createStreamTransport({ endpoint: { path } });
    try {
      const call = createClient(CrystalMathService, t).systemPing({});
      await started.promise;
      for (const c of conns) c.end();
      expect((await rejection(call)).code).toBe(Code.Unavailable);
    } finally {
      await t.close();
    }
  });
});
