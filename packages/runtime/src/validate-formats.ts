/**
 * The string formats of protovalidate's well-known string rules (`email`, `hostname`, `ip`,
 * `ipv4`, `ipv6`, `uri`, `uuid`), as protovalidate defines them (validate.proto): HTML's valid
 * e-mail address, RFC 1123 host names, RFC 3986 / RFC 4291 addresses with RFC 4007 zone ids,
 * RFC 3986 URIs with RFC 6874 zone ids, RFC 4122 UUIDs. The Python runtime
 * (protoipc/validate_formats.py) implements the same definitions; the differential tests check
 * both against `@bufbuild/protovalidate`.
 */

// https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** An e-mail address as the HTML standard defines a valid one, e.g. `a@example.com`. */
export function isEmail(s: string): boolean {
  return EMAIL.test(s);
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const DIGITS = /^[0-9]+$/;

/**
 * A host name: dot-separated labels of 1–63 letters, digits and inner hyphens, at most 253
 * characters, an optional trailing dot, the last label not all digits.
 */
export function isHostname(s: string): boolean {
  if (s.length > 253) return false;
  const name = s.endsWith(".") ? s.slice(0, -1) : s;
  const labels = name.split(".");
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || !LABEL.test(label)) return false;
  }
  return !DIGITS.test(labels[labels.length - 1]!);
}

const DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const IPV4 = new RegExp(`^${DEC_OCTET}(?:\\.${DEC_OCTET}){3}$`);
const H16 = /^[0-9A-Fa-f]{1,4}$/;

/** A dotted-quad IPv4 address without leading zeros, e.g. `192.168.0.1`. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** An IPv6 address (RFC 4291 text forms), optionally with a zone id (`fe80::1%eth0`). */
export function isIpv6(s: string): boolean {
  const pct = s.indexOf("%");
  if (pct >= 0) {
    if (pct === s.length - 1) return false;
    return ipv6Address(s.slice(0, pct));
  }
  return ipv6Address(s);
}

function ipv6Address(s: string): boolean {
  const dc = s.indexOf("::");
  if (dc < 0) return ipv6Pieces(s.split(":")) === 8;
  if (s.indexOf("::", dc + 1) >= 0) return false;
  const left = s.slice(0, dc);
  const right = s.slice(dc + 2);
  const l = left === "" ? 0 : ipv6Pieces(left.split(":"), false);
  const r = right === "" ? 0 : ipv6Pieces(right.split(":"));
  return l >= 0 && r >= 0 && l + r <= 7;
}

/** The number of 16-bit pieces of `parts` (an IPv4 tail counts 2), or -1 when malformed. */
function ipv6Pieces(parts: string[], ipv4Tail = true): number {
  let n = 0;
  for (const [i, p] of parts.entries()) {
    if (H16.test(p)) n += 1;
    else if (ipv4Tail && i === parts.length - 1 && isIpv4(p)) n += 2;
    else return -1;
  }
  return n;
}

/** An IPv4 or IPv6 address. */
export function isIp(s: string): boolean {
  return isIpv4(s) || isIpv6(s);
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID in its 36-character hyphenated form, any version, either case. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

// RFC 3986 appendix A, written as regular expressions.
const PCT = "%[0-9A-Fa-f]{2}";
const UNRESERVED_SUB = "A-Za-z0-9._~!$&'()*+,;=\\-";
const PCHAR = `(?:[${UNRESERVED_SUB}:@]|${PCT})`;
const SEGMENT = `${PCHAR}*`;
const SEGMENT_NZ = `${PCHAR}+`;
const URI = new RegExp(
  "^[A-Za-z][A-Za-z0-9+.\\-]*:" +
    "(?:" +
    `//(?:((?:[${UNRESERVED_SUB}:]|${PCT})*)@)?` + // userinfo
    `(\\[[^\\]]*\\]|(?:[${UNRESERVED_SUB}]|${PCT})*)` + // host
    "(?::[0-9]*)?" + // port
    `(?:/${SEGMENT})*` + // path-abempty
    `|/(?:${SEGMENT_NZ}(?:/${SEGMENT})*)?` + // path-absolute
    `|${SEGMENT_NZ}(?:/${SEGMENT})*` + // path-rootless
    "|)" + // path-empty
    `(?:\\?(?:${PCHAR}|[/?])*)?` + // query
    `(?:#(?:${PCHAR}|[/?])*)?$`, // fragment
);
const ZONE_ID = new RegExp(`^(?:[A-Za-z0-9._~\\-]|${PCT})+$`);
const IPV_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+$/;

/** An absolute URI (RFC 3986 `URI`), with RFC 6874 zone ids in IPv6 literals. */
export function isUri(s: string): boolean {
  const m = URI.exec(s);
  if (m === null) return false;
  const host = m[2];
  if (host === undefined) return true;
  if (host.startsWith("[")) return ipLiteral(host.slice(1, -1));
  // A percent-encoded host must encode UTF-8.
  if (host.includes("%")) {
    try {
      decodeURIComponent(host);
    } catch {
      return false;
    }
  }
  return true;
}

function ipLiteral(s: string): boolean {
  if (IPV_FUTURE.test(s)) return true;
  const z = s.indexOf("%25");
  if (z >= 0) return ipv6Address(s.slice(0, z)) && ZONE_ID.test(s.slice(z + 3));
  return ipv6Address(s);
}
