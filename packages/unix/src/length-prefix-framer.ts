import { Buffer } from "node:buffer";
import { Code, IpcError } from "@protoipc/runtime";
import {
  DEFAULT_STREAM_MAX_FRAME_BYTES,
  type FrameDecoder,
  type Framer,
  type FramerOptions,
} from "./framer.js";

/** Options of {@link createLengthPrefixFramer}. */
export interface LengthPrefixFramerOptions extends FramerOptions {
  /**
   * Bytes every frame starts with, before the length (PoppoBuilder: the 5 ASCII bytes `POPPO`,
   * PROTOCOLS.md §4). None by default. At most 64 bytes.
   */
  readonly magic?: Uint8Array;
}

/** Bytes of the length field: an unsigned 32-bit big-endian integer. */
const LENGTH_BYTES = 4;
/** Payloads up to this many bytes are copied behind their header into one chunk. */
const COPY_PAYLOAD_BYTES = 512;
/** The largest length a u32 can declare. */
const MAX_U32 = 0xffff_ffff;

/**
 * A framer for `[magic][u32 big-endian length N][N bytes of payload]`: protoipc's native
 * binding over stream sockets (no magic) and PoppoBuilder's command frames (magic `POPPO`,
 * PROTOCOLS.md §4).
 *
 * The decoder checks each magic byte as it arrives, so garbage is refused after at most one
 * wrong byte, and checks a declared length against `maxFrameBytes` before allocating anything
 * for the payload. A frame wholly inside one chunk is returned as a view of that chunk (no copy).
 *
 * @throws IpcError Code.InvalidArgument when `maxFrameBytes` is not an integer in 0..2^32-1 or
 *   `magic` is longer than 64 bytes
 */
export function createLengthPrefixFramer(options: LengthPrefixFramerOptions = {}): Framer {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_STREAM_MAX_FRAME_BYTES;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_U32) {
    throw new IpcError(
      `maxFrameBytes ${maxFrameBytes} is not an integer in 0..${MAX_U32}`,
      Code.InvalidArgument,
    );
  }
  const magic = options.magic === undefined ? new Uint8Array(0) : options.magic.slice();
  if (magic.byteLength > 64) {
    throw new IpcError(
      `magic of ${magic.byteLength} bytes exceeds the limit of 64 bytes`,
      Code.InvalidArgument,
    );
  }
  const headerBytes = magic.byteLength + LENGTH_BYTES;
  return {
    maxFrameBytes,
    createDecoder: () => new LengthPrefixDecoder(magic, maxFrameBytes),
    encode(payload) {
      if (payload.byteLength > maxFrameBytes) {
        throw new IpcError(
          `frame of ${payload.byteLength} bytes exceeds maxFrameBytes ${maxFrameBytes}`,
          Code.ResourceExhausted,
        );
      }
      // A small payload goes out as one chunk (header and payload together: one allocation from
      // Node's buffer pool, one entry in the connection's batch); a large one is not copied.
      const n = payload.byteLength;
      const small = n <= COPY_PAYLOAD_BYTES;
      const out = Buffer.allocUnsafe(small ? headerBytes + n : headerBytes);
      out.set(magic, 0);
      const at = magic.byteLength;
      out[at] = n >>> 24;
      out[at + 1] = (n >>> 16) & 0xff;
      out[at + 2] = (n >>> 8) & 0xff;
      out[at + 3] = n & 0xff;
      if (!small) return [out, payload];
      out.set(payload, headerBytes);
      return [out];
    },
  };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** One connection's decoder: a header being read, then a payload being filled. */
class LengthPrefixDecoder implements FrameDecoder {
  /** Header bytes seen so far (magic + length). */
  private readonly header: Uint8Array;
  private headerFill = 0;
  /** The payload being filled once its header is complete; `undefined` while reading a header. */
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private failed: IpcError | undefined;

  constructor(
    private readonly magic: Uint8Array,
    private readonly maxFrameBytes: number,
  ) {
    this.header = new Uint8Array(magic.byteLength + LENGTH_BYTES);
  }

  get bufferedBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== undefined) throw this.failed;
    try {
      return this.decode(chunk);
    } catch (e) {
      this.failed = e as IpcError;
      this.payload = undefined;
      throw e;
    }
  }

  private decode(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const magicLen = this.magic.byteLength;
    const headerLen = this.header.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.payload === undefined) {
        // Fast path: a whole header at a frame boundary is read in place.
        if (this.headerFill === 0 && chunk.byteLength - at >= headerLen) {
          this.checkMagic(chunk, at, 0, magicLen);
          const n = readU32(chunk, at + magicLen);
          this.checkLength(n);
          at += headerLen;
          if (chunk.byteLength - at >= n) {
            frames.push(chunk.subarray(at, at + n));
            at += n;
            continue;
          }
          this.payload = new Uint8Array(n);
          this.payloadFill = 0;
        } else {
          const take = Math.min(headerLen - this.headerFill, chunk.byteLength - at);
          if (this.headerFill < magicLen) {
            this.checkMagic(chunk, at, this.headerFill, Math.min(take, magicLen - this.headerFill));
          }
          this.header.set(chunk.subarray(at, at + take), this.headerFill);
          this.headerFill += take;
          at += take;
          if (this.headerFill < headerLen) break;
          this.headerFill = 0;
          const n = readU32(this.header, magicLen);
          this.checkLength(n);
          this.payload = new Uint8Array(n);
          this.payloadFill = 0;
        }
      }
      const payload = this.payload;
      const take = Math.min(payload.byteLength - this.payloadFill, chunk.byteLength - at);
      payload.set(chunk.subarray(at, at + take), this.payloadFill);
      this.payloadFill += take;
      at += take;
      if (this.payloadFill === payload.byteLength) {
        frames.push(payload);
        this.payload = undefined;
        this.payloadFill = 0;
      }
    }
    return frames;
  }

  /** Compares `count` bytes of `chunk` from `at` with the magic from `magicAt`. */
  private checkMagic(chunk: Uint8Array, at: number, magicAt: number, count: number): void {
    for (let i = 0; i < count; i++) {
      if (chunk[at + i] !== this.magic[magicAt + i]) {
        const seen = new Uint8Array(magicAt + i + 1);
        seen.set(this.header.subarray(0, magicAt), 0);
        seen.set(chunk.subarray(at, at + i + 1), magicAt);
        throw new IpcError(
          `frame magic mismatch: expected ${hex(this.magic)}, got ${hex(seen)}`,
          Code.InvalidArgument,
        );
      }
    }
  }

  private checkLength(n: number): void {
    if (n > this.maxFrameBytes) {
      throw new IpcError(
        `frame of ${n} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
        Code.ResourceExhausted,
      );
    }
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}
