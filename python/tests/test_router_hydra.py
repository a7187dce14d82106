"""The Hydra binding from Python (protoipc.router.hydra): the golden envelope vectors every
runtime shares (test/golden/hydra-vectors.json), the payload codec, and the generated
SimulationService client and server over Hydra's JSON envelope, through protoipc's router in
Hydra mode (replies matched by request id) and through a stand-in for Hydra's own router
(test/fixtures/hydra_reference_router.py, which strips request ids: replies matched by elem)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import protoipc
from hydra.v1 import hydra_ipc, hydra_pb2
from protoipc import Code, IpcError
from protoipc.router import (
    HydraClientTransport,
    PeerInfo,
    Router,
    create_hydra_client_transport,
    create_hydra_server_transport,
)
from protoipc.router.hydra_json import (
    encode_hydra_envelope,
    encode_hydra_forward,
    encode_python_json,
    message_from_hydra_json,
    message_to_hydra_json,
    parse_hydra_incoming,
)

REPO = Path(__file__).resolve().parents[2]
VECTORS: list[dict[str, Any]] = json.loads((REPO / "test" / "golden" / "hydra-vectors.json").read_text())[
    "vectors"
]
REFERENCE_ROUTER = REPO / "test" / "fixtures" / "hydra_reference_router.py"
POOL = hydra_pb2.DESCRIPTOR.pool


def _typed(type_name: str, data: Any) -> Any:
    """``data`` read into the message ``type_name`` and written back."""
    cls = getattr(hydra_pb2, POOL.FindMessageTypeByName(type_name).name)
    return message_to_hydra_json(message_from_hydra_json(cls, data))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_writes_the_golden_bytes(vector: dict[str, Any]) -> None:
    v = dict(vector["value"])
    if "type" in vector:
        v["data"] = _typed(vector["type"], v["data"])
    if vector["kind"] == "envelope":
        raw = encode_hydra_envelope(
            v["sender"], v["elem"], v["data"], v["client_id"], v["timestamp"], v.get("request_id")
        )
    elif vector["kind"] == "forward":
        raw = encode_hydra_forward(v["sender"], v["elem"], v["data"], v.get("request_id"))
    else:
        raw = encode_python_json(v)
    assert raw.decode() == vector["bytes"]
    # What a Hydra peer (Python's json) reads back is the value written.
    assert json.loads(raw) == json.loads(vector["bytes"])


def test_forwards_and_acks_parse_as_a_peer_sees_them() -> None:
    ok = parse_hydra_incoming(b'{"status": "ok"}')
    assert ok.kind == "ok"
    err = parse_hydra_incoming(b'{"error": "No AI Hydra server connected"}')
    assert (err.kind, err.error) == ("error", "No AI Hydra server connected")
    fwd = parse_hydra_incoming(b'{"sender": "HydraServer", "elem": "status_update", "data": null}')
    assert (fwd.kind, fwd.elem, fwd.data, fwd.request_id) == ("message", "status_update", {}, None)
    with pytest.raises(IpcError) as bad:
        parse_hydra_incoming(b'{"sender": "Mallory", "elem": "status"}')
    assert bad.value.code == Code.INVALID_ARGUMENT
    assert bad.value.raw_message == (
        'invalid hydra envelope: sender "Mallory" is not HydraClient, HydraServer or HydraRouter'
    )
    with pytest.raises(IpcError, match="not UTF-8 JSON"):
        parse_hydra_incoming(b"\xff")


def test_reads_hydra_json_into_typed_messages_naming_the_bad_field() -> None:
    state = message_from_hydra_json(
        hydra_pb2.GameState,
        {"snake_head": [3, 4], "snake_body": [[3, 4], [3, 5]], "score": 15, "unknown_key": 1},
    )
    assert [(c.x, c.y) for c in state.snake_body] == [(3, 4), (3, 5)]
    assert state.snake_head.y == 4 and state.score == 15
    with pytest.raises(IpcError) as short:
        message_from_hydra_json(hydra_pb2.GameState, {"snake_head": [1]})
    assert short.value.raw_message == "data.snake_head: expected an array of 2 values, got [1]"
    with pytest.raises(IpcError) as wrong:
        message_from_hydra_json(hydra_pb2.StartSimulationRequest, {"config": {"move_budget": "x"}})
    assert wrong.value.code == Code.INVALID_ARGUMENT
    assert wrong.value.raw_message == 'data.config.move_budget: expected an integer, got "x"'
    # Unset optional and message fields are left out; zero values are written.
    assert message_to_hydra_json(hydra_pb2.SimulationConfig()) == {
        "initial_snake_length": 0, "move_budget": 0, "random_seed": 0, "nn_enabled": False,
        "food_reward": 0, "collision_penalty": 0, "empty_move_reward": 0,
    }  # fmt: skip


class Simulation(hydra_ipc.SimulationServiceHandler):
    def __init__(self) -> None:
        self.started = -1

    async def start_simulation(
        self, request: hydra_pb2.StartSimulationRequest, context: protoipc.CallContext
    ) -> hydra_pb2.StartSimulationResponse:
        self.started = request.config.move_budget
        return hydra_pb2.StartSimulationResponse()

    async def get_status(
        self, request: hydra_pb2.GetStatusRequest, context: protoipc.CallContext
    ) -> hydra_pb2.GetStatusResponse:
        r = hydra_pb2.GetStatusResponse(simulation_status="running")
        r.game_state.score = 15
        r.game_state.snake_body.add(x=1, y=2)
        return r

    async def get_config(
        self, request: hydra_pb2.GetConfigRequest, context: protoipc.CallContext
    ) -> hydra_pb2.GetConfigResponse:
        return hydra_pb2.GetConfigResponse(config=hydra_pb2.SimulationConfig(move_budget=12))

    async def set_config(
        self, request: hydra_pb2.SetConfigRequest, context: protoipc.CallContext
    ) -> hydra_pb2.SetConfigResponse:
        raise IpcError("move_budget must be a multiple of 10, got 77", Code.INVALID_ARGUMENT)


@pytest.fixture
async def hydra_router() -> AsyncIterator[tuple[Router, asyncio.Queue[PeerInfo]]]:
    joined: asyncio.Queue[PeerInfo] = asyncio.Queue()
    r = Router(
        "tcp://127.0.0.1:*",
        protocol="hydra",
        heartbeat_interval_ms=200,
        on_peer_joined=joined.put_nowait,
    )
    await r.start()
    yield r, joined
    await r.aclose()


async def _joined(queue: asyncio.Queue[PeerInfo], name: str) -> None:
    while (await queue.get()).name != name:
        pass


async def test_generated_client_and_server_through_protoipcs_router_in_hydra_mode(
    hydra_router: tuple[Router, asyncio.Queue[PeerInfo]],
) -> None:
    router, joined = hydra_router
    assert router.address is not None
    server_t = create_hydra_server_transport(
        router.address, [hydra_ipc.SIMULATION_SERVICE], heartbeat_interval_ms=200
    )
    server = protoipc.create_server(server_t)
    sim = Simulation()
    server.register(sim)
    client_t = create_hydra_client_transport(router.address, heartbeat_interval_ms=200)
    try:
        await server.listen()
        await _joined(joined, server_t.client_id)
        client = hydra_ipc.SimulationServiceClient(client_t)
        config = hydra_pb2.SimulationConfig(initial_snake_length=3, move_budget=77)
        config.grid_size.x, config.grid_size.y = 20, 20
        await client.start_simulation(hydra_pb2.StartSimulationRequest(config=config))
        assert sim.started == 77
        status = await client.get_status(hydra_pb2.GetStatusRequest())
        assert status.simulation_status == "running"
        assert (status.game_state.score, status.game_state.snake_body[0].y) == (15, 2)
        with pytest.raises(IpcError) as invalid:
            await client.set_config(hydra_pb2.SetConfigRequest(config=config))
        assert invalid.value.code == Code.INVALID_ARGUMENT
        assert invalid.value.raw_message == "move_budget must be a multiple of 10, got 77"
        with pytest.raises(IpcError) as unimplemented:
            await client.pause_simulation(hydra_pb2.PauseSimulationRequest())
        assert unimplemented.value.code == Code.UNIMPLEMENTED
        # Many calls in flight: each reply finds its call by request id.
        answers = await asyncio.gather(
            *(
                client.get_config(hydra_pb2.GetConfigRequest())
                if i % 2
                else client.get_status(hydra_pb2.GetStatusRequest())
                for i in range(20)
            )
        )
        assert [type(a).__name__ for a in answers[:2]] == ["GetStatusResponse", "GetConfigResponse"]

        # Typed broadcasts: a GameState under game_state_update reaches the subscribed client.
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_state(state: hydra_pb2.GameState) -> None:
            if not seen.done():
                seen.set_result(state.score)

        off = client_t.subscribe(hydra_pb2.GameState, on_state)
        server_t.broadcast(hydra_pb2.GameState(score=99))
        assert await seen == 99
        off()
    finally:
        await client_t.aclose()
        await server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _status_once_served(client: hydra_ipc.SimulationServiceClient) -> str:
    """get_status, repeated while the router has not seen the server's heartbeat yet (it then
    answers "No AI Hydra server connected")."""
    while True:
        try:
            return (await client.get_status(hydra_pb2.GetStatusRequest())).simulation_status
        except IpcError as e:
            assert (e.code, e.raw_message) == (Code.UNAVAILABLE, "No AI Hydra server connected")


async def test_replies_are_matched_by_elem_when_the_router_strips_request_ids() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(REFERENCE_ROUTER), address, stdout=asyncio.subprocess.PIPE
    )
    client_t: HydraClientTransport | None = None
    server: protoipc.Server | None = None
    try:
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
        client_t = create_hydra_client_transport(address, heartbeat_interval_ms=100)
        client = hydra_ipc.SimulationServiceClient(client_t)
        with pytest.raises(IpcError) as none:
            await client.get_status(hydra_pb2.GetStatusRequest())
        assert (none.value.code, none.value.raw_message) == (
            Code.UNAVAILABLE,
            "No AI Hydra server connected",
        )
        server = protoipc.create_server(
            create_hydra_server_transport(
                address, [hydra_ipc.SIMULATION_SERVICE], heartbeat_interval_ms=100
            )
        )
        server.register(Simulation())
        await server.listen()
        assert await _status_once_served(client) == "running"
        cfg, status = await asyncio.gather(
            client.get_config(hydra_pb2.GetConfigRequest()),
            client.get_status(hydra_pb2.GetStatusRequest()),
        )
        assert (cfg.config.move_budget, status.simulation_status) == (12, "running")
        with pytest.raises(IpcError) as invalid:
            await client.set_config(hydra_pb2.SetConfigRequest())
        assert invalid.value.code == Code.INVALID_ARGUMENT
    finally:
        if client_t is not None:
            await client_t.aclose()
        if server is not None:
            await server.close()
        proc.kill()
        await proc.wait()
