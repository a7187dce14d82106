/**
 * Authentication of the command-frame binding.
 *
 * - `"token"`: the existing PoppoBuilder daemon's scheme (PROTOCOLS.md §4): the client sends the
 *   shared secret itself in `auth { id, token }`. Kept for compatibility; the secret crosses the
 *   socket.
 * - `"hmac-sha256"` (the default): mutual challenge-response. The server's `welcome` carries a
 *   fresh random `challenge`; the client answers `auth { id, method: "hmac-sha256", nonce, mac }`
 *   with its own fresh nonce and `mac = HMAC-SHA256(secret, "protoipc-command-frame client\n" +
 *   challenge + "\n" + nonce)`; the server checks it and answers `auth-success { id, mac }` with
 *   the same HMAC over the label `server`, which the client checks in turn. Neither side sends
 *   the secret; both prove they know it; fresh nonces on both sides defeat replay, and the
 *   distinct labels defeat reflecting one side's proof back.
 *
 * Secrets and proofs are compared in constant time (`crypto.timingSafeEqual` over SHA-256
 * digests, so the comparison does not leak the length either).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** An authentication method of the command-frame binding. */
export type CommandFrameAuthMethod = "hmac-sha256" | "token";

/** Bytes of randomness in a challenge or nonce: 32. */
export const AUTH_NONCE_BYTES = 32;

/** A fresh random nonce, base64 (44 characters). */
export function createAuthNonce(): string {
  return randomBytes(AUTH_NONCE_BYTES).toString("base64");
}

/**
 * The HMAC-SHA256 proof of `role` for one handshake, base64: see the module comment for the
 * input.
 */
export function authProof(
  secret: string | Uint8Array,
  role: "client" | "server",
  challenge: string,
  nonce: string,
): string {
  return createHmac("sha256", secret)
    .update(`protoipc-command-frame ${role}\n${challenge}\n${nonce}`)
    .digest("base64");
}

/** Whether `a` and `b` are equal, in time independent of their contents and lengths. */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHash("sha256").update(a).digest();
  const db = createHash("sha256").update(b).digest();
  return timingSafeEqual(da, db);
}
