from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Binding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BINDING_UNSPECIFIED: _ClassVar[Binding]
    BINDING_NATIVE: _ClassVar[Binding]
    BINDING_TAGGED: _ClassVar[Binding]
    BINDING_HYDRA: _ClassVar[Binding]
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
BINDING_TAGGED: Binding
BINDING_HYDRA: Binding
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
FIELD_FIELD_NUMBER: _ClassVar[int]
field: _descriptor.FieldDescriptor
ENUM_VALUE_FIELD_NUMBER: _ClassVar[int]
enum_value: _descriptor.FieldDescriptor

class ServiceOptions(_message.Message):
    __slots__ = ("binding", "default_timeout_ms", "wire_name", "tagged")
    BINDING_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    TAGGED_FIELD_NUMBER: _ClassVar[int]
    binding: Binding
    default_timeout_ms: int
    wire_name: str
    tagged: TaggedService
    def __init__(self, binding: _Optional[_Union[Binding, str]] = ..., default_timeout_ms: _Optional[int] = ..., wire_name: _Optional[str] = ..., tagged: _Optional[_Union[TaggedService, _Mapping]] = ...) -> None: ...

class TaggedService(_message.Message):
    __slots__ = ("request_union", "response_union", "update_union")
    REQUEST_UNION_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_UNION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_UNION_FIELD_NUMBER: _ClassVar[int]
    request_union: str
    response_union: str
    update_union: str
    def __init__(self, request_union: _Optional[str] = ..., response_union: _Optional[str] = ..., update_union: _Optional[str] = ...) -> None: ...

class MethodOptions(_message.Message):
    __slots__ = ("kind", "progress", "timeout_ms", "wire_name", "notification", "tagged")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    TAGGED_FIELD_NUMBER: _ClassVar[int]
    kind: MethodKind
    progress: str
    timeout_ms: int
    wire_name: str
    notification: bool
    tagged: TaggedMethod
    def __init__(self, kind: _Optional[_Union[MethodKind, str]] = ..., progress: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., wire_name: _Optional[str] = ..., notification: _Optional[bool] = ..., tagged: _Optional[_Union[TaggedMethod, _Mapping]] = ...) -> None: ...

class TaggedMethod(_message.Message):
    __slots__ = ("accepted", "correlation_field", "cancel_method")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_FIELD_NUMBER: _ClassVar[int]
    CANCEL_METHOD_FIELD_NUMBER: _ClassVar[int]
    accepted: str
    correlation_field: str
    cancel_method: str
    def __init__(self, accepted: _Optional[str] = ..., correlation_field: _Optional[str] = ..., cancel_method: _Optional[str] = ...) -> None: ...

class MessageOptions(_message.Message):
    __slots__ = ("wire_name", "json_tuple", "json_value_field", "tagged_union")
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    JSON_TUPLE_FIELD_NUMBER: _ClassVar[int]
    JSON_VALUE_FIELD_FIELD_NUMBER: _ClassVar[int]
    TAGGED_UNION_FIELD_NUMBER: _ClassVar[int]
    wire_name: str
    json_tuple: bool
    json_value_field: str
    tagged_union: TaggedUnion
    def __init__(self, wire_name: _Optional[str] = ..., json_tuple: _Optional[bool] = ..., json_value_field: _Optional[str] = ..., tagged_union: _Optional[_Union[TaggedUnion, _Mapping]] = ...) -> None: ...

class TaggedUnion(_message.Message):
    __slots__ = ("discriminator",)
    DISCRIMINATOR_FIELD_NUMBER: _ClassVar[int]
    discriminator: str
    def __init__(self, discriminator: _Optional[str] = ...) -> None: ...

class FieldOptions(_message.Message):
    __slots__ = ("fixed_length", "correlation", "error_message", "success")
    FIXED_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    fixed_length: int
    correlation: bool
    error_message: bool
    success: bool
    def __init__(self, fixed_length: _Optional[int] = ..., correlation: _Optional[bool] = ..., error_message: _Optional[bool] = ..., success: _Optional[bool] = ...) -> None: ...

class EnumValueOptions(_message.Message):
    __slots__ = ("wire_name", "wire_aliases")
    WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
    WIRE_ALIASES_FIELD_NUMBER: _ClassVar[int]
    wire_name: str
    wire_aliases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, wire_name: _Optional[str] = ..., wire_aliases: _Optional[_Iterable[str]] = ...) -> None: ...
