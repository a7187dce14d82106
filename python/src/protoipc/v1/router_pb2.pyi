from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PEER_ROLE_UNSPECIFIED: _ClassVar[PeerRole]
    PEER_ROLE_CLIENT: _ClassVar[PeerRole]
    PEER_ROLE_SERVER: _ClassVar[PeerRole]

class PeerEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PEER_EVENT_KIND_UNSPECIFIED: _ClassVar[PeerEventKind]
    PEER_EVENT_KIND_JOINED: _ClassVar[PeerEventKind]
    PEER_EVENT_KIND_LEFT: _ClassVar[PeerEventKind]
PEER_ROLE_UNSPECIFIED: PeerRole
PEER_ROLE_CLIENT: PeerRole
PEER_ROLE_SERVER: PeerRole
PEER_EVENT_KIND_UNSPECIFIED: PeerEventKind
PEER_EVENT_KIND_JOINED: PeerEventKind
PEER_EVENT_KIND_LEFT: PeerEventKind

class RouterFrame(_message.Message):
    __slots__ = ("register", "register_ack", "heartbeat", "disconnect", "call", "broadcast", "peer_event")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    REGISTER_ACK_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    BROADCAST_FIELD_NUMBER: _ClassVar[int]
    PEER_EVENT_FIELD_NUMBER: _ClassVar[int]
    register: RouterRegister
    register_ack: RouterRegisterAck
    heartbeat: RouterHeartbeat
    disconnect: RouterDisconnect
    call: RouterCall
    broadcast: RouterBroadcast
    peer_event: RouterPeerEvent
    def __init__(self, register: _Optional[_Union[RouterRegister, _Mapping]] = ..., register_ack: _Optional[_Union[RouterRegisterAck, _Mapping]] = ..., heartbeat: _Optional[_Union[RouterHeartbeat, _Mapping]] = ..., disconnect: _Optional[_Union[RouterDisconnect, _Mapping]] = ..., call: _Optional[_Union[RouterCall, _Mapping]] = ..., broadcast: _Optional[_Union[RouterBroadcast, _Mapping]] = ..., peer_event: _Optional[_Union[RouterPeerEvent, _Mapping]] = ...) -> None: ...

class RouterRegister(_message.Message):
    __slots__ = ("protocol_version", "role", "services", "heartbeat_interval_ms", "peer_events", "name")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    PEER_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    role: PeerRole
    services: _containers.RepeatedScalarFieldContainer[str]
    heartbeat_interval_ms: int
    peer_events: bool
    name: str
    def __init__(self, protocol_version: _Optional[int] = ..., role: _Optional[_Union[PeerRole, str]] = ..., services: _Optional[_Iterable[str]] = ..., heartbeat_interval_ms: _Optional[int] = ..., peer_events: _Optional[bool] = ..., name: _Optional[str] = ...) -> None: ...

class RouterRegisterAck(_message.Message):
    __slots__ = ("protocol_version", "heartbeat_interval_ms", "peer_id")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    heartbeat_interval_ms: int
    peer_id: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., heartbeat_interval_ms: _Optional[int] = ..., peer_id: _Optional[bytes] = ...) -> None: ...

class RouterHeartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RouterDisconnect(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class RouterCall(_message.Message):
    __slots__ = ("service", "client", "envelope")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    service: str
    client: bytes
    envelope: bytes
    def __init__(self, service: _Optional[str] = ..., client: _Optional[bytes] = ..., envelope: _Optional[bytes] = ...) -> None: ...

class RouterBroadcast(_message.Message):
    __slots__ = ("topic", "sequence", "payload", "publisher")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    topic: str
    sequence: int
    payload: bytes
    publisher: bytes
    def __init__(self, topic: _Optional[str] = ..., sequence: _Optional[int] = ..., payload: _Optional[bytes] = ..., publisher: _Optional[bytes] = ...) -> None: ...

class RouterPeerEvent(_message.Message):
    __slots__ = ("kind", "peer_id", "role", "services", "name", "reason")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    kind: PeerEventKind
    peer_id: bytes
    role: PeerRole
    services: _containers.RepeatedScalarFieldContainer[str]
    name: str
    reason: str
    def __init__(self, kind: _Optional[_Union[PeerEventKind, str]] = ..., peer_id: _Optional[bytes] = ..., role: _Optional[_Union[PeerRole, str]] = ..., services: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
