/**
 * The native binding's envelope codec: protobuf wire format (https://protobuf.dev/programming-guides/encoding/)
 * for `protoipc.v1.Envelope` (proto/protoipc/v1/envelope.proto), written by hand because it sits
 * on the hot path of every frame. It writes fields in field-number order and omits proto3 defaults,
 * so its bytes equal those of any conformant serializer (checked against @bufbuild/protobuf in
 * envelope-codec.test.ts and against golden vectors shared with the Python runtime). Reading
 * skips unknown fields, so a newer peer's additions are tolerated.
 */
import type { Any } from "@bufbuild/protobuf/wkt";
import { Code, IpcError } from "./error.js";
import { FrameKind } from "./gen/protoipc/v1/envelope_pb.js";

export { FrameKind };

/** The `protoipc.v1.Status` of an error frame. */
export interface WireStatus {
  code: number;
  message: string;
  details: Any[];
}

/** The `protoipc.v1.Hello` of a hello frame. */
export interface WireHello {
  protocolVersion: number;
  schemaHashes: Record<string, string>;
  heartbeatIntervalMs: number;
  maxFrameBytes: number;
}

/**
 * One decoded envelope. Integer fields are JavaScript numbers: senders keep them below 2^53
 * (envelope.proto); a larger value is rejected as malformed.
 */
export interface Envelope {
  requestId: number;
  kind: FrameKind;
  method: string;
  deadlineUnixMs: number;
  sequence: number;
  /** A view into the frame; copy it if it must outlive the frame. */
  payload: Uint8Array;
  error: WireStatus | undefined;
  hello: WireHello | undefined;
  metadata: Record<string, string> | undefined;
}

/** What {@link encodeEnvelope} accepts: every field optional, defaults omitted from the wire. */
export interface EnvelopeInit {
  requestId?: number;
  kind: FrameKind;
  method?: string;
  /** Pre-encoded UTF-8 of `method`, to skip encoding it per frame. */
  methodBytes?: Uint8Array;
  deadlineUnixMs?: number;
  sequence?: number;
  payload?: Uint8Array;
  error?: WireStatus;
  hello?: WireHello;
  metadata?: Readonly<Record<string, string>>;
}

const EMPTY = new Uint8Array(0);
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

// Wire types (encoding guide, "Message Structure").
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  let rest = Math.floor(v / 0x10000000);
  while (rest > 0) {
    n++;
    rest = Math.floor(rest / 128);
  }
  return n;
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80000000) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

function lenFieldSize(tagSize: number, len: number): number {
  return tagSize + varintSize(len) + len;
}

/** Size of the slabs small frames are carved from, in bytes. */
const SLAB_BYTES = 64 * 1024;
/** Frames above this size get a buffer of their own, in bytes. */
const SLAB_MAX_FRAME_BYTES = 4 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/**
 * A new buffer for one frame. Small frames are views carved from a shared 64 KiB slab instead
 * of each allocating a backing store (which cost about a tenth of a small call's CPU). A slab is
 * never written twice: once full, a new one is started and the old one lives until its last frame
 * is collected. Every byte is written by the encoder.
 */
function allocFrame(size: number): Uint8Array {
  if (size > SLAB_MAX_FRAME_BYTES) return new Uint8Array(size);
  if (slabOffset + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const frame = new Uint8Array(slab, slabOffset, size);
  slabOffset += (size + 7) & ~7; // keep views 8-byte aligned
  return frame;
}

/** UTF-8 bytes of a string; strings seen often (method paths) come from a small cache. */
const utf8Cache = new Map<string, Uint8Array>();
function utf8(s: string): Uint8Array {
  let b = utf8Cache.get(s);
  if (b === undefined) {
    b = utf8Encoder.encode(s);
    if (utf8Cache.size < 1024) utf8Cache.set(s, b);
  }
  return b;
}

/** Returns the UTF-8 bytes of a method path, cached; pass them as `methodBytes`. */
export function encodeMethodPath(path: string): Uint8Array {
  return utf8(path);
}

function checkInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new IpcError(`envelope ${name} ${v} is not an integer in [0, 2^53)`, Code.Internal);
  }
}

// -- nested messages ----------------------------------------------------------------------------

interface Sized {
  size: number;
  write(buf: Uint8Array, pos: number): number;
}

function stringField(field: number, s: string): Sized | undefined {
  if (s === "") return undefined;
  const b = utf8Encoder.encode(s);
  return bytesField(field, b);
}

function alwaysString(field: number, s: string): Sized {
  const b = utf8Encoder.encode(s);
  const tag = (field << 3) | LEN;
  return {
    size: lenFieldSize(1, b.byteLength),
    write(buf, pos) {
      buf[pos++] = tag;
      pos = writeVarint(buf, pos, b.byteLength);
      buf.set(b, pos);
      return pos + b.byteLength;
    },
  };
}

function bytesField(field: number, b: Uint8Array): Sized | undefined {
  if (b.byteLength === 0) return undefined;
  const tag = (field << 3) | LEN;
  return {
    size: lenFieldSize(1, b.byteLength),
    write(buf, pos) {
      buf[pos++] = tag;
      pos = writeVarint(buf, pos, b.byteLength);
      buf.set(b, pos);
      return pos + b.byteLength;
    },
  };
}

function varintField(field: number, v: number): Sized | undefined {
  if (v === 0) return undefined;
  const tag = (field << 3) | VARINT;
  return {
    size: 1 + varintSize(v),
    write(buf, pos) {
      buf[pos++] = tag;
      return writeVarint(buf, pos, v);
    },
  };
}

/** A length-delimited field holding the given sub-fields; emitted even when empty if `always`. */
function messageField(
  field: number,
  parts: Array<Sized | undefined>,
  always: boolean,
): Sized | undefined {
  const present = parts.filter((p): p is Sized => p !== undefined);
  const len = present.reduce((n, p) => n + p.size, 0);
  if (len === 0 && !always) return undefined;
  const tag = (field << 3) | LEN;
  return {
    size: lenFieldSize(1, len),
    write(buf, pos) {
      buf[pos++] = tag;
      pos = writeVarint(buf, pos, len);
      for (const p of present) pos = p.write(buf, pos);
      return pos;
    },
  };
}

function mapFields(field: number, map: Readonly<Record<string, string>> | undefined): Sized[] {
  if (map === undefined) return [];
  const out: Sized[] = [];
  for (const [k, v] of Object.entries(map)) {
    // Map entries carry key and value even when empty, as protobuf's reference serializers do.
    const entry = messageField(field, [alwaysString(1, k), alwaysString(2, v)], true);
    if (entry !== undefined) out.push(entry);
  }
  return out;
}

function statusField(s: WireStatus): Sized | undefined {
  const details = s.details.map((d) =>
    messageField(3, [stringField(1, d.typeUrl), bytesField(2, d.value)], true),
  );
  return messageField(7, [varintField(1, s.code), stringField(2, s.message), ...details], true);
}

function helloField(h: WireHello): Sized | undefined {
  return messageField(
    8,
    [
      varintField(1, h.protocolVersion),
      ...mapFields(2, h.schemaHashes),
      varintField(3, h.heartbeatIntervalMs),
      varintField(4, h.maxFrameBytes),
    ],
    true,
  );
}

/**
 * Encodes one envelope into a new buffer of exactly its size.
 *
 * @throws IpcError Code.Internal when an integer field is negative, fractional or ≥ 2^53
 */
export function encodeEnvelope(e: EnvelopeInit): Uint8Array {
  const requestId = e.requestId ?? 0;
  const deadline = e.deadlineUnixMs ?? 0;
  const sequence = e.sequence ?? 0;
  checkInt("request_id", requestId);
  checkInt("deadline_unix_ms", deadline);
  checkInt("sequence", sequence);
  const method = e.methodBytes ?? (e.method ? utf8(e.method) : EMPTY);
  const payload = e.payload ?? EMPTY;
  // Rare parts (error, hello, metadata) go through the generic sized-part path; the common frame
  // has none and allocates nothing for them.
  let tail: Sized[] | undefined;
  if (e.error !== undefined || e.hello !== undefined || e.metadata !== undefined) {
    tail = [];
    if (e.error !== undefined) {
      const f = statusField(e.error);
      if (f) tail.push(f);
    }
    if (e.hello !== undefined) {
      const f = helloField(e.hello);
      if (f) tail.push(f);
    }
    if (e.metadata !== undefined) tail.push(...mapFields(9, e.metadata));
  }

  let size = 0;
  if (requestId !== 0) size += 1 + varintSize(requestId);
  if (e.kind !== 0) size += 1 + varintSize(e.kind);
  if (method.byteLength !== 0) size += lenFieldSize(1, method.byteLength);
  if (deadline !== 0) size += 1 + varintSize(deadline);
  if (sequence !== 0) size += 1 + varintSize(sequence);
  if (payload.byteLength !== 0) size += lenFieldSize(1, payload.byteLength);
  if (tail !== undefined) for (const t of tail) size += t.size;

  const buf = allocFrame(size);
  let pos = 0;
  if (requestId !== 0) {
    buf[pos++] = 0x08; // field 1, varint
    pos = writeVarint(buf, pos, requestId);
  }
  if (e.kind !== 0) {
    buf[pos++] = 0x10; // field 2, varint
    pos = writeVarint(buf, pos, e.kind);
  }
  if (method.byteLength !== 0) {
    buf[pos++] = 0x1a; // field 3, len
    pos = writeVarint(buf, pos, method.byteLength);
    buf.set(method, pos);
    pos += method.byteLength;
  }
  if (deadline !== 0) {
    buf[pos++] = 0x20; // field 4, varint
    pos = writeVarint(buf, pos, deadline);
  }
  if (sequence !== 0) {
    buf[pos++] = 0x28; // field 5, varint
    pos = writeVarint(buf, pos, sequence);
  }
  if (payload.byteLength !== 0) {
    buf[pos++] = 0x32; // field 6, len
    pos = writeVarint(buf, pos, payload.byteLength);
    buf.set(payload, pos);
    pos += payload.byteLength;
  }
  if (tail !== undefined) for (const t of tail) pos = t.write(buf, pos);
  return buf;
}

// -- decoding -----------------------------------------------------------------------------------

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw malformed("varint exceeds 2^53");
        return result;
      }
      mul *= 128;
    }
    throw malformed("varint longer than 10 bytes");
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.end - this.pos) {
      throw malformed(`length ${len} exceeds the ${this.end - this.pos} bytes left`);
    }
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  string(): string {
    const b = this.bytes();
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw malformed("string field is not valid UTF-8");
    }
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.advance(8);
        return;
      case LEN:
        this.bytes();
        return;
      case I32:
        this.advance(4);
        return;
      default:
        throw malformed(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw malformed("truncated fixed-width field");
    this.pos += n;
  }

  sub(): Reader {
    const b = this.bytes();
    return new Reader(b, 0, b.byteLength);
  }
}

function malformed(why: string): IpcError {
  return new IpcError(`malformed envelope: ${why}`, Code.InvalidArgument);
}

function expectWireType(got: number, want: number, field: string): void {
  if (got !== want) throw malformed(`field ${field} has wire type ${got}, expected ${want}`);
}

function readMapEntry(r: Reader): [string, string] {
  let k = "";
  let v = "";
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1 && wt === LEN) k = r.string();
    else if (no === 2 && wt === LEN) v = r.string();
    else r.skip(wt);
  }
  return [k, v];
}

function readStatus(r: Reader): WireStatus {
  const s: WireStatus = { code: 0, message: "", details: [] };
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1) {
      expectWireType(wt, VARINT, "status.code");
      s.code = r.varint();
    } else if (no === 2) {
      expectWireType(wt, LEN, "status.message");
      s.message = r.string();
    } else if (no === 3) {
      expectWireType(wt, LEN, "status.details");
      const d = r.sub();
      let typeUrl = "";
      let value: Uint8Array = EMPTY;
      while (d.pos < d.end) {
        const t = d.varint();
        if (t >>> 3 === 1 && (t & 7) === LEN) typeUrl = d.string();
        else if (t >>> 3 === 2 && (t & 7) === LEN) value = d.bytes().slice();
        else d.skip(t & 7);
      }
      s.details.push({ $typeName: "google.protobuf.Any", typeUrl, value } as Any);
    } else r.skip(wt);
  }
  return s;
}

function readHello(r: Reader): WireHello {
  const h: WireHello = {
    protocolVersion: 0,
    schemaHashes: {},
    heartbeatIntervalMs: 0,
    maxFrameBytes: 0,
  };
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1 && wt === VARINT) h.protocolVersion = r.varint();
    else if (no === 2 && wt === LEN) {
      const [k, v] = readMapEntry(r.sub());
      h.schemaHashes[k] = v;
    } else if (no === 3 && wt === VARINT) h.heartbeatIntervalMs = r.varint();
    else if (no === 4 && wt === VARINT) h.maxFrameBytes = r.varint();
    else r.skip(wt);
  }
  return h;
}

/** The last method path decoded, as bytes (a copy) and as a string. */
let lastMethodBytes: Uint8Array = EMPTY;
let lastMethod = "";

/**
 * Decodes a method path. Consecutive requests mostly name the same method, so the last one is
 * kept and compared byte for byte (a path is a few dozen bytes) instead of decoding UTF-8 again.
 */
function methodString(b: Uint8Array): string {
  const n = b.byteLength;
  if (n === lastMethodBytes.byteLength) {
    let i = 0;
    while (i < n && b[i] === lastMethodBytes[i]) i++;
    if (i === n) return lastMethod;
  }
  let s: string;
  try {
    s = utf8Decoder.decode(b);
  } catch {
    throw malformed("string field is not valid UTF-8");
  }
  if (n <= 256) {
    lastMethodBytes = b.slice();
    lastMethod = s;
  }
  return s;
}

/**
 * Decodes one envelope. `payload` is a view into `frame` (no copy).
 *
 * @throws IpcError Code.InvalidArgument when the frame is not a well-formed Envelope, or its kind
 *   is FRAME_KIND_UNSPECIFIED
 */
export function decodeEnvelope(frame: Uint8Array): Envelope {
  const r = new Reader(frame, 0, frame.byteLength);
  const e: Envelope = {
    requestId: 0,
    kind: FrameKind.UNSPECIFIED,
    method: "",
    deadlineUnixMs: 0,
    sequence: 0,
    payload: EMPTY,
    error: undefined,
    hello: undefined,
    metadata: undefined,
  };
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    switch (no) {
      case 1:
        expectWireType(wt, VARINT, "request_id");
        e.requestId = r.varint();
        break;
      case 2:
        expectWireType(wt, VARINT, "kind");
        e.kind = r.varint();
        break;
      case 3:
        expectWireType(wt, LEN, "method");
        e.method = methodString(r.bytes());
        break;
      case 4:
        expectWireType(wt, VARINT, "deadline_unix_ms");
        e.deadlineUnixMs = r.varint();
        break;
      case 5:
        expectWireType(wt, VARINT, "sequence");
        e.sequence = r.varint();
        break;
      case 6:
        expectWireType(wt, LEN, "payload");
        e.payload = r.bytes();
        break;
      case 7:
        expectWireType(wt, LEN, "error");
        e.error = readStatus(r.sub());
        break;
      case 8:
        expectWireType(wt, LEN, "hello");
        e.hello = readHello(r.sub());
        break;
      case 9: {
        expectWireType(wt, LEN, "metadata");
        const [k, v] = readMapEntry(r.sub());
        if (e.metadata === undefined) e.metadata = {};
        e.metadata[k] = v;
        break;
      }
      default:
        if (no === 0) throw malformed("field number 0");
        r.skip(wt);
    }
  }
  if (e.kind === FrameKind.UNSPECIFIED) throw malformed("frame kind is unspecified");
  return e;
}

/**
 * Reads the request id of a frame that will not be decoded (e.g. one refused for its size), from
 * its first bytes: the id is field 1, written first by every conformant encoder. Returns 0 when
 * the head does not start with it.
 */
export function peekRequestId(head: Uint8Array): number {
  if (head.byteLength < 2 || head[0] !== 0x08) return 0;
  try {
    const r = new Reader(head, 1, head.byteLength);
    return r.varint();
  } catch {
    return 0;
  }
}
