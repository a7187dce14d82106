import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    KIND_ONE: _ClassVar[Kind]
    KIND_TWO: _ClassVar[Kind]
KIND_UNSPECIFIED: Kind
KIND_ONE: Kind
KIND_TWO: Kind

class Inner(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("lo", "hi")
    LO_FIELD_NUMBER: _ClassVar[int]
    HI_FIELD_NUMBER: _ClassVar[int]
    lo: int
    hi: int
    def __init__(self, lo: _Optional[int] = ..., hi: _Optional[int] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("name", "code", "email", "host", "ip", "uri", "uuid", "color", "four", "small", "big", "gap", "ratio", "scale", "odd", "flag", "kind", "blob", "tags", "counts", "inner", "inners", "timeout", "at", "nick", "a", "b", "opt_in", "req_num", "limits")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    FOUR_FIELD_NUMBER: _ClassVar[int]
    SMALL_FIELD_NUMBER: _ClassVar[int]
    BIG_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    ODD_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    INNER_FIELD_NUMBER: _ClassVar[int]
    INNERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    NICK_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_FIELD_NUMBER: _ClassVar[int]
    REQ_NUM_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    code: str
    email: str
    host: str
    ip: str
    uri: str
    uuid: str
    color: str
    four: str
    small: int
    big: int
    gap: int
    ratio: float
    scale: float
    odd: int
    flag: bool
    kind: Kind
    blob: bytes
    tags: _containers.RepeatedScalarFieldContainer[str]
    counts: _containers.ScalarMap[str, int]
    inner: Inner
    inners: _containers.RepeatedCompositeFieldContainer[Inner]
    timeout: _duration_pb2.Duration
    at: _timestamp_pb2.Timestamp
    nick: str
    a: str
    b: int
    opt_in: str
    req_num: int
    limits: Limits
    def __init__(self, name: _Optional[str] = ..., code: _Optional[str] = ..., email: _Optional[str] = ..., host: _Optional[str] = ..., ip: _Optional[str] = ..., uri: _Optional[str] = ..., uuid: _Optional[str] = ..., color: _Optional[str] = ..., four: _Optional[str] = ..., small: _Optional[int] = ..., big: _Optional[int] = ..., gap: _Optional[int] = ..., ratio: _Optional[float] = ..., scale: _Optional[float] = ..., odd: _Optional[int] = ..., flag: _Optional[bool] = ..., kind: _Optional[_Union[Kind, str]] = ..., blob: _Optional[bytes] = ..., tags: _Optional[_Iterable[str]] = ..., counts: _Optional[_Mapping[str, int]] = ..., inner: _Optional[_Union[Inner, _Mapping]] = ..., inners: _Optional[_Iterable[_Union[Inner, _Mapping]]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nick: _Optional[str] = ..., a: _Optional[str] = ..., b: _Optional[int] = ..., opt_in: _Optional[str] = ..., req_num: _Optional[int] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
