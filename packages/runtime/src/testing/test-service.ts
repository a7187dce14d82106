/**
 * A service for the runtime's own tests, described by hand with well-known wrapper types so the
 * runtime can be tested without generated code. Not exported from the package.
 */
import { StringValueSchema, UInt32ValueSchema } from "@bufbuild/protobuf/wkt";
import type {
  ProgressFn,
  ProgressHandler,
  ServerStreamingFn,
  ServerStreamingHandler,
  UnaryFn,
  UnaryHandler,
} from "../call.js";
import { defineService } from "../descriptor.js";

type S = typeof StringValueSchema;
type U = typeof UInt32ValueSchema;

/** The typed client of {@link TestService}. */
export interface TestClient {
  echo: UnaryFn<S, S>;
  count: ServerStreamingFn<U, U>;
  work: ProgressFn<U, S, U>;
  missing: UnaryFn<S, S>;
}

/** The handler of {@link TestService}. */
export interface TestHandler {
  echo: UnaryHandler<S, S>;
  count: ServerStreamingHandler<U, U>;
  work: ProgressHandler<U, S, U>;
  missing: UnaryHandler<S, S>;
}

/**
 * Echo (unary), Count (server streaming: items 1..n), Work (progress: updates 1..n, result "done"),
 * Missing (never implemented). Default deadline 5 s.
 */
export const TestService = defineService<TestClient, TestHandler>({
  typeName: "protoipc.test.TestService",
  schemaHash: "0".repeat(64),
  defaultTimeoutMs: 5_000,
  methods: {
    echo: {
      name: "Echo",
      kind: "unary",
      input: StringValueSchema,
      output: StringValueSchema,
      progress: undefined,
      idempotency: "no_side_effects",
    },
    count: {
      name: "Count",
      kind: "server_streaming",
      input: UInt32ValueSchema,
      output: UInt32ValueSchema,
      progress: undefined,
      idempotency: "idempotency_unknown",
    },
    work: {
      name: "Work",
      kind: "progress",
      input: UInt32ValueSchema,
      output: StringValueSchema,
      progress: UInt32ValueSchema,
      idempotency: "idempotency_unknown",
    },
    missing: {
      name: "Missing",
      kind: "unary",
      input: StringValueSchema,
      output: StringValueSchema,
      progress: undefined,
      idempotency: "idempotency_unknown",
    },
  },
});
