"""Shared fixtures: every test is time-bounded, every transport pair is unique and closed in
teardown, and the call-semantics tests loop over the in-memory transport and real ZeroMQ
(``ipc://`` in a private temp directory, ``tcp://127.0.0.1`` on a free port)."""

from __future__ import annotations

import faulthandler
import functools
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pytest

import protoipc
from protoipc.memory import create_in_memory_transport
from protoipc.router import Router, create_router_client_transport, create_router_server_transport
from protoipc.testing import ScriptedTestHandler, TestServiceClient, deny_mallory
from protoipc.zmq import create_zmq_server_transport, create_zmq_transport

#: Longest a single test may take, in seconds; a hung test dumps every thread's stack and ends
#: the run instead of hanging it.
TEST_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    faulthandler.dump_traceback_later(TEST_TIMEOUT_S, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def private_dir() -> Iterator[str]:
    """A fresh private (0700) directory, removed after the test."""
    path = tempfile.mkdtemp(prefix="protoipc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Harness:
    """A TestService server on one transport, and clients connected to it."""

    kind: str
    server: protoipc.Server
    handler: ScriptedTestHandler
    connect_transport: Callable[[], protoipc.ClientTransport]
    transports: list[protoipc.ClientTransport] = field(default_factory=list)

    def transport(self) -> protoipc.ClientTransport:
        """A new client transport, closed in teardown."""
        t = self.connect_transport()
        self.transports.append(t)
        return t

    def client(self, interceptors: Sequence[protoipc.Interceptor] = ()) -> TestServiceClient:
        """A client on a new transport."""
        return TestServiceClient(self.transport(), interceptors=interceptors)

    async def aclose(self) -> None:
        for t in self.transports:
            await t.aclose()
        await self.server.close()


TRANSPORTS = ["memory", "zmq-ipc", "zmq-tcp", "router", "unix-native", "unix-jsonrpc2"]

class HarnessMaker:
    """Starts harnesses on one transport kind; closes them all in teardown."""

    def __init__(self, kind: str, directory: str) -> None:
        self.kind = kind
        self.directory = directory
        self.harnesses: list[Harness] = []
        self.routers: list[Router] = []

    async def __call__(
        self,
        *,
        heartbeat_interval_ms: int = 1000,
        handler: ScriptedTestHandler | None = None,
        interceptors: Sequence[protoipc.Interceptor] = (deny_mallory,),
    ) -> Harness:
        handler = handler if handler is not None else ScriptedTestHandler()
        connect: Callable[[], protoipc.ClientTransport]
        if self.kind == "memory":
            mem = create_in_memory_transport(heartbeat_interval_ms=heartbeat_interval_ms)
            server = protoipc.create_server(mem.server, interceptors=interceptors)
            server.register(handler)
            await server.listen()
            connect = mem.connect
        elif self.kind == "router":
            # Through protoipc's router (Python): calls keep the native binding's semantics.
            router = Router("tcp://127.0.0.1:*")
            await router.start()
            self.routers.append(router)
            assert router.address is not None
            router_transport = create_router_server_transport(
                router.address, call_heartbeat_interval_ms=heartbeat_interval_ms
            )
            server = protoipc.create_server(router_transport, interceptors=interceptors)
            server.register(handler)
            await server.listen()
            connect = functools.partial(
                create_router_client_transport,
                router.address,
                call_heartbeat_interval_ms=heartbeat_interval_ms,
            )
        elif self.kind.startswith("unix-"):
            from protoipc.unix.content_length import create_content_length_framer
            from protoipc.unix.stream import (
                create_stream_server_transport,
                create_stream_transport,
                default_framer,
            )

            binding: Literal["native", "jsonrpc2"] = (
                "jsonrpc2" if self.kind == "unix-jsonrpc2" else "native"
            )
            path = f"{self.directory}/stream-{len(self.harnesses)}.sock"
            # The suite's limits are the native binding's 4 MiB, for jsonrpc2 too.
            framer = default_framer("native") if binding == "native" else create_content_length_framer(
                max_frame_bytes=4 * 1024 * 1024
            )
            server = protoipc.create_server(
                create_stream_server_transport(
                    path=path,
                    binding=binding,
                    framer=framer,
                    heartbeat_interval_ms=heartbeat_interval_ms,
                ),
                interceptors=interceptors,
            )
            server.register(handler)
            await server.listen()
            connect = functools.partial(
                create_stream_transport,
                path=path,
                binding=binding,
                framer=framer,
                heartbeat_interval_ms=heartbeat_interval_ms,
            )
        else:
            bind = (
                f"ipc://{self.directory}/server-{len(self.harnesses)}.sock"
                if self.kind == "zmq-ipc"
                else "tcp://127.0.0.1:*"
            )
            transport = create_zmq_server_transport(
                bind, heartbeat_interval_ms=heartbeat_interval_ms
            )
            server = protoipc.create_server(transport, interceptors=interceptors)
            server.register(handler)
            await server.listen()
            address = transport.address
            assert address is not None
            connect = functools.partial(
                create_zmq_transport, address, heartbeat_interval_ms=heartbeat_interval_ms
            )
        harness = Harness(self.kind, server, handler, connect)
        self.harnesses.append(harness)
        return harness

    async def aclose(self) -> None:
        for h in self.harnesses:
            await h.aclose()
        for r in self.routers:
            await r.aclose()


@pytest.fixture(params=TRANSPORTS)
async def make_harness(
    request: pytest.FixtureRequest, private_dir: str
) -> AsyncIterator[HarnessMaker]:
    """Starts TestService harnesses on the parametrized transport."""
    maker = HarnessMaker(request.param, private_dir)
    yield maker
    await maker.aclose()


@pytest.fixture
async def harness(make_harness: HarnessMaker) -> Harness:
    """A TestService server (ScriptedTestHandler, the deny_mallory interceptor) on the
    parametrized transport, heartbeat interval 1 s."""
    return await make_harness()
