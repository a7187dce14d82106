/**
 * The call-semantics scenario every transport must pass, as connect-es loops one suite over its
 * transports. `runTransportSuite` registers a vitest `describe` block for one transport factory.
 */
import { create } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type ClientTransport,
  Code,
  createClient,
  createServer,
  type Interceptor,
  IpcError,
  type Server,
  type ServerTransport,
} from "@protoipc/runtime";
import { type TestClient, type TestHandler, TestService } from "@protoipc/runtime/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rejection } from "./helpers.js";

/** One server transport and a way to connect clients to it. Each call makes fresh, unique ones. */
export interface TransportPair {
  readonly server: ServerTransport;
  connect(): ClientTransport;
  /** Removes what the pair created besides the transports (temp directories). */
  dispose?(): Promise<void>;
}

/** Resolves when `signal` aborts, with its reason. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

/** A promise and its resolver, to await an event from inside a handler. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** What a binding can carry; the suite skips the scenarios of what it cannot. */
export interface TransportCapabilities {
  /** Request metadata crosses the wire (jsonrpc2 has no headers); default true. */
  readonly metadata?: boolean;
}

export function runTransportSuite(
  name: string,
  makePair: () => Promise<TransportPair>,
  capabilities: TransportCapabilities = {},
): void {
  describe(`call semantics over ${name}`, () => {
    let pair: TransportPair;
    let server: Server;
    const transports: ClientTransport[] = [];
    /** Events the handlers report, awaited by the tests. */
    let handlerAborted: ReturnType<typeof deferred<unknown>>;
    let handlerStarted: ReturnType<typeof deferred<void>>;

    const handler: Partial<TestHandler> = {
      async echo(req, ctx) {
        if (req.value === "hang") {
          handlerStarted.resolve();
          handlerAborted.resolve(await aborted(ctx.signal));
          return { value: "late" };
        }
        if (req.value === "fail") {
          throw new IpcError("the prompt is empty", Code.InvalidArgument, {
            details: [{ desc: StringValueSchema, value: { value: "prompt" } }],
          });
        }
        if (req.value === "crash") throw new Error("disk on fire");
        if (req.value === "metadata") return { value: ctx.metadata["x-user"] ?? "none" };
        if (req.value === "huge") return { value: "x".repeat(5 * 1024 * 1024) };
        return { value: req.value };
      },
      async *count(req, ctx) {
        for (let i = 1; i <= req.value; i++) {
          if (ctx.signal.aborted) break;
          yield { value: i };
        }
        if (req.value === 0) {
          handlerStarted.resolve();
          handlerAborted.resolve(await aborted(ctx.signal));
        }
      },
      async work(req, ctx) {
        if (req.value === 0) {
          await ctx.progress({ value: 1 });
          handlerStarted.resolve();
          handlerAborted.resolve(await aborted(ctx.signal));
          return { value: "cancelled" };
        }
        for (let i = 1; i <= req.value; i++) await ctx.progress({ value: i });
        return { value: "done" };
      },
    };

    beforeEach(async () => {
      handlerAborted = deferred();
      handlerStarted = deferred();
      pair = await makePair();
      server = createServer(pair.server, {
        interceptors: [
          (next) => async (req) => {
            if (req.metadata["x-user"] === "mallory") {
              throw new IpcError("mallory may not call", Code.PermissionDenied);
            }
            return next(req);
          },
        ],
      });
      server.register(TestService, handler);
      await server.listen();
    });

    afterEach(async () => {
      for (const t of transports.splice(0)) await t.close();
      await server.close();
      await pair.dispose?.();
    });

    function client(interceptors: Interceptor[] = []): TestClient {
      const t = pair.connect();
      transports.push(t);
      return createClient(TestService, t, { interceptors });
    }

    it("answers a unary call with the typed response", async () => {
      const c = client();
      const res = await c.echo({ value: "16-bit knight" });
      expect(res.value).toBe("16-bit knight");
      expect(res.$typeName).toBe("google.protobuf.StringValue");
    });

    it("matches 500 concurrent calls on one connection to their own replies", async () => {
      const c = client();
      const values = Array.from({ length: 500 }, (_, i) => `call-${i}`);
      const res = await Promise.all(values.map((value) => c.echo({ value })));
      expect(res.map((r) => r.value)).toEqual(values);
    });

    it("streams server items in order, then ends", async () => {
      const c = client();
      const got: number[] = [];
      for await (const item of c.count({ value: 100 })) got.push(item.value);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });

    it("delivers every progress update in order, then the result", async () => {
      const c = client();
      const call = c.work({ value: 1000 });
      const got: number[] = [];
      for await (const p of call.progress) got.push(p.value);
      expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect((await call.result).value).toBe("done");
    });

    it("buffers progress updates for a caller that reads them after the result", async () => {
      const c = client();
      const call = c.work({ value: 50 });
      expect((await call.result).value).toBe("done");
      const got: number[] = [];
      for await (const p of call.progress) got.push(p.value);
      expect(got).toHaveLength(50);
    });

    it("fails a call whose unread updates exceed maxBufferedUpdates with ResourceExhausted", async () => {
      const c = client();
      const call = c.work({ value: 200 }, { maxBufferedUpdates: 10 });
      const err = await rejection(call.result);
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/unread progress updates exceed maxBufferedUpdates/);
    });

    it("rejects with DeadlineExceeded when the deadline passes, and aborts the handler", async () => {
      const c = client();
      const err = await rejection(c.echo({ value: "hang" }, { timeoutMs: 100 }));
      expect(err.code).toBe(Code.DeadlineExceeded);
      const reason = await handlerAborted.promise;
      expect(reason).toBeInstanceOf(IpcError);
      expect([Code.DeadlineExceeded, Code.Canceled]).toContain((reason as IpcError).code);
    });

    it("cancels through an AbortSignal, and the handler's signal aborts", async () => {
      const c = client();
      const ac = new AbortController();
      const call = c.echo({ value: "hang" }, { signal: ac.signal });
      await handlerStarted.promise;
      ac.abort();
      const err = await rejection(call);
      expect(err.code).toBe(Code.Canceled);
      expect(((await handlerAborted.promise) as IpcError).code).toBe(Code.Canceled);
    });

    it("cancels a progress call with cancel(), reaching the handler", async () => {
      const c = client();
      const call = c.work({ value: 0 });
      await handlerStarted.promise;
      call.cancel("user pressed q");
      const err = await rejection(call.result);
      expect(err.code).toBe(Code.Canceled);
      expect(err.rawMessage).toMatch(/user pressed q/);
      expect(((await handlerAborted.promise) as IpcError).code).toBe(Code.Canceled);
      await expect(async () => {
        for await (const _ of call.progress) {
          // drain: the buffered update, then the error
        }
      }).rejects.toThrow(/cancelled/);
    });

    it("cancels a server stream when the caller stops iterating", async () => {
      const c = client();
      const it = c.count({ value: 0 })[Symbol.asyncIterator]();
      const first = it.next();
      await handlerStarted.promise;
      await it.return?.();
      expect(((await handlerAborted.promise) as IpcError).code).toBe(Code.Canceled);
      await expect(first).resolves.toEqual({ value: undefined, done: true });
    });

    it("carries an IpcError's code, message and typed details to the caller", async () => {
      const c = client();
      const err = await rejection(c.echo({ value: "fail" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe("the prompt is empty");
      expect(err.findDetails(StringValueSchema).map((d) => d.value)).toEqual(["prompt"]);
    });

    it("answers Unknown with the message when a handler throws a plain Error", async () => {
      const c = client();
      const err = await rejection(c.echo({ value: "crash" }));
      expect(err.code).toBe(Code.Unknown);
      expect(err.rawMessage).toBe("disk on fire");
    });

    it("answers Unimplemented for a method without a handler, and keeps serving", async () => {
      const c = client();
      const err = await rejection(c.missing({ value: "x" }));
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toContain("/protoipc.test.TestService/Missing");
      expect((await c.echo({ value: "still here" })).value).toBe("still here");
    });

    // Skipped where the wire has no place for metadata (JSON-RPC 2.0 has no headers).
    it.skipIf(capabilities.metadata === false)(
      "runs interceptors on both sides with metadata",
      async () => {
        const seen: string[] = [];
        const c = client([
          (next) => async (req) => {
            req.metadata["x-user"] ??= "ada";
            seen.push(`before ${req.method.name}`);
            const res = await next(req);
            seen.push("after");
            return res;
          },
        ]);
        expect((await c.echo({ value: "metadata" })).value).toBe("ada");
        expect(seen).toEqual(["before Echo", "after"]);
        const denied = await rejection(
          c.echo({ value: "x" }, { metadata: { "X-User": "mallory" } }),
        );
        expect(denied.code).toBe(Code.PermissionDenied);
      },
    );

    it("refuses a request larger than maxFrameBytes with ResourceExhausted, and keeps serving", async () => {
      const c = client();
      const err = await rejection(c.echo({ value: "x".repeat(5 * 1024 * 1024) }));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/exceeds maxFrameBytes 4194304/);
      expect((await c.echo({ value: "ok" })).value).toBe("ok");
    });

    it("answers ResourceExhausted when a response exceeds maxFrameBytes, instead of going silent", async () => {
      const c = client();
      const err = await rejection(c.echo({ value: "huge" }, { timeoutMs: 10_000 }));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/exceeding maxFrameBytes 4194304/);
      expect((await c.echo({ value: "ok" })).value).toBe("ok");
    });

    it("accepts full messages as well as init objects", async () => {
      const c = client();
      const res = await c.echo(create(StringValueSchema, { value: "full" }));
      expect(res.value).toBe("full");
    });

    it("fails calls on a closed transport with Unavailable", async () => {
      const t = pair.connect();
      const c = createClient(TestService, t);
      expect((await c.echo({ value: "a" })).value).toBe("a");
      await t.close();
      const err = await rejection(c.echo({ value: "b" }));
      expect(err.code).toBe(Code.Unavailable);
    });
  });
}
