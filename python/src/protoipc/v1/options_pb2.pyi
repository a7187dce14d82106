from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Binding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BINDING_UNSPECIFIED: _ClassVar[Binding]
    BINDING_NATIVE: _ClassVar[Binding]
    BINDING_JSONRPC2: _ClassVar[Binding]
    BINDING_COMMAND_FRAME: _ClassVar[Binding]

class MethodKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    METHOD_KIND_UNSPECIFIED: _ClassVar[MethodKind]
    METHOD_KIND_UNARY: _ClassVar[MethodKind]
    METHOD_KIND_SERVER_STREAMING: _ClassVar[MethodKind]
    METHOD_KIND_PROGRESS: _ClassVar[MethodKind]
BINDING_UNSPECIFIED: Binding
BINDING_NATIVE: Binding
BINDING_JSONRPC2: Binding
BINDING_COMMAND_FRAME: Binding
METHOD_KIND_UNSPECIFIED: MethodKind
METHOD_KIND_UNARY: MethodKind
METHOD_KIND_SERVER_STREAMING: MethodKind
METHOD_KIND_PROGRESS: MethodKind
SERVICE_FIELD_NUMBER: _ClassVar[int]
service: _descriptor.FieldDescriptor
METHOD_FIELD_NUMBER: _ClassVar[int]
method: _descriptor.FieldDescriptor
MESSAGE_FIELD_NUMBER: _ClassVar[int]
message: _descriptor.FieldDescriptor
ENUM_VALUE_FIELD_NUMBER: _ClassVar[int]
enum_value: _descriptor.FieldDescriptor

class ServiceOptions(_message.Message):
    __slots__ = ("binding", "default_timeout_ms", "wire_name")
    BINDING_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    binding: Binding
    default_timeout_ms: int
    wire_name: str
    def __init__(self, binding: _Optional[_Union[Binding, str]] = ..., default_timeout_ms: _Optional[int] = ..., wire_name: _Optional[str] = ...) -> None: ...

class MethodOptions(_message.Message):
    __slots__ = ("kind", "progress", "timeout_ms", "wire_name", "notification")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    kind: MethodKind
    progress: str
    timeout_ms: int
    wire_name: str
    notification: bool
    def __init__(self, kind: _Optional[_Union[MethodKind, str]] = ..., progress: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., wire_name: _Optional[str] = ..., notification: _Optional[bool] = ...) -> None: ...

class MessageOptions(_message.Message):
    __slots__ = ("wire_name", "json_value_field")
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    JSON_VALUE_FIELD_FIELD_NUMBER: _ClassVar[int]
    wire_name: str
    json_value_field: str
    def __init__(self, wire_name: _Optional[str] = ..., json_value_field: _Optional[str] = ...) -> None: ...

class EnumValueOptions(_message.Message):
    __slots__ = ("wire_name",)
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    wire_name: str
    def __init__(self, wire_name: _Optional[str] = ...) -> None: ...
