import { create, toBinary } from "@bufbuild/protobuf";
import type { EnvelopeInit } from "../envelope-codec.js";
import { EnvelopeSchema } from "../gen/protoipc/v1/envelope_pb.js";

/**
 * Encodes an envelope with @bufbuild/protobuf's generated `EnvelopeSchema` instead of the
 * runtime's hand-written codec: the reference the codec and the golden vectors are checked
 * against.
 */
export function encodeReferenceEnvelope(e: EnvelopeInit): Uint8Array {
  return toBinary(
    EnvelopeSchema,
    create(EnvelopeSchema, {
      requestId: BigInt(e.requestId ?? 0),
      kind: e.kind,
      method: e.method ?? "",
      deadlineUnixMs: BigInt(e.deadlineUnixMs ?? 0),
      sequence: BigInt(e.sequence ?? 0),
      payload: e.payload ?? new Uint8Array(),
      ...(e.error ? { error: e.error } : {}),
      ...(e.hello ? { hello: e.hello } : {}),
      metadata: { ...e.metadata },
    }),
  );
}
