import { Code, IpcError } from "@protoipc/runtime";
import {
  DEFAULT_STREAM_MAX_FRAME_BYTES,
  type FrameDecoder,
  type Framer,
  type FramerOptions,
} from "./framer.js";

/** Default largest header block (all header lines with their line ends), in bytes: 8 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 8 * 1024;

/** Options of {@link createContentLengthFramer}. */
export interface ContentLengthFramerOptions extends FramerOptions {
  /**
   * Largest header block, in bytes, counted up to and including the empty line that ends it;
   * default 8 KiB. A longer one fails the decoder with `Code.ResourceExhausted`.
   */
  readonly maxHeaderBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/**
 * A framer for LSP's base protocol (and crystalmath's, PROTOCOLS.md §3): a header block of
 * `Name: value` lines, an empty line, then `Content-Length` bytes of payload.
 *
 * Decoding follows the LSP rules (https://microsoft.github.io/language-server-protocol/specifications/base/0.9/specification/):
 * the header name is matched case-insensitively, lines may end in CRLF or a bare LF, headers
 * other than `Content-Length` (such as `Content-Type`) are ignored. The length must be a decimal
 * integer with 1 ≤ N ≤ `maxFrameBytes`, and it is checked before the payload is allocated; the
 * header block is bounded by `maxHeaderBytes`. A frame wholly inside one chunk is returned as a
 * view of that chunk (no copy).
 *
 * Encoding writes `Content-Length: N\r\n\r\n` and the payload.
 *
 * @throws IpcError Code.InvalidArgument when `maxFrameBytes` or `maxHeaderBytes` is not a
 *   positive integer
 */
export function createContentLengthFramer(options: ContentLengthFramerOptions = {}): Framer {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_STREAM_MAX_FRAME_BYTES;
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  for (const [name, v] of [
    ["maxFrameBytes", maxFrameBytes],
    ["maxHeaderBytes", maxHeaderBytes],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new IpcError(`${name} ${v} is not a positive integer`, Code.InvalidArgument);
    }
  }
  return {
    maxFrameBytes,
    createDecoder: () => new ContentLengthDecoder(maxFrameBytes, maxHeaderBytes),
    encode(payload) {
      if (payload.byteLength > maxFrameBytes) {
        throw new IpcError(
          `frame of ${payload.byteLength} bytes exceeds maxFrameBytes ${maxFrameBytes}`,
          Code.ResourceExhausted,
        );
      }
      return [encoder.encode(`Content-Length: ${payload.byteLength}\r\n\r\n`), payload];
    },
  };
}

/** One connection's decoder: a header block being collected, then a payload being filled. */
class ContentLengthDecoder implements FrameDecoder {
  /** Header bytes of the current frame seen so far (never more than `maxHeaderBytes`). */
  private header: Uint8Array;
  private headerFill = 0;
  /** The payload being filled; `undefined` while reading a header block. */
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private failed: IpcError | undefined;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxHeaderBytes: number,
  ) {
    this.header = new Uint8Array(Math.min(256, maxHeaderBytes));
  }

  get bufferedBytes(): number {
    return this.headerFill + this.payloadFill;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== undefined) throw this.failed;
    try {
      return this.decode(chunk);
    } catch (e) {
      this.failed = IpcError.from(e, Code.InvalidArgument);
      this.payload = undefined;
      throw this.failed;
    }
  }

  private decode(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.payload === undefined) {
        let n: number;
        if (this.headerFill === 0) {
          // Fast path: a whole header block at a frame boundary is parsed in place.
          const end = findHeaderEnd(
            chunk,
            at,
            Math.min(chunk.byteLength, at + this.maxHeaderBytes),
          );
          if (end < 0) {
            if (chunk.byteLength - at >= this.maxHeaderBytes) this.headerTooLong();
            this.appendHeader(chunk.subarray(at));
            break;
          }
          n = this.parseHeader(chunk.subarray(at, end));
          at = end;
        } else {
          // Slow path: the header block started in an earlier chunk. Look for its end across
          // the boundary (the terminator may itself be split), then parse the joined block.
          const before = this.headerFill;
          const room = this.maxHeaderBytes - before;
          const take = Math.min(room, chunk.byteLength - at);
          this.appendHeader(chunk.subarray(at, at + take));
          const from = Math.max(0, before - 2);
          const end = findHeaderEnd(this.header, from, this.headerFill);
          if (end < 0) {
            if (this.headerFill >= this.maxHeaderBytes) this.headerTooLong();
            break;
          }
          n = this.parseHeader(this.header.subarray(0, end));
          at += end - before;
          this.headerFill = 0;
        }
        if (chunk.byteLength - at >= n) {
          frames.push(chunk.subarray(at, at + n));
          at += n;
          continue;
        }
        this.payload = new Uint8Array(n);
        this.payloadFill = 0;
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

  private appendHeader(bytes: Uint8Array): void {
    const need = this.headerFill + bytes.byteLength;
    if (need > this.header.byteLength) {
      const grown = new Uint8Array(
        Math.min(this.maxHeaderBytes, Math.max(need, this.header.byteLength * 2)),
      );
      grown.set(this.header.subarray(0, this.headerFill));
      this.header = grown;
    }
    this.header.set(bytes, this.headerFill);
    this.headerFill += bytes.byteLength;
  }

  private headerTooLong(): never {
    throw new IpcError(
      `header block without an empty line within maxHeaderBytes ${this.maxHeaderBytes}`,
      Code.ResourceExhausted,
    );
  }

  /** Parses a header block (with its terminating empty line) and returns the content length. */
  private parseHeader(block: Uint8Array): number {
    const text = latin1.decode(block);
    let length: number | undefined;
    for (const raw of text.split("\n")) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") continue;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        throw new IpcError(`malformed header line ${JSON.stringify(line)}`, Code.InvalidArgument);
      }
      if (line.slice(0, colon).trim().toLowerCase() !== "content-length") continue;
      const value = line.slice(colon + 1).trim();
      if (!/^[0-9]{1,16}$/.test(value)) {
        throw new IpcError(
          `content-length ${JSON.stringify(value)} is not a decimal integer`,
          Code.InvalidArgument,
        );
      }
      const n = Number(value);
      if (length !== undefined && length !== n) {
        throw new IpcError(
          `conflicting content-length headers ${length} and ${n}`,
          Code.InvalidArgument,
        );
      }
      length = n;
    }
    if (length === undefined) {
      throw new IpcError("header block without a content-length header", Code.InvalidArgument);
    }
    if (length < 1) {
      throw new IpcError(`content-length ${length} is below the minimum 1`, Code.InvalidArgument);
    }
    if (length > this.maxFrameBytes) {
      throw new IpcError(
        `frame of ${length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
        Code.ResourceExhausted,
      );
    }
    return length;
  }
}

/**
 * The index just past the empty line ending a header block in `bytes[from, to)`: after `\n\n`,
 * `\n\r\n` (CRLF or bare-LF lines, mixed), or -1 when the block is not complete yet.
 */
function findHeaderEnd(bytes: Uint8Array, from: number, to: number): number {
  let i = bytes.indexOf(LF, from);
  while (i >= 0 && i < to) {
    if (i + 1 < to && bytes[i + 1] === LF) return i + 2;
    if (i + 2 < to && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3;
    i = bytes.indexOf(LF, i + 1);
  }
  return -1;
}
