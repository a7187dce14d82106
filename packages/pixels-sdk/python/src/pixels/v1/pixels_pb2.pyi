from buf.validate import validate_pb2 as _validate_pb2
from protoipc.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_TYPE_UNSPECIFIED: _ClassVar[ModelType]
    MODEL_TYPE_CHECKPOINT: _ClassVar[ModelType]
    MODEL_TYPE_LORA: _ClassVar[ModelType]
    MODEL_TYPE_VAE: _ClassVar[ModelType]

class GenerationStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATION_STAGE_UNSPECIFIED: _ClassVar[GenerationStage]
    GENERATION_STAGE_INITIALIZING: _ClassVar[GenerationStage]
    GENERATION_STAGE_LOADING_MODELS: _ClassVar[GenerationStage]
    GENERATION_STAGE_ENCODING: _ClassVar[GenerationStage]
    GENERATION_STAGE_SAMPLING: _ClassVar[GenerationStage]
    GENERATION_STAGE_DECODING: _ClassVar[GenerationStage]
    GENERATION_STAGE_POST_PROCESSING: _ClassVar[GenerationStage]
MODEL_TYPE_UNSPECIFIED: ModelType
MODEL_TYPE_CHECKPOINT: ModelType
MODEL_TYPE_LORA: ModelType
MODEL_TYPE_VAE: ModelType
GENERATION_STAGE_UNSPECIFIED: GenerationStage
GENERATION_STAGE_INITIALIZING: GenerationStage
GENERATION_STAGE_LOADING_MODELS: GenerationStage
GENERATION_STAGE_ENCODING: GenerationStage
GENERATION_STAGE_SAMPLING: GenerationStage
GENERATION_STAGE_DECODING: GenerationStage
GENERATION_STAGE_POST_PROCESSING: GenerationStage

class GenerateRequest(_message.Message):
    __slots__ = ("id", "prompt", "model", "lora", "size", "steps", "cfg_scale")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CFG_SCALE_FIELD_NUMBER: _ClassVar[int]
    id: str
    prompt: str
    model: str
    lora: str
    size: _containers.RepeatedScalarFieldContainer[int]
    steps: int
    cfg_scale: float
    def __init__(self, id: _Optional[str] = ..., prompt: _Optional[str] = ..., model: _Optional[str] = ..., lora: _Optional[str] = ..., size: _Optional[_Iterable[int]] = ..., steps: _Optional[int] = ..., cfg_scale: _Optional[float] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("job_id", "image_path", "duration_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PATH_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    image_path: str
    duration_s: float
    def __init__(self, job_id: _Optional[str] = ..., image_path: _Optional[str] = ..., duration_s: _Optional[float] = ...) -> None: ...

class GenerateProgress(_message.Message):
    __slots__ = ("job_started", "progress", "preview")
    JOB_STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    job_started: JobStarted
    progress: Progress
    preview: Preview
    def __init__(self, job_started: _Optional[_Union[JobStarted, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., preview: _Optional[_Union[Preview, _Mapping]] = ...) -> None: ...

class JobStarted(_message.Message):
    __slots__ = ("job_id", "timestamp")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    timestamp: int
    def __init__(self, job_id: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("job_id", "stage", "step", "total_steps", "percent", "eta_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    ETA_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    stage: GenerationStage
    step: int
    total_steps: int
    percent: float
    eta_s: float
    def __init__(self, job_id: _Optional[str] = ..., stage: _Optional[_Union[GenerationStage, str]] = ..., step: _Optional[int] = ..., total_steps: _Optional[int] = ..., percent: _Optional[float] = ..., eta_s: _Optional[float] = ...) -> None: ...

class Preview(_message.Message):
    __slots__ = ("job_id", "image_path", "step")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PATH_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    image_path: str
    step: int
    def __init__(self, job_id: _Optional[str] = ..., image_path: _Optional[str] = ..., step: _Optional[int] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "path", "model_type", "size_mb")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_MB_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    model_type: ModelType
    size_mb: int
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., model_type: _Optional[_Union[ModelType, str]] = ..., size_mb: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("version", "queue_size", "active_jobs", "uptime_s")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_JOBS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    version: str
    queue_size: int
    active_jobs: int
    uptime_s: int
    def __init__(self, version: _Optional[str] = ..., queue_size: _Optional[int] = ..., active_jobs: _Optional[int] = ..., uptime_s: _Optional[int] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JobAccepted(_message.Message):
    __slots__ = ("job_id", "estimated_time_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TIME_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    estimated_time_s: float
    def __init__(self, job_id: _Optional[str] = ..., estimated_time_s: _Optional[float] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("job_id", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    error: str
    def __init__(self, job_id: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class ErrorResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class JobFinished(_message.Message):
    __slots__ = ("job_id", "success", "duration_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    success: bool
    duration_s: float
    def __init__(self, job_id: _Optional[str] = ..., success: _Optional[bool] = ..., duration_s: _Optional[float] = ...) -> None: ...

class PixelRequest(_message.Message):
    __slots__ = ("generate", "cancel", "list_models", "status", "ping")
    GENERATE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    LIST_MODELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    generate: GenerateRequest
    cancel: CancelRequest
    list_models: ListModelsRequest
    status: StatusRequest
    ping: PingRequest
    def __init__(self, generate: _Optional[_Union[GenerateRequest, _Mapping]] = ..., cancel: _Optional[_Union[CancelRequest, _Mapping]] = ..., list_models: _Optional[_Union[ListModelsRequest, _Mapping]] = ..., status: _Optional[_Union[StatusRequest, _Mapping]] = ..., ping: _Optional[_Union[PingRequest, _Mapping]] = ...) -> None: ...

class PixelResponse(_message.Message):
    __slots__ = ("job_accepted", "job_complete", "job_error", "job_cancelled", "model_list", "status_info", "pong", "error")
    JOB_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    JOB_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    JOB_ERROR_FIELD_NUMBER: _ClassVar[int]
    JOB_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    MODEL_LIST_FIELD_NUMBER: _ClassVar[int]
    STATUS_INFO_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_accepted: JobAccepted
    job_complete: GenerateResponse
    job_error: JobError
    job_cancelled: CancelResponse
    model_list: ListModelsResponse
    status_info: StatusResponse
    pong: PingResponse
    error: ErrorResponse
    def __init__(self, job_accepted: _Optional[_Union[JobAccepted, _Mapping]] = ..., job_complete: _Optional[_Union[GenerateResponse, _Mapping]] = ..., job_error: _Optional[_Union[JobError, _Mapping]] = ..., job_cancelled: _Optional[_Union[CancelResponse, _Mapping]] = ..., model_list: _Optional[_Union[ListModelsResponse, _Mapping]] = ..., status_info: _Optional[_Union[StatusResponse, _Mapping]] = ..., pong: _Optional[_Union[PingResponse, _Mapping]] = ..., error: _Optional[_Union[ErrorResponse, _Mapping]] = ...) -> None: ...

class PixelUpdate(_message.Message):
    __slots__ = ("job_started", "progress", "preview", "job_finished", "job_complete", "job_error")
    JOB_STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    JOB_FINISHED_FIELD_NUMBER: _ClassVar[int]
    JOB_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    JOB_ERROR_FIELD_NUMBER: _ClassVar[int]
    job_started: JobStarted
    progress: Progress
    preview: Preview
    job_finished: JobFinished
    job_complete: GenerateResponse
    job_error: JobError
    def __init__(self, job_started: _Optional[_Union[JobStarted, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., preview: _Optional[_Union[Preview, _Mapping]] = ..., job_finished: _Optional[_Union[JobFinished, _Mapping]] = ..., job_complete: _Optional[_Union[GenerateResponse, _Mapping]] = ..., job_error: _Optional[_Union[JobError, _Mapping]] = ...) -> None: ...
