"""The protoipc router in Python (router.proto): :class:`Router` (native and AI Hydra modes),
:class:`RouterPeer`, and client / server transports through a router
(:func:`create_router_client_transport`, :func:`create_router_server_transport`), and the Hydra
binding's transports speaking AI Hydra's JSON envelope (:func:`create_hydra_client_transport`,
:func:`create_hydra_server_transport`). The command is ``python -m protoipc router``. Mirrors
``@protoipc/router``."""

from protoipc.router.frames import DEFAULT_ROUTER_HEARTBEAT_MS, HEARTBEAT_LIVENESS
from protoipc.router.hydra import (
    HydraClientTransport,
    HydraServerTransport,
    create_hydra_client_transport,
    create_hydra_server_transport,
)
from protoipc.router.peer import (
    Broadcast,
    RouterPeer,
    RouterServerTransport,
    create_router_client_transport,
    create_router_server_transport,
)
from protoipc.router.router import (
    DEFAULT_MAX_QUEUED_FRAMES_PER_PEER,
    PeerInfo,
    Router,
    RouterCounters,
)

__all__ = [
    "DEFAULT_MAX_QUEUED_FRAMES_PER_PEER",
    "DEFAULT_ROUTER_HEARTBEAT_MS",
    "HEARTBEAT_LIVENESS",
    "Broadcast",
    "HydraClientTransport",
    "HydraServerTransport",
    "PeerInfo",
    "Router",
    "RouterCounters",
    "RouterPeer",
    "RouterServerTransport",
    "create_hydra_client_transport",
    "create_hydra_server_transport",
    "create_router_client_transport",
    "create_router_server_transport",
]
