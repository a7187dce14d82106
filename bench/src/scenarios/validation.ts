/**
 * The generated validators (protoc-gen-ipc-es, from the pixels schema's buf.validate rules)
 * against @bufbuild/protovalidate on the same messages, and the overhead validation adds to a
 * unary call over the in-memory transport. Everything runs in this process.
 */
import { create } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import {
  GenerateRequestSchema,
  PixelService,
  type PixelServiceClient,
  type PixelServiceHandler,
} from "@protoipc/pixels-sdk";
import {
  type AnyMethodDescriptor,
  createClient,
  createInMemoryTransport,
  createServer,
  defineService,
} from "@protoipc/runtime";
import { formatTarget, log, meets, ratio, round } from "../report.js";

/** Options of {@link runValidation}. */
export interface ValidationOptions {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly repetitions: number;
}

/** Calls `fn` in a loop for `ms` milliseconds; returns calls per second. */
function opsPerSecond(fn: () => unknown, ms: number): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 256; i++) fn();
    n += 256;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

/** Runs `fn` `repetitions` times, interleaved with `other`; the medians. */
function interleaved(
  a: () => number,
  b: () => number,
  repetitions: number,
): { a: number; b: number; runsA: number[]; runsB: number[] } {
  const runsA: number[] = [];
  const runsB: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    if (i % 2 === 0) {
      runsA.push(a());
      runsB.push(b());
    } else {
      runsB.push(b());
      runsA.push(a());
    }
  }
  return { a: median(runsA), b: median(runsB), runsA, runsB };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

/** A valid GenerateRequest and one breaking three rules. */
const messages = {
  valid: create(GenerateRequestSchema, {
    id: "job-1",
    prompt: "16-bit knight sprite, pixel art",
    model: "sdxl-base",
    lora: "pixelart",
    size: [64, 64],
    steps: 30,
    cfgScale: 7.5,
  }),
  invalid: create(GenerateRequestSchema, {
    id: "job-1",
    prompt: "",
    model: "sdxl-base",
    size: [64],
    steps: 151,
    cfgScale: 7.5,
  }),
};

/**
 * Scenario `validate_generate_request`: validations per second of the generated validator and
 * of `@bufbuild/protovalidate` (`createValidator().validate`, CEL planned once and cached), on
 * a valid and an invalid pixels GenerateRequest; target: generated ≥ 5× protovalidate.
 */
export function runValidatorComparison(options: ValidationOptions): Record<string, unknown>[] {
  const generated = PixelService.methods.generate!.validateInput!;
  const protovalidate = createValidator();
  const lines: Record<string, unknown>[] = [];
  for (const [kind, m] of Object.entries(messages)) {
    const ours = () => opsPerSecond(() => generated(m), options.durationMs);
    const theirs = () =>
      opsPerSecond(() => protovalidate.validate(GenerateRequestSchema, m), options.durationMs);
    log(`validate ${kind} GenerateRequest: warm-up`);
    opsPerSecond(() => generated(m), options.warmupMs);
    opsPerSecond(() => protovalidate.validate(GenerateRequestSchema, m), options.warmupMs);
    const r = interleaved(ours, theirs, options.repetitions);
    const target = { op: ">=" as const, value: 5 };
    const x = ratio(r.a, r.b);
    lines.push({
      scenario: `validate_generate_request_${kind}`,
      unit: "validations/s",
      generated: round(r.a, 0),
      protovalidate: round(r.b, 0),
      ratio_vs_protovalidate: x,
      target: formatTarget(target),
      met: meets(x, target),
      runs: {
        generated: r.runsA.map((v) => round(v, 0)),
        protovalidate: r.runsB.map((v) => round(v, 0)),
      },
    });
  }
  return lines;
}

/** The pixels service without validators: the baseline of the overhead scenario. */
function withoutValidation(): typeof PixelService {
  const methods: Record<string, Omit<AnyMethodDescriptor, "service" | "localName" | "path">> = {};
  for (const [name, m] of Object.entries(PixelService.methods)) {
    const { service: _s, localName: _l, path: _p, validateInput: _v, ...rest } = m;
    methods[name] = rest;
  }
  return defineService<PixelServiceClient, PixelServiceHandler>({
    typeName: PixelService.typeName,
    schemaHash: PixelService.schemaHash,
    defaultTimeoutMs: PixelService.defaultTimeoutMs,
    methods,
  });
}

async function callsPerSecond(
  call: () => Promise<unknown>,
  ms: number,
  concurrency: number,
): Promise<number> {
  let n = 0;
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await call();
        n++;
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

/**
 * Scenario `unary_validation_overhead_in_memory`: unary `Cancel` calls per second over the
 * in-memory transport (16 in flight) with the generated validators on both sides vs a copy of
 * the service descriptor without validators; `ratio_validated_vs_plain` is the share of the
 * throughput that remains (1 = no overhead).
 */
export async function runValidationOverhead(
  options: ValidationOptions,
): Promise<Record<string, unknown>> {
  const plain = withoutValidation();
  const setup = (service: typeof PixelService) => {
    const mem = createInMemoryTransport();
    const server = createServer(mem.server);
    server.register(service, { cancel: (req) => ({ jobId: req.jobId }) });
    const transport = mem.connect();
    const client = createClient(service, transport);
    return { server, transport, client };
  };
  const a = setup(PixelService);
  const b = setup(plain);
  await a.server.listen();
  await b.server.listen();
  try {
    const validated = () => a.client.cancel({ jobId: "job-1" });
    const unvalidated = () => b.client.cancel({ jobId: "job-1" });
    log("unary validation overhead: warm-up");
    await callsPerSecond(validated, options.warmupMs, 16);
    await callsPerSecond(unvalidated, options.warmupMs, 16);
    const runsA: number[] = [];
    const runsB: number[] = [];
    for (let i = 0; i < options.repetitions; i++) {
      const first = i % 2 === 0;
      if (first) runsA.push(await callsPerSecond(validated, options.durationMs, 16));
      runsB.push(await callsPerSecond(unvalidated, options.durationMs, 16));
      if (!first) runsA.push(await callsPerSecond(validated, options.durationMs, 16));
    }
    const x = ratio(median(runsA), median(runsB));
    return {
      scenario: "unary_validation_overhead_in_memory",
      unit: "calls/s",
      in_flight: 16,
      validated: round(median(runsA), 0),
      plain: round(median(runsB), 0),
      ratio_validated_vs_plain: x,
      target: null,
      met: null,
      runs: { validated: runsA.map((v) => round(v, 0)), plain: runsB.map((v) => round(v, 0)) },
    };
  } finally {
    await a.transport.close();
    await b.transport.close();
    await a.server.close();
    await b.server.close();
  }
}
