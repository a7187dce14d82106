from google.protobuf import any_pb2 as _any_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FrameKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAME_KIND_UNSPECIFIED: _ClassVar[FrameKind]
    FRAME_KIND_REQUEST: _ClassVar[FrameKind]
    FRAME_KIND_RESPONSE: _ClassVar[FrameKind]
    FRAME_KIND_ERROR: _ClassVar[FrameKind]
    FRAME_KIND_PROGRESS: _ClassVar[FrameKind]
    FRAME_KIND_STREAM_ITEM: _ClassVar[FrameKind]
    FRAME_KIND_END: _ClassVar[FrameKind]
    FRAME_KIND_CANCEL: _ClassVar[FrameKind]
    FRAME_KIND_HEARTBEAT: _ClassVar[FrameKind]
    FRAME_KIND_HELLO: _ClassVar[FrameKind]
FRAME_KIND_UNSPECIFIED: FrameKind
FRAME_KIND_REQUEST: FrameKind
FRAME_KIND_RESPONSE: FrameKind
FRAME_KIND_ERROR: FrameKind
FRAME_KIND_PROGRESS: FrameKind
FRAME_KIND_STREAM_ITEM: FrameKind
FRAME_KIND_END: FrameKind
FRAME_KIND_CANCEL: FrameKind
FRAME_KIND_HEARTBEAT: FrameKind
FRAME_KIND_HELLO: FrameKind

class Envelope(_message.Message):
    __slots__ = ("request_id", "kind", "method", "deadline_unix_ms", "sequence", "payload", "error", "hello", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    kind: FrameKind
    method: str
    deadline_unix_ms: int
    sequence: int
    payload: bytes
    error: Status
    hello: Hello
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[int] = ..., kind: _Optional[_Union[FrameKind, str]] = ..., method: _Optional[str] = ..., deadline_unix_ms: _Optional[int] = ..., sequence: _Optional[int] = ..., payload: _Optional[bytes] = ..., error: _Optional[_Union[Status, _Mapping]] = ..., hello: _Optional[_Union[Hello, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("code", "message", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    details: _containers.RepeatedCompositeFieldContainer[_any_pb2.Any]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Iterable[_Union[_any_pb2.Any, _Mapping]]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("protocol_version", "schema_hashes", "heartbeat_interval_ms", "max_frame_bytes")
    class SchemaHashesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_HASHES_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    schema_hashes: _containers.ScalarMap[str, str]
    heartbeat_interval_ms: int
    max_frame_bytes: int
    def __init__(self, protocol_version: _Optional[int] = ..., schema_hashes: _Optional[_Mapping[str, str]] = ..., heartbeat_interval_ms: _Optional[int] = ..., max_frame_bytes: _Optional[int] = ...) -> None: ...
