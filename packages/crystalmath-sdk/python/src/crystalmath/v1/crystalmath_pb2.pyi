from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from protoipc.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBMIT_STATUS_UNSPECIFIED: _ClassVar[SubmitStatus]
    SUBMIT_STATUS_PENDING: _ClassVar[SubmitStatus]
    SUBMIT_STATUS_ERROR: _ClassVar[SubmitStatus]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_CREATED: _ClassVar[JobState]
    JOB_STATE_SUBMITTED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class DftCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DFT_CODE_UNSPECIFIED: _ClassVar[DftCode]
    DFT_CODE_CRYSTAL: _ClassVar[DftCode]
    DFT_CODE_VASP: _ClassVar[DftCode]
    DFT_CODE_QUANTUM_ESPRESSO: _ClassVar[DftCode]

class RunnerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUNNER_TYPE_UNSPECIFIED: _ClassVar[RunnerType]
    RUNNER_TYPE_LOCAL: _ClassVar[RunnerType]
    RUNNER_TYPE_SSH: _ClassVar[RunnerType]
    RUNNER_TYPE_SLURM: _ClassVar[RunnerType]
    RUNNER_TYPE_AIIDA: _ClassVar[RunnerType]

class ApiErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    API_ERROR_CODE_UNSPECIFIED: _ClassVar[ApiErrorCode]
    API_ERROR_CODE_NOT_FOUND: _ClassVar[ApiErrorCode]
SUBMIT_STATUS_UNSPECIFIED: SubmitStatus
SUBMIT_STATUS_PENDING: SubmitStatus
SUBMIT_STATUS_ERROR: SubmitStatus
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_CREATED: JobState
JOB_STATE_SUBMITTED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
DFT_CODE_UNSPECIFIED: DftCode
DFT_CODE_CRYSTAL: DftCode
DFT_CODE_VASP: DftCode
DFT_CODE_QUANTUM_ESPRESSO: DftCode
RUNNER_TYPE_UNSPECIFIED: RunnerType
RUNNER_TYPE_LOCAL: RunnerType
RUNNER_TYPE_SSH: RunnerType
RUNNER_TYPE_SLURM: RunnerType
RUNNER_TYPE_AIIDA: RunnerType
API_ERROR_CODE_UNSPECIFIED: ApiErrorCode
API_ERROR_CODE_NOT_FOUND: ApiErrorCode

class SystemPingRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SystemPingResponse(_message.Message):
    __slots__ = ("pong", "timestamp")
    PONG_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    pong: bool
    timestamp: str
    def __init__(self, pong: _Optional[bool] = ..., timestamp: _Optional[str] = ...) -> None: ...

class SystemVersionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SystemVersionResponse(_message.Message):
    __slots__ = ("version", "protocol", "transport")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    version: str
    protocol: str
    transport: str
    def __init__(self, version: _Optional[str] = ..., protocol: _Optional[str] = ..., transport: _Optional[str] = ...) -> None: ...

class SystemShutdownRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SystemShutdownResponse(_message.Message):
    __slots__ = ("acknowledged", "action")
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    acknowledged: bool
    action: str
    def __init__(self, acknowledged: _Optional[bool] = ..., action: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("status", "limit")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    status: str
    limit: int
    def __init__(self, status: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class QuaccJob(_message.Message):
    __slots__ = ("id", "recipe", "status", "created_at", "updated_at", "cluster", "work_dir", "error_message", "results_summary")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    WORK_DIR_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: str
    recipe: str
    status: str
    created_at: str
    updated_at: str
    cluster: str
    work_dir: str
    error_message: str
    results_summary: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., recipe: _Optional[str] = ..., status: _Optional[str] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., cluster: _Optional[str] = ..., work_dir: _Optional[str] = ..., error_message: _Optional[str] = ..., results_summary: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "total")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[QuaccJob]
    total: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[QuaccJob, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("recipe", "structure", "cluster", "params")
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    STRUCTURE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    recipe: str
    structure: _struct_pb2.Value
    cluster: str
    params: _struct_pb2.Struct
    def __init__(self, recipe: _Optional[str] = ..., structure: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., cluster: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job_id", "status", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: SubmitStatus
    error: str
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[_Union[SubmitStatus, str]] = ..., error: _Optional[str] = ...) -> None: ...

class GetJobStatusRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobStatusResponse(_message.Message):
    __slots__ = ("job_id", "status", "error", "result")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: str
    error: str
    result: _struct_pb2.Value
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job_id", "cancelled", "error")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    cancelled: bool
    error: str
    def __init__(self, job_id: _Optional[str] = ..., cancelled: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkflowEngine(_message.Message):
    __slots__ = ("configured", "installed", "quacc_installed")
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_FIELD_NUMBER: _ClassVar[int]
    QUACC_INSTALLED_FIELD_NUMBER: _ClassVar[int]
    configured: str
    installed: _containers.RepeatedScalarFieldContainer[str]
    quacc_installed: bool
    def __init__(self, configured: _Optional[str] = ..., installed: _Optional[_Iterable[str]] = ..., quacc_installed: _Optional[bool] = ...) -> None: ...

class ListClustersResponse(_message.Message):
    __slots__ = ("clusters", "workflow_engine")
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ENGINE_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    workflow_engine: WorkflowEngine
    def __init__(self, clusters: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., workflow_engine: _Optional[_Union[WorkflowEngine, _Mapping]] = ...) -> None: ...

class ListRecipesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRecipesResponse(_message.Message):
    __slots__ = ("recipes", "quacc_version", "error")
    RECIPES_FIELD_NUMBER: _ClassVar[int]
    QUACC_VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    recipes: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    quacc_version: str
    error: str
    def __init__(self, recipes: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., quacc_version: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class FetchJobsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("pk", "uuid", "name", "state", "dft_code", "runner_type", "workflow_id", "progress_percent", "wall_time_seconds", "created_at")
    PK_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DFT_CODE_FIELD_NUMBER: _ClassVar[int]
    RUNNER_TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    pk: int
    uuid: str
    name: str
    state: JobState
    dft_code: DftCode
    runner_type: RunnerType
    workflow_id: str
    progress_percent: float
    wall_time_seconds: float
    created_at: str
    def __init__(self, pk: _Optional[int] = ..., uuid: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., dft_code: _Optional[_Union[DftCode, str]] = ..., runner_type: _Optional[_Union[RunnerType, str]] = ..., workflow_id: _Optional[str] = ..., progress_percent: _Optional[float] = ..., wall_time_seconds: _Optional[float] = ..., created_at: _Optional[str] = ...) -> None: ...

class FetchJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobStatus]
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobStatus, _Mapping]]] = ...) -> None: ...

class FetchJobDetailsRequest(_message.Message):
    __slots__ = ("pk",)
    PK_FIELD_NUMBER: _ClassVar[int]
    pk: int
    def __init__(self, pk: _Optional[int] = ...) -> None: ...

class ApiError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ApiErrorCode
    message: str
    def __init__(self, code: _Optional[_Union[ApiErrorCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

class JobDetails(_message.Message):
    __slots__ = ("pk", "uuid", "name", "state", "dft_code", "final_energy", "bandgap_ev", "convergence_met", "scf_cycles", "cpu_time_seconds", "wall_time_seconds", "warnings", "errors", "stdout_tail", "key_results", "work_dir", "input_file")
    PK_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DFT_CODE_FIELD_NUMBER: _ClassVar[int]
    FINAL_ENERGY_FIELD_NUMBER: _ClassVar[int]
    BANDGAP_EV_FIELD_NUMBER: _ClassVar[int]
    CONVERGENCE_MET_FIELD_NUMBER: _ClassVar[int]
    SCF_CYCLES_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    STDOUT_TAIL_FIELD_NUMBER: _ClassVar[int]
    KEY_RESULTS_FIELD_NUMBER: _ClassVar[int]
    WORK_DIR_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILE_FIELD_NUMBER: _ClassVar[int]
    pk: int
    uuid: str
    name: str
    state: JobState
    dft_code: DftCode
    final_energy: float
    bandgap_ev: float
    convergence_met: bool
    scf_cycles: int
    cpu_time_seconds: float
    wall_time_seconds: float
    warnings: _containers.RepeatedScalarFieldContainer[str]
    errors: _containers.RepeatedScalarFieldContainer[str]
    stdout_tail: _containers.RepeatedScalarFieldContainer[str]
    key_results: _struct_pb2.Struct
    work_dir: str
    input_file: str
    def __init__(self, pk: _Optional[int] = ..., uuid: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., dft_code: _Optional[_Union[DftCode, str]] = ..., final_energy: _Optional[float] = ..., bandgap_ev: _Optional[float] = ..., convergence_met: _Optional[bool] = ..., scf_cycles: _Optional[int] = ..., cpu_time_seconds: _Optional[float] = ..., wall_time_seconds: _Optional[float] = ..., warnings: _Optional[_Iterable[str]] = ..., errors: _Optional[_Iterable[str]] = ..., stdout_tail: _Optional[_Iterable[str]] = ..., key_results: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., work_dir: _Optional[str] = ..., input_file: _Optional[str] = ...) -> None: ...

class FetchJobDetailsResponse(_message.Message):
    __slots__ = ("ok", "data", "error")
    OK_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    data: JobDetails
    error: ApiError
    def __init__(self, ok: _Optional[bool] = ..., data: _Optional[_Union[JobDetails, _Mapping]] = ..., error: _Optional[_Union[ApiError, _Mapping]] = ...) -> None: ...

class FetchClustersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClusterConfig(_message.Message):
    __slots__ = ("id", "name", "cluster_type", "hostname", "port", "username", "key_file", "remote_workdir", "queue_name", "max_concurrent", "cry23_root", "vasp_root", "setup_commands", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_TYPE_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FILE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_WORKDIR_FIELD_NUMBER: _ClassVar[int]
    QUEUE_NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_FIELD_NUMBER: _ClassVar[int]
    CRY23_ROOT_FIELD_NUMBER: _ClassVar[int]
    VASP_ROOT_FIELD_NUMBER: _ClassVar[int]
    SETUP_COMMANDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    cluster_type: str
    hostname: str
    port: int
    username: str
    key_file: str
    remote_workdir: str
    queue_name: str
    max_concurrent: int
    cry23_root: str
    vasp_root: str
    setup_commands: _containers.RepeatedScalarFieldContainer[str]
    status: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., cluster_type: _Optional[str] = ..., hostname: _Optional[str] = ..., port: _Optional[int] = ..., username: _Optional[str] = ..., key_file: _Optional[str] = ..., remote_workdir: _Optional[str] = ..., queue_name: _Optional[str] = ..., max_concurrent: _Optional[int] = ..., cry23_root: _Optional[str] = ..., vasp_root: _Optional[str] = ..., setup_commands: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ...) -> None: ...

class FetchClustersResponse(_message.Message):
    __slots__ = ("ok", "data", "error")
    OK_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    data: _containers.RepeatedCompositeFieldContainer[ClusterConfig]
    error: ApiError
    def __init__(self, ok: _Optional[bool] = ..., data: _Optional[_Iterable[_Union[ClusterConfig, _Mapping]]] = ..., error: _Optional[_Union[ApiError, _Mapping]] = ...) -> None: ...
