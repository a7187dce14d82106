"""``python -m protoipc router --bind ENDPOINT [--heartbeat-ms MS] [--protocol native|hydra]
[--max-queued-frames N] [--curve-secret-key FILE]``: the Python twin of the ``protoipc router``
command of ``@protoipc/router`` (same options, same output lines). Arguments are parsed with
argparse; the router runs until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from collections.abc import Sequence

from protoipc.errors import IpcError
from protoipc.router.frames import DEFAULT_ROUTER_HEARTBEAT_MS
from protoipc.router.router import DEFAULT_MAX_QUEUED_FRAMES_PER_PEER, PeerInfo, Router

__all__ = ["main", "read_curve_key_file"]


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return n


def read_curve_key_file(path: str) -> tuple[str, str | None]:
    """The public and (secret files) secret Z85 key of a ZPL certificate file, as written by
    ``protoipc keygen``, czmq or ``zmq.auth.create_certificates``.

    :raises ValueError: when the file has no 40-character public-key
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    public = re.search(r'^\s*public-key\s*=\s*"([^"]*)"', text, re.M)
    secret = re.search(r'^\s*secret-key\s*=\s*"([^"]*)"', text, re.M)
    if public is None or len(public.group(1)) != 40:
        raise ValueError(f"curve key file {path} has no public-key of 40 z85 characters")
    return public.group(1), secret.group(1) if secret else None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m protoipc")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("router", help="run a protoipc router")
    r.add_argument("--bind", required=True, help="tcp://0.0.0.0:5556, tcp://127.0.0.1:*, ipc://…")
    r.add_argument(
        "--heartbeat-ms",
        type=_positive,
        default=DEFAULT_ROUTER_HEARTBEAT_MS,
        help="heartbeat interval in milliseconds (default 5000); peers expire after 3 missed",
    )
    r.add_argument("--protocol", choices=("native", "hydra"), default="native")
    r.add_argument(
        "--max-queued-frames",
        type=_positive,
        default=DEFAULT_MAX_QUEUED_FRAMES_PER_PEER,
        help="frames queued per peer before frames for it are dropped (default 4096)",
    )
    r.add_argument("--curve-secret-key", help="enable CURVE with this secret key file")
    return p


async def _run(args: argparse.Namespace) -> int:
    public = secret = None
    if args.curve_secret_key is not None:
        public, secret = read_curve_key_file(args.curve_secret_key)
        if secret is None:
            print(f"curve key file {args.curve_secret_key} holds no secret-key", file=sys.stderr)
            return 2

    def joined(p: PeerInfo) -> None:
        print(f"peer joined {p.id} {p.role} {p.name}".rstrip(), flush=True)

    def left(p: PeerInfo, reason: str) -> None:
        print(f"peer left {p.id} {p.role} ({reason})", flush=True)

    router = Router(
        args.bind,
        protocol=args.protocol,
        heartbeat_interval_ms=args.heartbeat_ms,
        max_queued_frames=args.max_queued_frames,
        curve_public_key=public,
        curve_secret_key=secret,
        on_peer_joined=joined,
        on_peer_left=left,
    )
    try:
        await router.start()
    except IpcError as e:
        print(e.raw_message, file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    curve = ", curve" if secret is not None else ""
    print(
        f"protoipc router listening on {router.address} "
        f"({args.protocol}, heartbeat {router.heartbeat_interval_ms} ms{curve})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await router.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the exit code (2 on a usage error, 1 when it cannot bind)."""
    args = _parser().parse_args(argv)
    return asyncio.run(_run(args))
