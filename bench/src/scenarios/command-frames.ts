/**
 * Scenario "command frames" (issue 4): the PoppoBuilder wire over a Unix socket, the generated
 * poppo client on protoipc's command-frame binding (`protoipc_command_frame`) against a
 * hand-written client and daemon in PoppoBuilder's own style (`raw_poppo`, see
 * `unix/command-frame-echo.ts`). Each server runs in its own child process; throughput with
 * `concurrency` calls in flight and round trip with one, `repetitions` interleaved runs,
 * medians reported. The issue sets no target for this pair: the line shows the cost of the
 * typed SDK, HMAC authentication and schema-driven JSON over the hand-written protocol.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { measureRoundTrip, measureThroughput, median, warmUp } from "../measure.js";
import { log, ratio, round } from "../report.js";
import { type ServerProcess, startServerProcess } from "../server-process.js";
import type { UnaryEchoOptions } from "./unary-echo.js";

interface Impl {
  readonly name: string;
  echo(payload: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Runs the scenario; returns its two result lines (throughput, round trip). */
export async function runCommandFrameScenario(ctx: {
  readonly dir: string;
  readonly servers: ServerProcess[];
  readonly closers: (() => Promise<void>)[];
  readonly echoOptions: UnaryEchoOptions;
}): Promise<Record<string, unknown>[]> {
  const { createProtoipcCommandFrameEchoClient, createRawCommandFrameEchoClient } = await import(
    "../unix/command-frame-echo.js"
  );
  const impls: Impl[] = [];
  const errors: Record<string, string> = {};
  for (const [name, kind] of [
    ["protoipc_command_frame", "protoipc"],
    ["raw_poppo", "raw"],
  ] as const) {
    const path = join(ctx.dir, `command-frame-${kind}.sock`);
    try {
      ctx.servers.push(await startServerProcess("command-frame", [kind, path]));
      const client =
        kind === "protoipc"
          ? createProtoipcCommandFrameEchoClient(path)
          : await createRawCommandFrameEchoClient(path);
      ctx.closers.push(() => client.close());
      impls.push({ name, ...client });
    } catch (error) {
      errors[`${name}_error`] = `unavailable: ${error instanceof Error ? error.message : error}`;
      log(`${name} ${errors[`${name}_error`]}`);
    }
  }
  const o = ctx.echoOptions;
  const payload = new Uint8Array(randomBytes(o.payloadBytes));
  const cps = new Map<string, number[]>(impls.map((i) => [i.name, []]));
  const us = new Map<string, number[]>(impls.map((i) => [i.name, []]));
  for (const impl of impls) {
    const echoed = await impl.echo(payload);
    if (!Buffer.from(echoed).equals(Buffer.from(payload))) {
      throw new Error(`${impl.name} echoed bytes that differ from the ones sent`);
    }
    log(`warm-up ${impl.name} (${o.warmupMs} ms, ${o.concurrency} in flight)`);
    await warmUp(() => impl.echo(payload), o.concurrency, o.warmupMs);
  }
  for (let rep = 0; rep < o.repetitions; rep++) {
    for (const impl of rep % 2 === 0 ? impls : [...impls].reverse()) {
      const r = await measureThroughput(() => impl.echo(payload), o.concurrency, o.durationMs);
      cps.get(impl.name)?.push(r.callsPerSecond);
      log(`command frames throughput ${impl.name}: ${Math.round(r.callsPerSecond)} calls/s`);
    }
  }
  for (let rep = 0; rep < o.repetitions; rep++) {
    for (const impl of rep % 2 === 0 ? impls : [...impls].reverse()) {
      const r = await measureRoundTrip(() => impl.echo(payload), o.durationMs);
      us.get(impl.name)?.push(r.meanUs);
    }
  }
  const med = (m: Map<string, number[]>, name: string, digits: number) => {
    const v = m.get(name);
    return v === undefined || v.length === 0 ? null : round(median(v), digits);
  };
  const line = (
    what: string,
    m: Map<string, number[]>,
    unit: string,
    digits: number,
    inFlight: number,
  ) => {
    const a = med(m, "protoipc_command_frame", digits);
    const b = med(m, "raw_poppo", digits);
    return {
      scenario: `unix_command_frame_echo_${o.payloadBytes}B_${what}`,
      unit,
      in_flight: inFlight,
      protoipc_command_frame: a,
      raw_poppo: b,
      ratio_vs_raw_poppo: ratio(a, b),
      target: null,
      met: null,
      runs: {
        protoipc_command_frame:
          m.get("protoipc_command_frame")?.map((v) => round(v, digits)) ?? null,
        raw_poppo: m.get("raw_poppo")?.map((v) => round(v, digits)) ?? null,
      },
      ...errors,
    };
  };
  return [
    line(`throughput_${o.concurrency}_in_flight`, cps, "calls/s", 0, o.concurrency),
    line("round_trip_1_in_flight", us, "us", 2, 1),
  ];
}
