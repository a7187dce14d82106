"""The string formats of protovalidate's well-known string rules (``email``, ``hostname``,
``ip``, ``ipv4``, ``ipv6``, ``uri``, ``uuid``): the Python twin of
packages/runtime/src/validate-formats.ts, same definitions (HTML's valid e-mail address, RFC 1123
host names, RFC 3986 / RFC 4291 addresses with RFC 4007 zone ids, RFC 3986 URIs with RFC 6874
zone ids, RFC 4122 UUIDs).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["is_email", "is_hostname", "is_ip", "is_ipv4", "is_ipv6", "is_uri", "is_uuid"]

_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}")
_H16 = re.compile(r"[0-9A-Fa-f]{1,4}")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9._~!$&'()*+,;=\-"
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_SEGMENT = rf"{_PCHAR}*"
_SEGMENT_NZ = rf"{_PCHAR}+"
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?:"
    rf"//(?:((?:[{_UNRESERVED_SUB}:]|{_PCT})*)@)?"
    rf"(\[[^\]]*\]|(?:[{_UNRESERVED_SUB}]|{_PCT})*)"
    r"(?::[0-9]*)?"
    rf"(?:/{_SEGMENT})*"
    rf"|/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
    rf"|{_SEGMENT_NZ}(?:/{_SEGMENT})*"
    r"|)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?"
    rf"(?:#(?:{_PCHAR}|[/?])*)?"
)
_ZONE_ID = re.compile(rf"(?:[A-Za-z0-9._~\-]|{_PCT})+")
_IPV_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")


def is_email(s: str) -> bool:
    """An e-mail address as the HTML standard defines a valid one."""
    return _EMAIL.fullmatch(s) is not None


def is_hostname(s: str) -> bool:
    """Dot-separated labels of 1-63 letters, digits and inner hyphens, at most 253 characters,
    an optional trailing dot, the last label not all digits."""
    if len(s) > 253:
        return False
    name = s[:-1] if s.endswith(".") else s
    labels = name.split(".")
    for label in labels:
        if not label or len(label) > 63 or _LABEL.fullmatch(label) is None:
            return False
    return _DIGITS.fullmatch(labels[-1]) is None


def is_ipv4(s: str) -> bool:
    """A dotted-quad IPv4 address without leading zeros."""
    return _IPV4.fullmatch(s) is not None


def is_ipv6(s: str) -> bool:
    """An IPv6 address, optionally with a zone id (``fe80::1%eth0``)."""
    pct = s.find("%")
    if pct >= 0:
        if pct == len(s) - 1:
            return False
        return _ipv6_address(s[:pct])
    return _ipv6_address(s)


def _ipv6_address(s: str) -> bool:
    dc = s.find("::")
    if dc < 0:
        return _ipv6_pieces(s.split(":")) == 8
    if s.find("::", dc + 1) >= 0:
        return False
    left, right = s[:dc], s[dc + 2 :]
    n_left = 0 if left == "" else _ipv6_pieces(left.split(":"), ipv4_tail=False)
    n_right = 0 if right == "" else _ipv6_pieces(right.split(":"))
    return n_left >= 0 and n_right >= 0 and n_left + n_right <= 7


def _ipv6_pieces(parts: list[str], ipv4_tail: bool = True) -> int:
    n = 0
    for i, p in enumerate(parts):
        if _H16.fullmatch(p) is not None:
            n += 1
        elif ipv4_tail and i == len(parts) - 1 and is_ipv4(p):
            n += 2
        else:
            return -1
    return n


def is_ip(s: str) -> bool:
    """An IPv4 or IPv6 address."""
    return is_ipv4(s) or is_ipv6(s)


def is_uuid(s: str) -> bool:
    """A UUID in its 36-character hyphenated form, any version, either case."""
    return _UUID.fullmatch(s) is not None


def is_uri(s: str) -> bool:
    """An absolute URI (RFC 3986 ``URI``), with RFC 6874 zone ids in IPv6 literals."""
    m = _URI.fullmatch(s)
    if m is None:
        return False
    host = m.group(2)
    if host is None:
        return True
    if host.startswith("["):
        return _ip_literal(host[1:-1])
    if "%" in host:
        try:
            unquote_to_bytes(host).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _ip_literal(s: str) -> bool:
    if _IPV_FUTURE.fullmatch(s) is not None:
        return True
    z = s.find("%25")
    if z >= 0:
        return _ipv6_address(s[:z]) and _ZONE_ID.fullmatch(s[z + 3 :]) is not None
    return _ipv6_address(s)
