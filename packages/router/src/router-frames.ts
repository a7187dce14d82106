/**
 * Encoding and decoding of `protoipc.v1.RouterFrame` (proto/protoipc/v1/router.proto), the one
 * frame per ZeroMQ message part between a peer and the native router, and the peek at a native
 * Envelope's head the router needs to route a call.
 *
 * Control frames go through protobuf-es (`routerSchema` of `@protoipc/runtime`). The hot frames
 * (calls, broadcasts, heartbeats) are written by hand here, so the router forwards a call by
 * copying its envelope bytes once, never decoding or re-encoding the envelope; the golden test
 * pins these bytes against the protobuf-es encoding of the same frame.
 */
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code, encodeEnvelope, FrameKind, IpcError, routerSchema } from "@protoipc/runtime";

/** Default heartbeat interval of the router, in milliseconds: 5000 (AI Hydra's and MDP's). */
export const DEFAULT_ROUTER_HEARTBEAT_MS = 5_000;

/** Heartbeats a peer may miss before it is expired: 3 (RFC 6/PPP's liveness). */
export const HEARTBEAT_LIVENESS = 3;

/** Version of the router protocol (router.proto) this package speaks. */
export const ROUTER_PROTOCOL_VERSION = 1;

/** A RouterCall as decoded: `client` and `envelope` are views into the received frame. */
export interface DecodedRouterCall {
  service: string;
  client: Uint8Array;
  envelope: Uint8Array;
}

/** A RouterBroadcast as decoded: `payload` and `publisher` are views into the received frame. */
export interface DecodedRouterBroadcast {
  topic: string;
  sequence: number;
  payload: Uint8Array;
  publisher: Uint8Array;
}

/** The frame of a decoded RouterFrame (its `frame` oneof). */
export type RouterFrameValue =
  | { case: "call"; value: DecodedRouterCall }
  | { case: "broadcast"; value: DecodedRouterBroadcast }
  | { case: "heartbeat"; value: routerSchema.RouterHeartbeat | Record<string, never> }
  | { case: "register"; value: routerSchema.RouterRegister }
  | { case: "registerAck"; value: routerSchema.RouterRegisterAck }
  | { case: "disconnect"; value: routerSchema.RouterDisconnect }
  | { case: "peerEvent"; value: routerSchema.RouterPeerEvent };

/** A decoded router frame. */
export interface RouterFrame {
  frame: RouterFrameValue;
}

/** The role of a registered peer. */
export type PeerRoleName = "client" | "server";

/** The wire value of a role name. */
export function roleToWire(role: PeerRoleName): routerSchema.PeerRole {
  return role === "client" ? routerSchema.PeerRole.CLIENT : routerSchema.PeerRole.SERVER;
}

/** The role name of a wire value, `undefined` when unspecified or unknown. */
export function roleFromWire(role: routerSchema.PeerRole): PeerRoleName | undefined {
  if (role === routerSchema.PeerRole.CLIENT) return "client";
  if (role === routerSchema.PeerRole.SERVER) return "server";
  return undefined;
}

/**
 * Decodes one router frame. Calls, broadcasts and heartbeats (every frame but a handful) are read
 * by hand without copying; control frames through protobuf-es.
 *
 * @throws IpcError Code.InvalidArgument when the bytes are not a RouterFrame or carry no frame
 */
export function decodeRouterFrame(bytes: Uint8Array): RouterFrame {
  const fast = decodeHotFrame(bytes);
  if (fast !== undefined) return { frame: fast };
  let frame: routerSchema.RouterFrame;
  try {
    frame = fromBinary(routerSchema.RouterFrameSchema, bytes);
  } catch (e) {
    throw new IpcError(
      `malformed router frame of ${bytes.byteLength} bytes: ${(e as Error).message}`,
      Code.InvalidArgument,
      { cause: e },
    );
  }
  if (frame.frame.case === undefined) {
    throw new IpcError(
      `router frame of ${bytes.byteLength} bytes carries no frame`,
      Code.InvalidArgument,
    );
  }
  return { frame: frame.frame as RouterFrameValue };
}

/**
 * The hand-written reader of the hot frames: a RouterFrame holding exactly one field 3 (heartbeat),
 * 5 (call) or 6 (broadcast). Returns `undefined` for anything else (protobuf-es then decides,
 * and reports malformed input).
 */
function decodeHotFrame(bytes: Uint8Array): RouterFrameValue | undefined {
  const tag = bytes[0];
  if (tag !== 0x1a && tag !== 0x2a && tag !== 0x32) return undefined;
  const r = { pos: 1 };
  const len = readVarint(bytes, r, bytes.byteLength);
  if (len === undefined || r.pos + len !== bytes.byteLength) return undefined;
  const end = bytes.byteLength;
  if (tag === 0x1a) return len === 0 ? { case: "heartbeat", value: {} } : undefined;
  if (tag === 0x2a) {
    const call: DecodedRouterCall = { service: "", client: EMPTY, envelope: EMPTY };
    while (r.pos < end) {
      const t = bytes[r.pos++];
      const l = readVarint(bytes, r, end);
      if (l === undefined || r.pos + l > end) return undefined;
      const v = bytes.subarray(r.pos, r.pos + l);
      r.pos += l;
      if (t === 0x0a) call.service = utf8Decoder.decode(v);
      else if (t === 0x12) call.client = v;
      else if (t === 0x1a) call.envelope = v;
      else return undefined;
    }
    return { case: "call", value: call };
  }
  const b: DecodedRouterBroadcast = { topic: "", sequence: 0, payload: EMPTY, publisher: EMPTY };
  while (r.pos < end) {
    const t = bytes[r.pos++];
    if (t === 0x10) {
      const n = readVarint(bytes, r, end);
      if (n === undefined) return undefined;
      b.sequence = n;
      continue;
    }
    const l = readVarint(bytes, r, end);
    if (l === undefined || r.pos + l > end) return undefined;
    const v = bytes.subarray(r.pos, r.pos + l);
    r.pos += l;
    if (t === 0x0a) b.topic = utf8Decoder.decode(v);
    else if (t === 0x1a) b.payload = v;
    else if (t === 0x22) b.publisher = v;
    else return undefined;
  }
  return { case: "broadcast", value: b };
}

function readVarint(bytes: Uint8Array, r: { pos: number }, end: number): number | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8 && r.pos < end; i++) {
    const b = bytes[r.pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
  return undefined;
}

/** Encodes a control frame (register, ack, disconnect, peer event) with protobuf-es. */
export function encodeRouterFrame(
  init: MessageInitShape<typeof routerSchema.RouterFrameSchema>,
): Uint8Array {
  return toBinary(routerSchema.RouterFrameSchema, create(routerSchema.RouterFrameSchema, init));
}

/** The heartbeat frame; identical bytes every time: field 3, empty message. */
export const HEARTBEAT_FRAME: Uint8Array = Uint8Array.of(0x1a, 0x00);

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a length-delimited field (tag < 16) holding `len` bytes, 0 when empty (omitted). */
function lenFieldSize(len: number): number {
  return len === 0 ? 0 : 1 + varintSize(len) + len;
}

function writeLenField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return pos;
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.byteLength);
  buf.set(bytes, pos);
  return pos + bytes.byteLength;
}

/** Size of the slabs frames are cut from, in bytes. */
const SLAB_BYTES = 64 * 1024;
/** Frames larger than this get their own buffer. */
const SLAB_MAX_FRAME_BYTES = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/**
 * Memory for one outgoing frame of `size` bytes. Small frames are cut from a shared slab rather
 * than each getting its own ArrayBuffer: a typed array over 64 bytes has an off-heap backing store,
 * so one per frame costs a malloc, a free and GC bookkeeping, which dominated the router's CPU per
 * forwarded call. A slab's bytes are never handed out twice: once full, a new slab is started and
 * the old one lives until its last frame is collected (also while libzmq still holds a zero-copy
 * reference). The caller writes every byte.
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

/** UTF-8 bytes of a service name or topic; names seen often come from a small cache. */
const utf8Cache = new Map<string, Uint8Array>();
function utf8Of(s: string): Uint8Array {
  let b = utf8Cache.get(s);
  if (b === undefined) {
    b = utf8.encode(s);
    if (utf8Cache.size < 1024) utf8Cache.set(s, b);
  }
  return b;
}

/**
 * Encodes `RouterFrame{call: RouterCall{service, client, envelope}}` (field 5). `client` is the
 * caller's routing id between router and server, empty otherwise; `service` may be empty (the
 * router reads it from the envelope's method path).
 */
export function encodeCallFrame(
  envelope: Uint8Array,
  client: Uint8Array = EMPTY,
  service = "",
): Uint8Array {
  const serviceBytes = service === "" ? EMPTY : utf8Of(service);
  const inner =
    lenFieldSize(serviceBytes.byteLength) +
    lenFieldSize(client.byteLength) +
    lenFieldSize(envelope.byteLength);
  const out = allocFrame(1 + varintSize(inner) + inner);
  out[0] = 0x2a; // field 5, LEN
  let pos = writeVarint(out, 1, inner);
  pos = writeLenField(out, pos, 0x0a, serviceBytes);
  pos = writeLenField(out, pos, 0x12, client);
  writeLenField(out, pos, 0x1a, envelope);
  return out;
}

/**
 * Encodes `RouterFrame{broadcast: RouterBroadcast{topic, sequence, payload, publisher}}`
 * (field 6). `sequence` 0 (peer -> router) is omitted.
 */
export function encodeBroadcastFrame(
  topic: string,
  sequence: number,
  payload: Uint8Array,
  publisher: Uint8Array = EMPTY,
): Uint8Array {
  const topicBytes = utf8Of(topic);
  const inner =
    lenFieldSize(topicBytes.byteLength) +
    (sequence === 0 ? 0 : 1 + varintSize(sequence)) +
    lenFieldSize(payload.byteLength) +
    lenFieldSize(publisher.byteLength);
  const out = allocFrame(1 + varintSize(inner) + inner);
  out[0] = 0x32; // field 6, LEN
  let pos = writeVarint(out, 1, inner);
  pos = writeLenField(out, pos, 0x0a, topicBytes);
  if (sequence !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint(out, pos, sequence);
  }
  pos = writeLenField(out, pos, 0x1a, payload);
  writeLenField(out, pos, 0x22, publisher);
  return out;
}

/** What the router reads of a native Envelope: its request id, kind and (requests) method. */
export interface EnvelopeHead {
  requestId: number;
  kind: FrameKind;
  /** The method path of a FRAME_KIND_REQUEST, `""` otherwise. */
  method: string;
}

const utf8Decoder = new TextDecoder();

/**
 * Reads the request id, kind and (unless `withMethod` is false) method of a native Envelope
 * without decoding the rest (the payload, metadata and error are skipped).
 *
 * @throws IpcError Code.InvalidArgument when the bytes are not a well-formed Envelope or the kind
 *   is unspecified
 */
export function peekEnvelopeHead(bytes: Uint8Array, withMethod = true): EnvelopeHead {
  const head: EnvelopeHead = { requestId: 0, kind: FrameKind.UNSPECIFIED, method: "" };
  const end = bytes.byteLength;
  peekPos = 0;
  while (peekPos < end) {
    const tag = peekVarint(bytes, end);
    const no = Math.floor(tag / 8);
    const wt = tag & 7;
    if (no === 0) throw malformedEnvelope(bytes, "field number 0");
    if (wt === 0) {
      const v = peekVarint(bytes, end);
      if (no === 1) head.requestId = v;
      else if (no === 2) head.kind = v;
    } else if (wt === 2) {
      const len = peekVarint(bytes, end);
      if (peekPos + len > end) throw malformedEnvelope(bytes, "truncated field");
      if (no === 3 && withMethod) {
        head.method = Buffer.from(bytes.buffer, bytes.byteOffset + peekPos, len).toString("utf8");
      }
      peekPos += len;
    } else if (wt === 1) {
      peekPos += 8;
    } else if (wt === 5) {
      peekPos += 4;
    } else {
      throw malformedEnvelope(bytes, `wire type ${wt}`);
    }
  }
  if (peekPos > end) throw malformedEnvelope(bytes, "truncated field");
  if (head.kind === FrameKind.UNSPECIFIED) throw malformedEnvelope(bytes, "kind is unspecified");
  return head;
}

/** Read position of {@link peekVarint} (module state instead of a closure per call: hot path). */
let peekPos = 0;

/** Reads a varint (up to 2^53) at `peekPos` and advances it. */
function peekVarint(bytes: Uint8Array, end: number): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (peekPos >= end) throw malformedEnvelope(bytes, "truncated varint");
    const b = bytes[peekPos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
  throw malformedEnvelope(bytes, "varint above 2^53");
}

function malformedEnvelope(bytes: Uint8Array, why: string): IpcError {
  return new IpcError(
    `malformed envelope of ${bytes.byteLength} bytes in a router call: ${why}`,
    Code.InvalidArgument,
  );
}

/** The service of a method path `"/pkg.Service/Method"`, `undefined` when it is not one. */
export function serviceOfPath(path: string): string | undefined {
  const slash = path.lastIndexOf("/");
  if (path.charCodeAt(0) !== 47 || slash <= 1) return undefined;
  return path.slice(1, slash);
}

/** A native FRAME_KIND_ERROR envelope for call `requestId`, e.g. the router failing a call. */
export function errorEnvelope(requestId: number, code: Code, message: string): Uint8Array {
  return encodeEnvelope({
    requestId,
    kind: FrameKind.ERROR,
    error: { code, message, details: [] },
  });
}

/** Whether a frame of this kind ends its call (result, error, end of stream). */
export function endsCall(kind: FrameKind): boolean {
  return kind === FrameKind.RESPONSE || kind === FrameKind.ERROR || kind === FrameKind.END;
}

/** Whether two routing ids are the same bytes (cheaper than comparing their hex strings). */
export function sameId(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.byteLength;
  if (n !== b.byteLength) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of a routing id. */
export function hexOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
}
