/**
 * ZeroMQ CURVE (RFC 26/CurveZMQ) for the router and its peers: key files, socket options, and a
 * ZAP handler (RFC 27/ZAP) that admits only listed client keys.
 *
 * Key files use the ZPL certificate format of czmq and pyzmq (`zmq.auth.create_certificates`), so
 * keys made by either tool work: a public file with `public-key = "<z85>"` and a secret file that
 * also holds `secret-key = "<z85>"`.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, IpcError } from "@protoipc/runtime";
import { curveKeyPair, Reply } from "zeromq";

/** A CURVE key pair, Z85-encoded (40 characters each). */
export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** CURVE settings of the router (the CURVE server). */
export interface CurveServerOptions extends CurveKeyPair {
  /**
   * Z85 public keys of the clients allowed in. When set, a ZAP handler refuses every other key;
   * when unset, any peer that knows the router's public key and completes the CURVE handshake is
   * let in (traffic is encrypted either way, and peers without CURVE are always refused).
   */
  readonly authorizedKeys?: readonly string[] | undefined;
}

/** CURVE settings of a peer (a CURVE client). */
export interface CurveClientOptions extends CurveKeyPair {
  /** The router's Z85 public key. */
  readonly serverKey: string;
}

/** Makes a new key pair (libzmq's zmq_curve_keypair). */
export function createCurveKeyPair(): CurveKeyPair {
  return curveKeyPair();
}

/**
 * Writes a key pair as `<path>` (public) and `<path>_secret` (public and secret, mode 0600), in
 * the ZPL certificate format.
 */
export async function writeCurveKeyFiles(path: string, pair: CurveKeyPair): Promise<void> {
  const head = "#   ZeroMQ CURVE certificate, written by protoipc\nmetadata\ncurve\n";
  await writeFile(path, `${head}    public-key = "${pair.publicKey}"\n`, { mode: 0o644 });
  await writeFile(
    `${path}_secret`,
    `${head}    public-key = "${pair.publicKey}"\n    secret-key = "${pair.secretKey}"\n`,
    { mode: 0o600 },
  );
}

/**
 * Reads a ZPL certificate file: its public key and, in a secret file, its secret key.
 *
 * @throws IpcError Code.InvalidArgument when the file has no valid public key
 * @throws IpcError Code.NotFound when the file cannot be read
 */
export async function readCurveKeyFile(
  path: string,
): Promise<{ publicKey: string; secretKey: string | undefined }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new IpcError(
      `cannot read curve key file ${path}: ${(e as Error).message}`,
      Code.NotFound,
      {
        cause: e,
      },
    );
  }
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "m").exec(text);
    return m?.[1];
  };
  const publicKey = field("public-key");
  const secretKey = field("secret-key");
  if (publicKey === undefined || publicKey.length !== 40) {
    throw new IpcError(
      `curve key file ${path} has no public-key of 40 z85 characters`,
      Code.InvalidArgument,
    );
  }
  if (secretKey !== undefined && secretKey.length !== 40) {
    throw new IpcError(
      `curve key file ${path} has a secret-key of ${secretKey.length} characters, not 40`,
      Code.InvalidArgument,
    );
  }
  return { publicKey, secretKey };
}

/**
 * Reads a secret key file into a key pair.
 *
 * @throws IpcError Code.InvalidArgument when the file holds no secret key
 */
export async function readCurveKeyPair(secretFile: string): Promise<CurveKeyPair> {
  const { publicKey, secretKey } = await readCurveKeyFile(secretFile);
  if (secretKey === undefined) {
    throw new IpcError(`curve key file ${secretFile} holds no secret-key`, Code.InvalidArgument);
  }
  return { publicKey, secretKey };
}

/** The public keys of every certificate file in `dir` (files ending `_secret` are skipped). */
export async function readAuthorizedKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for (const name of await readdir(dir)) {
    if (name.endsWith("_secret")) continue;
    keys.push((await readCurveKeyFile(join(dir, name))).publicKey);
  }
  return keys;
}

/** Writes a fresh pair under `dir/<name>.key` and `dir/<name>.key_secret`; returns the pair. */
export async function createCurveKeyFiles(dir: string, name: string): Promise<CurveKeyPair> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = createCurveKeyPair();
  await writeCurveKeyFiles(join(dir, `${name}.key`), pair);
  return pair;
}

/** zeromq.js socket options of a CURVE server; none when `curve` is unset. */
export function curveServerSocketOptions(curve: CurveServerOptions | undefined): {
  curveServer?: boolean;
  curvePublicKey?: string;
  curveSecretKey?: string;
  zapDomain?: string;
} {
  if (curve === undefined) return {};
  return {
    curveServer: true,
    curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey,
    zapDomain: "protoipc",
  };
}

/** zeromq.js socket options of a CURVE client; none when `curve` is unset. */
export function curveClientSocketOptions(curve: CurveClientOptions | undefined): {
  curveServerKey?: string;
  curvePublicKey?: string;
  curveSecretKey?: string;
} {
  if (curve === undefined) return {};
  return {
    curveServerKey: curve.serverKey,
    curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey,
  };
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85-encodes a 32-byte key (ZeroMQ RFC 32/Z85). */
export function z85Encode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = 0;
    for (let j = 0; j < 4; j++) value = value * 256 + (bytes[i + j] ?? 0);
    let chunk = "";
    for (let j = 0; j < 5; j++) {
      chunk = Z85[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/**
 * Runs a ZAP handler (RFC 27) on `inproc://zeromq.zap.01` of the default zeromq.js context that
 * admits CURVE clients whose public key is in `authorizedKeys` and refuses the rest (status 400).
 * Returns a function that stops it. One per process: libzmq allows one ZAP endpoint per context.
 *
 * @throws IpcError Code.FailedPrecondition when another ZAP handler is bound already
 */
export async function startZapHandler(authorizedKeys: readonly string[]): Promise<() => void> {
  const allowed = new Set(authorizedKeys);
  const socket = new Reply({ linger: 0 });
  try {
    await socket.bind("inproc://zeromq.zap.01");
  } catch (e) {
    socket.close();
    throw new IpcError(
      `cannot start the zap handler: ${(e as Error).message}`,
      Code.FailedPrecondition,
      { cause: e },
    );
  }
  void (async () => {
    for (;;) {
      let request: Buffer[];
      try {
        request = await socket.receive();
      } catch {
        return;
      }
      // [version, request id, domain, address, identity, mechanism, credentials...]
      const version = request[0] ?? Buffer.from("1.0");
      const requestId = request[1] ?? Buffer.alloc(0);
      const mechanism = request[5]?.toString() ?? "";
      const key = request[6];
      const ok = mechanism === "CURVE" && key !== undefined && allowed.has(z85Encode(key));
      try {
        await socket.send([
          version,
          requestId,
          ok ? "200" : "400",
          ok ? "OK" : "client key is not authorized",
          ok && key !== undefined ? z85Encode(key) : "",
          "",
        ]);
      } catch {
        return;
      }
    }
  })();
  return () => socket.close();
}
