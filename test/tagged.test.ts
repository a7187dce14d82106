/**
 * The tagged binding end to end: the generated pixels client (`createClient(PixelService, …)`)
 * on `createZmqTaggedTransport` against
 * - a Python server generated for the tagged binding (protoipc.tagged_zmq, REP-compatible ROUTER +
 *   XPUB), in a real Python process;
 * - a stand-in for the ORIGINAL dgx-pixels backend written with raw pyzmq + msgpack (REP + plain
 *   PUB), including fault modes that withhold replies (Lazy Pirate).
 */
import { type ChildProcess, execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import {
  type GenerateProgress,
  GenerateResponseSchema,
  GenerationStage,
  JobAcceptedSchema,
  JobStartedSchema,
  ModelType,
  PixelResponseSchema,
  PixelService,
  PixelUpdateSchema,
} from "@protoipc/pixels-sdk";
import {
  type ClientTransport,
  Code,
  createClient,
  createServer,
  IpcError,
  type Server,
} from "@protoipc/runtime";
import { encodeTagged, taggedUnion } from "@protoipc/runtime/tagged";
import {
  createZmqTaggedServerTransport,
  createZmqTaggedTransport,
  type ZmqTaggedTransportOptions,
} from "@protoipc/zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { Request, Router, XPublisher } from "zeromq";
import { freePort, killAndWait, privateDir, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const taggedServer = fileURLToPath(
  new URL("./fixtures/py_pixels_tagged_server.py", import.meta.url),
);
const legacyServer = fileURLToPath(
  new URL("./fixtures/py_legacy_pixels_server.py", import.meta.url),
);
const tsTaggedServer = fileURLToPath(
  new URL("./fixtures/ts-pixels-tagged-server.ts", import.meta.url),
);
const pyTaggedClient = fileURLToPath(
  new URL("./fixtures/py_tagged_client_scenarios.py", import.meta.url),
);

/** Child processes and the signal that stops each. */
/** A generate request the schema's buf.validate rules accept; tests spread it, then set what
 * they exercise (the client and every server validate before anything else happens). */
const VALID_REQUEST = { prompt: "knight", model: "sdxl-base", size: [64, 64], steps: 1 };

const children: Array<[ChildProcess, NodeJS.Signals]> = [];
const transports: ClientTransport[] = [];
const dirs: Array<{ remove(): void }> = [];

afterEach(async () => {
  for (const t of transports.splice(0)) await t.close();
  for (const [c, signal] of children.splice(0)) await killAndWait(c, signal);
  for (const d of dirs.splice(0)) d.remove();
});

interface Endpoints {
  address: string;
  updatesAddress: string;
}

async function tcpEndpoints(): Promise<Endpoints> {
  return {
    address: `tcp://127.0.0.1:${await freePort()}`,
    updatesAddress: `tcp://127.0.0.1:${await freePort()}`,
  };
}

async function startTagged(format = "msgpack"): Promise<Endpoints> {
  const tmp = privateDir();
  dirs.push(tmp);
  const ep = { address: `ipc://${tmp.dir}/req.sock`, updatesAddress: `ipc://${tmp.dir}/pub.sock` };
  children.push([
    await spawnReady(
      python,
      [taggedServer, "--bind", ep.address, "--updates", ep.updatesAddress, "--format", format],
      { interpreter: "none" },
    ),
    "SIGTERM",
  ]);
  return ep;
}

async function startLegacy(fault = "none"): Promise<Endpoints> {
  const ep = await tcpEndpoints();
  children.push([
    await spawnReady(
      python,
      [legacyServer, "--rep", ep.address, "--pub", ep.updatesAddress, "--fault", fault],
      { interpreter: "none" },
    ),
    // Its main thread blocks in a plain recv, where SIGTERM may never reach it (as the original).
    "SIGKILL",
  ]);
  return ep;
}

function pixels(ep: Endpoints, options: Partial<ZmqTaggedTransportOptions> = {}) {
  const t = createZmqTaggedTransport({ ...ep, ...options });
  transports.push(t);
  return createClient(PixelService, t);
}

function describeUpdate(p: GenerateProgress): string {
  switch (p.update.case) {
    case "jobStarted":
      return "started";
    case "progress":
      return `step ${p.update.value.step}/${p.update.value.totalSteps}`;
    case "preview":
      return `preview ${p.update.value.step}`;
    default:
      return "?";
  }
}

describe("generated pixels client → Python server generated for the tagged binding", () => {
  it("answers ping, status (uint64), list_models (enums) through the generic dispatch", async () => {
    const c = pixels(await startTagged());
    await c.ping({});
    const status = await c.status({});
    expect(status.version).toBe("tagged-test");
    expect(status.uptimeS).toBe(2n ** 40n);
    expect(status.queueSize).toBe(2); // the server's interceptor counted ping and status
    const { models } = await c.listModels({});
    expect(models.map((m) => [m.name, m.modelType, m.sizeMb])).toEqual([
      ["SDXL Base 1.0", ModelType.CHECKPOINT, 6500n],
      ["Pixel Art LoRA", ModelType.LORA, 144n],
    ]);
  });

  it("streams typed job.progress, including the update published at once, then the result", async () => {
    const c = pixels(await startTagged());
    const job = c.generate({
      ...VALID_REQUEST,
      id: "job-1",
      prompt: "16-bit knight",
      model: "sdxl-base",
      size: [64, 64],
      steps: 10,
      cfgScale: 7.5,
    });
    const seen: string[] = [];
    for await (const p of job.progress) seen.push(describeUpdate(p));
    expect(seen).toEqual([
      "started",
      ...[1, 2, 3, 4, 5].map((s) => `step ${s}/10`),
      "preview 5",
      ...[6, 7, 8, 9, 10].map((s) => `step ${s}/10`),
      "preview 10",
    ]);
    const done = await job.result;
    expect(done.jobId).toBe("job-1");
    expect(done.imagePath).toBe("/tmp/job-1.png");
    expect(done.durationS).toBe(1.5);
  });

  it("never loses the first update on a fresh connection (subscription confirmed by XPUB)", async () => {
    const ep = await startTagged();
    for (let i = 0; i < 5; i++) {
      const job = pixels(ep).generate({ ...VALID_REQUEST, id: `fresh-${i}`, steps: 1 });
      const first = await job.progress[Symbol.asyncIterator]().next();
      expect(first.done).toBe(false);
      expect((first.value as GenerateProgress).update.case).toBe("jobStarted");
      await job.result;
    }
  });

  it("gives a job's error its code", async () => {
    const c = pixels(await startTagged());
    const err = await rejection(
      c.generate({ ...VALID_REQUEST, id: "fail-1", prompt: "fail", model: "nope" }).result,
    );
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("model nope not found");
    const cancel = await rejection(c.cancel({ jobId: "nobody" }));
    expect(cancel.code).toBe(Code.NotFound);
  });

  it("cancels the Python handler when the caller aborts", async () => {
    const c = pixels(await startTagged());
    const abort = new AbortController();
    const job = c.generate(
      { ...VALID_REQUEST, id: "hang-1", prompt: "hang" },
      { signal: abort.signal },
    );
    const it = job.progress[Symbol.asyncIterator]();
    expect(((await it.next()).value as GenerateProgress).update.case).toBe("jobStarted");
    expect((await c.status({})).activeJobs).toBe(1);
    abort.abort("user pressed q");
    expect((await rejection(job.result)).code).toBe(Code.Canceled);
    // The cancel request is queued before this status on the one REQ socket.
    expect((await c.status({})).activeJobs).toBe(0);
  });

  it("answers bad input with a typed error and goes on serving", async () => {
    const ep = await startTagged();
    const req = new Request({ linger: 0, receiveTimeout: 5000 });
    req.connect(ep.address);
    try {
      await req.send(Buffer.from("81a474797065a3666f6f", "hex")); // {"type":"foo"}
      const [unknown] = await req.receive();
      expect(unknown!.toString("latin1")).toContain(
        '[invalid_argument] unknown pixels.v1.PixelRequest tag "foo"',
      );
      await req.send(Buffer.from([0x81, 0xa4, 0x74])); // truncated
      const [malformed] = await req.receive();
      expect(malformed!.toString("latin1")).toContain(
        "[invalid_argument] malformed MessagePack frame of 3 bytes",
      );
      await req.send(Buffer.from("81a474797065a470696e67", "hex")); // {"type":"ping"}
      const [pong] = await req.receive();
      expect(pong!.toString("hex")).toBe("81a474797065a4706f6e67");
    } finally {
      req.close();
    }
  });

  it("speaks JSON of the same shape when both sides choose it", async () => {
    const c = pixels(await startTagged("json"), { format: "json" });
    expect((await c.status({})).uptimeS).toBe(2n ** 40n);
    const job = c.generate({ ...VALID_REQUEST, id: "json-1", steps: 2 });
    expect((await job.result).imagePath).toBe("/tmp/json-1.png");
  });
});

describe("generated pixels client → TypeScript server on the tagged binding (ROUTER + XPUB)", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function startTs(): Promise<Endpoints> {
    const tmp = privateDir();
    dirs.push(tmp);
    const ep = {
      address: `ipc://${tmp.dir}/req.sock`,
      updatesAddress: `ipc://${tmp.dir}/pub.sock`,
    };
    const server = createServer(
      createZmqTaggedServerTransport({
        service: PixelService,
        bind: ep.address,
        updatesBind: ep.updatesAddress,
      }),
      {
        interceptors: [
          (next) => async (req) => {
            seen.push(req.method.name);
            return next(req);
          },
        ],
      },
    );
    server.register(PixelService, {
      ping: () => ({}),
      status: () => ({ version: "ts", uptimeS: 2n ** 60n }),
      async generate(req, ctx) {
        await ctx.progress({ update: { case: "jobStarted", value: { jobId: req.id } } });
        if (req.prompt === "fail") throw new IpcError("no such model", Code.NotFound);
        if (req.prompt === "hang") {
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve()),
          );
          aborted.push(req.id);
          throw ctx.signal.reason;
        }
        for (let step = 1; step <= req.steps; step++) {
          await ctx.progress({
            update: {
              case: "progress",
              value: {
                jobId: req.id,
                step,
                totalSteps: req.steps,
                stage: GenerationStage.SAMPLING,
              },
            },
          });
        }
        return { jobId: req.id, imagePath: `/ts/${req.id}.png` };
      },
    });
    servers.push(server);
    await server.listen();
    return ep;
  }
  const seen: string[] = [];
  const aborted: string[] = [];

  it("serves unary calls, progress, errors and cancellation through the generic dispatch", async () => {
    seen.length = 0;
    const c = pixels(await startTs());
    await c.ping({});
    expect((await c.status({})).uptimeS).toBe(2n ** 60n);
    const job = c.generate({ ...VALID_REQUEST, id: "ts-1", steps: 3 });
    const steps: string[] = [];
    for await (const p of job.progress) steps.push(describeUpdate(p));
    expect(steps).toEqual(["started", "step 1/3", "step 2/3", "step 3/3"]);
    expect((await job.result).imagePath).toBe("/ts/ts-1.png");
    const err = await rejection(
      c.generate({ ...VALID_REQUEST, id: "ts-2", prompt: "fail" }).result,
    );
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, "no such model"]);
    const abort = new AbortController();
    const hang = c.generate(
      { ...VALID_REQUEST, id: "ts-3", prompt: "hang" },
      { signal: abort.signal },
    );
    await hang.progress[Symbol.asyncIterator]().next();
    abort.abort();
    expect((await rejection(hang.result)).code).toBe(Code.Canceled);
    await c.ping({}); // queued after the cancel request
    expect(aborted).toEqual(["ts-3"]);
    expect(seen).toEqual(["Ping", "Status", "Generate", "Generate", "Generate", "Ping"]);
    const unimplemented = await rejection(c.listModels({}));
    expect(unimplemented.code).toBe(Code.Unimplemented);
  });
});

describe("subscription confirmed before a progress request is sent (harness: ROUTER + XPUB)", () => {
  async function harness() {
    const ep = await tcpEndpoints();
    const router = new Router({ linger: 0 });
    const xpub = new XPublisher({ linger: 0 });
    await router.bind(ep.address);
    await xpub.bind(ep.updatesAddress);
    dirs.push({
      remove: () => {
        router.close();
        xpub.close();
      },
    });
    /** Resolves with the confirmation token once the client subscribes to it. */
    const token = (async () => {
      for (;;) {
        const [msg] = await xpub.receive();
        if (msg![0] === 1 && msg!.subarray(1).toString().startsWith("\u0000protoipc.subscribed.")) {
          return msg!.subarray(1);
        }
      }
    })();
    return { ep, router, xpub, token };
  }

  it("holds the request while the server has not confirmed, then fails with Unavailable", async () => {
    const { ep, router, token } = await harness();
    const c = pixels(ep, { subscribeConfirm: "echo", requestTimeoutMs: 300 });
    const job = c.generate({ ...VALID_REQUEST, id: "held" });
    await token; // the server saw the subscription, and does not echo it
    const err = await rejection(job.result);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("did not confirm the subscription");
    router.receiveTimeout = 0;
    await expect(router.receive()).rejects.toThrow(); // the request never left
  });

  it("sends the request after the echo, so an update published at once arrives", async () => {
    const { ep, router, xpub, token } = await harness();
    const events: string[] = [];
    const serve = (async () => {
      const t = await token;
      events.push("echo");
      await xpub.send(t);
      const [id, empty] = await router.receive();
      events.push("request");
      // Published before the reply, the instant the request arrives: the worst case.
      const updates = taggedUnion(PixelUpdateSchema);
      await xpub.send(
        encodeTagged(updates, create(JobStartedSchema, { jobId: "now", timestamp: 1n })),
      );
      const replies = taggedUnion(PixelResponseSchema);
      await router.send([
        id!,
        empty!,
        encodeTagged(replies, create(JobAcceptedSchema, { jobId: "now" })),
      ]);
      await xpub.send(
        encodeTagged(
          updates,
          create(GenerateResponseSchema, { jobId: "now", imagePath: "/x.png" }),
        ),
      );
    })();
    const job = pixels(ep, { subscribeConfirm: "echo" }).generate({ ...VALID_REQUEST, id: "now" });
    const first = await job.progress[Symbol.asyncIterator]().next();
    expect((first.value as GenerateProgress).update.case).toBe("jobStarted");
    expect((await job.result).imagePath).toBe("/x.png");
    await serve;
    expect(events).toEqual(["echo", "request"]);
  });
});

describe("generated pixels client → stand-in of the original dgx-pixels backend (raw pyzmq, REP + PUB)", () => {
  it("drives the original wire: requests, f64 floats, enums, progress and result", async () => {
    const c = pixels(await startLegacy());
    await c.ping({});
    expect((await c.status({})).version).toBe("1.0.0");
    const { models } = await c.listModels({});
    expect(models.map((m) => m.modelType)).toEqual([ModelType.CHECKPOINT, ModelType.LORA]);
    const job = c.generate({
      ...VALID_REQUEST,
      id: "legacy-1",
      prompt: "knight",
      model: "sdxl",
      size: [1024, 1024],
      steps: 4,
      cfgScale: 7,
    });
    const seen: string[] = [];
    for await (const p of job.progress) {
      seen.push(describeUpdate(p));
      if (p.update.case === "progress") expect(p.update.value.stage).toBe(GenerationStage.SAMPLING);
    }
    expect(seen).toEqual(["started", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "preview 4"]);
    const done = await job.result;
    expect(done.imagePath).toBe("/out/legacy-1.png");
  });

  it("turns the original's job_error, or a job_finished without success, into an IpcError", async () => {
    const c = pixels(await startLegacy());
    const err = await rejection(
      c.generate({ ...VALID_REQUEST, id: "legacy-fail", prompt: "fail" }).result,
    );
    expect(err.code).toBe(Code.Unknown);
    expect(err.rawMessage).toBe("job_error: CUDA out of memory");
    const vanished = await rejection(
      c.generate({ ...VALID_REQUEST, id: "legacy-vanish", prompt: "vanish" }).result,
    );
    expect(vanished.code).toBe(Code.Unknown);
    expect(vanished.rawMessage).toBe("job legacy-vanish finished without success (job_finished)");
  });

  it("retries a lost reply of an idempotent method on a new REQ socket (Lazy Pirate)", async () => {
    const c = pixels(await startLegacy("drop-first"), { requestTimeoutMs: 1000 });
    await c.ping({});
    // status is itself dropped once, then retried; it counts the pings the server saw (two, or
    // more if a busy machine made a later attempt time out too).
    expect((await c.status({})).activeJobs).toBeGreaterThanOrEqual(2);
  });

  it("does not retry a method that is not idempotent, and never hangs", async () => {
    const c = pixels(await startLegacy("drop-first"), { requestTimeoutMs: 300 });
    const err = await rejection(c.generate({ ...VALID_REQUEST, id: "once", steps: 1 }).result);
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain("not retried: Generate is not idempotent");
    await c.ping({}).catch(() => {}); // first ping is dropped too, and retried
    expect((await c.status({})).queueSize).toBe(1);
  });

  it("never delivers a stale reply after a timeout", async () => {
    const c = pixels(await startLegacy("late-first"), { requestTimeoutMs: 1000 });
    expect((await c.status({})).version).toBe("1.0.0");
  });

  it("fails at once past maxQueuedCalls, and fails a call to a dead server within its timeout", async () => {
    const ep = await tcpEndpoints(); // nothing listens
    const c = pixels(ep, { requestTimeoutMs: 200, maxRetries: 1, maxQueuedCalls: 1 });
    const calls = [c.ping({}), c.ping({}), c.ping({})];
    const errors = await Promise.all(calls.map((p) => rejection(p)));
    expect(errors.map((e) => e.code)).toEqual([
      Code.Unavailable,
      Code.Unavailable,
      Code.ResourceExhausted,
    ]);
  });
});

describe("Python client (create_zmq_tagged_transport) → TypeScript server on the tagged binding, in its own process", () => {
  it("passes every Python client scenario: unary, progress, job error, unimplemented, anonymous job, cancellation", async () => {
    const tmp = privateDir();
    dirs.push(tmp);
    const ep = { address: `ipc://${tmp.dir}/req.sock`, updates: `ipc://${tmp.dir}/pub.sock` };
    const server = await spawnReady(tsTaggedServer, [
      "--bind",
      ep.address,
      "--updates",
      ep.updates,
    ]);
    children.push([server, "SIGTERM"]);
    const { stdout } = await promisify(execFile)(
      python,
      [pyTaggedClient, "--address", ep.address, "--updates", ep.updates],
      { timeout: 60_000 },
    );
    const results = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { scenario: string; ok: boolean; detail: string });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.scenario)).toEqual([
      "unary",
      "progress_and_result",
      "job_error",
      "unimplemented",
      "anonymous_job",
      "task_cancellation_sends_cancel",
    ]);
  });
});
