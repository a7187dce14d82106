import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import {
  Elem,
  elemForClientName,
  file_hydra_v1_hydra,
  GameStateSchema,
  SimulationService,
  StartSimulationRequestSchema,
} from "@protoipc/hydra-sdk";
import {
  createHydraClientTransport,
  createHydraServerTransport,
  createRouter,
  encodeHydraEnvelope,
  encodeHydraForward,
  encodePythonJson,
  HYDRA_NO_SERVER_REPLY,
  HYDRA_OK,
  type HydraEnvelope,
  type HydraSender,
  type JsonValue,
  messageFromHydraJson,
  messageToHydraJson,
  parseHydraEnvelope,
  type RouterHandle,
} from "@protoipc/router";
import { Code, createClient, createServer, IpcError } from "@protoipc/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { freePort, killAndWait, rejection, spawnReady } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const python = `${repo}.venv/bin/python`;
const referenceRouter = fileURLToPath(
  new URL("./fixtures/hydra_reference_router.py", import.meta.url),
);
const pyHydraServer = fileURLToPath(new URL("./fixtures/py_hydra_server.py", import.meta.url));

/** The golden vectors the Python side checks too (python/tests/test_router_hydra.py). */
interface HydraVector {
  readonly name: string;
  readonly kind: "envelope" | "forward" | "json";
  readonly type?: string;
  readonly value: { [k: string]: JsonValue };
  readonly bytes: string;
}
const vectors = (
  JSON.parse(readFileSync(new URL("./golden/hydra-vectors.json", import.meta.url), "utf8")) as {
    vectors: HydraVector[];
  }
).vectors;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What Python's `json.dumps` writes for a JSON value (the bytes a Hydra peer sends). */
function pythonDumps(value: unknown): string {
  return execFileSync(
    python,
    ["-c", "import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin)))"],
    {
      input: JSON.stringify(value),
    },
  ).toString();
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

const config = {
  gridSize: { x: 20, y: 20 },
  initialSnakeLength: 3,
  moveBudget: 100,
  randomSeed: 42n,
  nnEnabled: true,
  foodReward: 10,
  collisionPenalty: -10,
  emptyMoveReward: 0,
};

describe("Hydra envelope byte shapes", () => {
  it("writes envelopes, forwards and acks byte for byte as Hydra's Python does", () => {
    const heartbeat = encodeHydraEnvelope({
      sender: "HydraClient",
      elem: "heartbeat",
      data: {},
      client_id: "HydraClient-4821",
      timestamp: 1700000000.25,
    });
    expect(text(heartbeat)).toBe(
      '{"sender": "HydraClient", "elem": "heartbeat", "data": {}, "client_id": "HydraClient-4821", "timestamp": 1700000000.25}',
    );
    const data = messageToHydraJson(
      StartSimulationRequestSchema,
      create(StartSimulationRequestSchema, { config }),
    );
    const start = encodeHydraEnvelope({
      sender: "HydraClient",
      elem: "start_simulation",
      data: data as { [k: string]: never },
      client_id: "tui-é",
      timestamp: 1700000000.5,
      request_id: "tui-1",
    });
    expect(text(start)).toBe(
      '{"sender": "HydraClient", "elem": "start_simulation", "data": {"config": {"grid_size": [20, 20], "initial_snake_length": 3, "move_budget": 100, "random_seed": 42, "nn_enabled": true, "food_reward": 10, "collision_penalty": -10, "empty_move_reward": 0}}, "client_id": "tui-\\u00e9", "timestamp": 1700000000.5, "request_id": "tui-1"}',
    );
    // The same values through Python's json.dumps give the same bytes.
    expect(text(start)).toBe(pythonDumps(JSON.parse(text(start))));
    expect(text(encodeHydraForward("HydraClient", "get_status", {}))).toBe(
      '{"sender": "HydraClient", "elem": "get_status", "data": {}}',
    );
    expect(text(HYDRA_OK)).toBe('{"status": "ok"}');
    expect(text(HYDRA_NO_SERVER_REPLY)).toBe('{"error": "No AI Hydra server connected"}');
    expect(text(HYDRA_NO_SERVER_REPLY)).toBe(
      pythonDumps({ error: "No AI Hydra server connected" }),
    );
  });

  it.each(vectors.map((v) => [v.name, v] as const))("writes the golden bytes: %s", (_, v) => {
    const value = v.value;
    let data: JsonValue = value.data ?? {};
    if (v.type !== undefined) {
      const schema = file_hydra_v1_hydra.messages.find((m) => m.typeName === v.type);
      if (schema === undefined) throw new Error(`no schema ${v.type}`);
      data = messageToHydraJson(schema, messageFromHydraJson(schema, data));
    }
    const bytes =
      v.kind === "envelope"
        ? encodeHydraEnvelope({ ...value, data } as unknown as HydraEnvelope)
        : v.kind === "forward"
          ? encodeHydraForward(
              value.sender as HydraSender,
              value.elem as string,
              data,
              value.request_id as string | undefined,
            )
          : encodePythonJson(value);
    expect(text(bytes)).toBe(v.bytes);
  });

  it("reads Hydra JSON into typed messages: tuples, optional fields, int64", () => {
    const state = messageFromHydraJson(GameStateSchema, {
      snake_head: [3, 4],
      snake_body: [
        [3, 4],
        [3, 5],
      ],
      direction: [0, -1],
      food_position: [7, 7],
      score: 15,
      grid_size: [8, 8],
      moves_count: 42,
      is_game_over: false,
      unknown_key: "ignored",
    });
    expect(state.snakeBody.map((c) => [c.x, c.y])).toEqual([
      [3, 4],
      [3, 5],
    ]);
    expect(state.direction).toMatchObject({ x: 0, y: -1 });
    expect(() => messageFromHydraJson(GameStateSchema, { snake_head: [1] })).toThrow(
      "data.snake_head: expected an array of 2 values, got [1]",
    );
    const err = (() => {
      try {
        messageFromHydraJson(StartSimulationRequestSchema, { config: { move_budget: "x" } });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe(Code.InvalidArgument);
    expect((err as IpcError).rawMessage).toBe(
      'data.config.move_budget: expected an integer, got "x"',
    );
  });

  it("validates envelopes by Hydra's rules", () => {
    const ok = {
      sender: "HydraClient",
      elem: "get_status",
      data: {},
      client_id: "c",
      timestamp: 1,
    };
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
    expect(parseHydraEnvelope(enc(ok)).elem).toBe("get_status");
    const cases: [unknown, string][] = [
      [{ ...ok, sender: "Nobody" }, "sender"],
      [{ ...ok, elem: "ok" }, "elem"],
      [{ ...ok, elem: "launch" }, "elem"],
      [{ ...ok, data: [] }, "data"],
      [{ ...ok, client_id: "" }, "client_id"],
      [{ ...ok, timestamp: 4102444801 }, "timestamp"],
      [{ ...ok, request_id: 5 }, "request_id"],
    ];
    for (const [v, field] of cases) {
      expect(() => parseHydraEnvelope(enc(v))).toThrow(field);
    }
    expect(() => parseHydraEnvelope(Buffer.from("not json"))).toThrow("is not UTF-8 JSON");
  });

  it("maps Hydra's client-side names onto elems", () => {
    expect(elemForClientName("update_config")).toBe(Elem.SET_CONFIG);
    expect(elemForClientName("status_response")).toBe(Elem.STATUS_UPDATE);
    expect(elemForClientName("config_updated")).toBe(Elem.CONFIG_UPDATE);
    expect(elemForClientName("decision_cycle_complete")).toBe(Elem.PERFORMANCE_UPDATE);
    expect(elemForClientName("game_over")).toBe(Elem.GAME_STATE_UPDATE);
    expect(elemForClientName("error_occurred")).toBe(Elem.ERROR);
    expect(elemForClientName("client_connected")).toBe(Elem.STATUS);
    expect(elemForClientName("client_disconnected")).toBe(Elem.STATUS);
    expect(elemForClientName("start_simulation")).toBe(Elem.START_SIMULATION);
    expect(elemForClientName("launch")).toBeUndefined();
  });
});

/** A raw Hydra peer: a DEALER whose routing id is its client_id, speaking JSON by hand. */
function hydraPeer(address: string, sender: "HydraClient" | "HydraServer") {
  const clientId = `${sender}-${randomBytes(3).toString("hex")}`;
  const socket = new Dealer({ linger: 0, routingId: clientId });
  socket.connect(address);
  cleanups.push(() => socket.close());
  return {
    clientId,
    send(elem: string, data: object, requestId?: string) {
      return socket.send(
        encodeHydraEnvelope({
          sender,
          elem,
          data: data as never,
          client_id: clientId,
          timestamp: Date.now() / 1000,
          ...(requestId === undefined ? {} : { request_id: requestId }),
        }),
      );
    },
    async next(): Promise<string> {
      const [part] = await socket.receive();
      return (part as Buffer).toString();
    },
  };
}

async function hydraRouter(): Promise<RouterHandle> {
  const router = createRouter({
    bind: "tcp://127.0.0.1:*",
    protocol: "hydra",
    heartbeatIntervalMs: 200,
  });
  cleanups.push(() => router.close());
  await router.start();
  return router;
}

function joined(router: RouterHandle, name: string): Promise<void> {
  return new Promise((resolve) => {
    const off = router.on("peerJoined", (p) => {
      if (p.name === name) {
        off();
        resolve();
      }
    });
  });
}

describe("the router in Hydra mode", () => {
  it("serves existing Hydra peers: heartbeat registration, stripped forwards, acks, replies by request id", async () => {
    const router = await hydraRouter();
    const address = router.address as string;
    const client = hydraPeer(address, "HydraClient");
    const monitor = hydraPeer(address, "HydraClient");
    const server = hydraPeer(address, "HydraServer");

    await client.send("get_status", {});
    expect(await client.next()).toBe('{"error": "No AI Hydra server connected"}');

    const up = Promise.all([
      joined(router, server.clientId),
      joined(router, monitor.clientId),
      joined(router, client.clientId),
    ]);
    await server.send("heartbeat", {});
    await monitor.send("heartbeat", {});
    await client.send("heartbeat", {});
    await up;
    // An invalid envelope is dropped (and counted); the router goes on serving.
    await client.send("launch_rockets", {});
    await client.send("start_simulation", { config: { move_budget: 5 } }, "req-7");
    expect(await server.next()).toBe(
      '{"sender": "HydraClient", "elem": "start_simulation", "data": {"config": {"move_budget": 5}}, "request_id": "req-7"}',
    );
    expect(await client.next()).toBe('{"status": "ok"}');
    expect(router.counters.malformedFrames).toBe(1);

    // The reply carries the request id: only the client that asked gets it.
    await server.send("simulation_started", {}, "req-7");
    expect(await client.next()).toBe(
      '{"sender": "HydraServer", "elem": "simulation_started", "data": {}, "request_id": "req-7"}',
    );
    // Anything else from the server goes to every registered client but the sender.
    await server.send("status_update", { simulation_status: "running" });
    const broadcast =
      '{"sender": "HydraServer", "elem": "status_update", "data": {"simulation_status": "running"}}';
    expect(await monitor.next()).toBe(broadcast);
    expect(await client.next()).toBe(broadcast);
  });

  it("runs the generated SimulationService client and server over the Hydra envelope", async () => {
    const router = await hydraRouter();
    const address = router.address as string;
    const serverT = createHydraServerTransport({
      address,
      services: [SimulationService],
      heartbeatIntervalMs: 200,
    });
    const server = createServer(serverT);
    let started = 0;
    server.register(SimulationService, {
      startSimulation(req) {
        started = req.config?.moveBudget ?? -1;
        return {};
      },
      getStatus() {
        return {
          simulationStatus: "running",
          gameState: { score: 15, snakeBody: [{ x: 1, y: 2 }] },
        };
      },
      setConfig() {
        throw new IpcError("move_budget must be <= 1000, got 5000", Code.InvalidArgument);
      },
    });
    cleanups.push(() => server.close());
    const serverUp = joined(router, serverT.clientId);
    await server.listen();
    await serverUp;
    const t = createHydraClientTransport({ address, heartbeatIntervalMs: 200 });
    cleanups.push(() => t.close());
    const client = createClient(SimulationService, t);

    await client.startSimulation({ config: { ...config, moveBudget: 77 } });
    expect(started).toBe(77);
    const status = await client.getStatus({});
    expect(status.simulationStatus).toBe("running");
    expect(status.gameState?.snakeBody[0]).toMatchObject({ x: 1, y: 2 });
    const err = await rejection(client.setConfig({ config: { ...config, moveBudget: 5000 } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("move_budget must be <= 1000, got 5000");
    const unimplemented = await rejection(client.pauseSimulation({}));
    expect(unimplemented.code).toBe(Code.Unimplemented);

    // Typed broadcasts: the server sends a GameState under game_state_update.
    const seen = new Promise<number>((resolve) =>
      t.subscribe(GameStateSchema, (s) => resolve(s.score)),
    );
    await new Promise<void>((resolve) => {
      const off = router.on("peerJoined", (p) => {
        if (p.name === t.clientId) {
          off();
          resolve();
        }
      });
      if (router.peers().some((p) => p.name === t.clientId)) resolve();
    });
    serverT.broadcast(GameStateSchema, { score: 99 });
    expect(await seen).toBe(99);
  });
});

describe("protoipc's Hydra binding against a router that behaves like Hydra's", () => {
  let routerProcess: ChildProcess | undefined;
  afterEach(async () => {
    if (routerProcess) await killAndWait(routerProcess);
    routerProcess = undefined;
  });

  it("matches replies by elem when the router strips request ids", async () => {
    const address = `tcp://127.0.0.1:${await freePort()}`;
    routerProcess = await spawnReady(python, [referenceRouter, address], { interpreter: "none" });
    const t = createHydraClientTransport({ address, heartbeatIntervalMs: 100 });
    cleanups.push(() => t.close());
    const client = createClient(SimulationService, t);
    // No server yet: Hydra's router answers with its error, which fails the call.
    const none = await rejection(client.getStatus({}));
    expect(none.code).toBe(Code.Unavailable);
    expect(none.rawMessage).toBe("No AI Hydra server connected");

    const serverT = createHydraServerTransport({
      address,
      services: [SimulationService],
      heartbeatIntervalMs: 100,
    });
    const server = createServer(serverT);
    server.register(SimulationService, {
      getStatus: () => ({ simulationStatus: "paused" }),
      getConfig: () => ({ config: { moveBudget: 12 } }),
    });
    cleanups.push(() => server.close());
    await server.listen();
    // The server registers by heartbeat; until the router has seen it, calls fail as above.
    let status: Awaited<ReturnType<typeof client.getStatus>> | undefined;
    while (status === undefined) {
      status = await client.getStatus({}).catch((e: IpcError) => {
        expect(e.rawMessage).toBe("No AI Hydra server connected");
        return undefined;
      });
    }
    expect(status.simulationStatus).toBe("paused");
    const [a, b] = await Promise.all([client.getConfig({}), client.getStatus({})]);
    expect(a.config?.moveBudget).toBe(12);
    expect(b.simulationStatus).toBe("paused");
  });
});

describe("TypeScript <-> Python over the Hydra envelope", () => {
  let pyServer: ChildProcess | undefined;
  afterEach(async () => {
    if (pyServer) await killAndWait(pyServer);
    pyServer = undefined;
  });

  it("a TypeScript client calls a Python server through the router in Hydra mode", async () => {
    const router = await hydraRouter();
    const address = router.address as string;
    const serverId = `py-sim-${randomBytes(3).toString("hex")}`;
    const serverUp = joined(router, serverId);
    pyServer = await spawnReady(python, [pyHydraServer, address, serverId], {
      interpreter: "none",
    });
    await serverUp;
    const t = createHydraClientTransport({ address, heartbeatIntervalMs: 200 });
    cleanups.push(() => t.close());
    const clientUp = joined(router, t.clientId);
    const client = createClient(SimulationService, t);

    const status = await client.getStatus({});
    expect(status.simulationStatus).toBe("running");
    expect(status.gameState?.score).toBe(15);
    expect(status.gameState?.snakeBody[0]).toMatchObject({ x: 1, y: 2 });
    const err = await rejection(client.setConfig({ config: { ...config, moveBudget: 5000 } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe("move_budget must be <= 1000, got 5000");
    expect((await rejection(client.pauseSimulation({}))).code).toBe(Code.Unimplemented);

    // The Python server's typed broadcast reaches the TypeScript client.
    await clientUp;
    const seen = new Promise<number>((resolve) =>
      t.subscribe(GameStateSchema, (s) => resolve(s.score)),
    );
    await client.startSimulation({ config: { ...config, moveBudget: 31 } });
    expect(await seen).toBe(31);
  });
});
