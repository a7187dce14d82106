from buf.validate import validate_pb2 as _validate_pb2
from protoipc.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SenderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENDER_KIND_UNSPECIFIED: _ClassVar[SenderKind]
    SENDER_KIND_CLIENT: _ClassVar[SenderKind]
    SENDER_KIND_SERVER: _ClassVar[SenderKind]
    SENDER_KIND_ROUTER: _ClassVar[SenderKind]

class Elem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELEM_UNSPECIFIED: _ClassVar[Elem]
    ELEM_HEARTBEAT: _ClassVar[Elem]
    ELEM_STATUS: _ClassVar[Elem]
    ELEM_ERROR: _ClassVar[Elem]
    ELEM_OK: _ClassVar[Elem]
    ELEM_START_SIMULATION: _ClassVar[Elem]
    ELEM_STOP_SIMULATION: _ClassVar[Elem]
    ELEM_PAUSE_SIMULATION: _ClassVar[Elem]
    ELEM_RESUME_SIMULATION: _ClassVar[Elem]
    ELEM_RESET_SIMULATION: _ClassVar[Elem]
    ELEM_SIMULATION_STARTED: _ClassVar[Elem]
    ELEM_SIMULATION_STOPPED: _ClassVar[Elem]
    ELEM_SIMULATION_PAUSED: _ClassVar[Elem]
    ELEM_SIMULATION_RESUMED: _ClassVar[Elem]
    ELEM_SIMULATION_RESET: _ClassVar[Elem]
    ELEM_GET_STATUS: _ClassVar[Elem]
    ELEM_STATUS_UPDATE: _ClassVar[Elem]
    ELEM_GAME_STATE_UPDATE: _ClassVar[Elem]
    ELEM_PERFORMANCE_UPDATE: _ClassVar[Elem]
    ELEM_GET_CONFIG: _ClassVar[Elem]
    ELEM_SET_CONFIG: _ClassVar[Elem]
    ELEM_CONFIG_UPDATE: _ClassVar[Elem]
SENDER_KIND_UNSPECIFIED: SenderKind
SENDER_KIND_CLIENT: SenderKind
SENDER_KIND_SERVER: SenderKind
SENDER_KIND_ROUTER: SenderKind
ELEM_UNSPECIFIED: Elem
ELEM_HEARTBEAT: Elem
ELEM_STATUS: Elem
ELEM_ERROR: Elem
ELEM_OK: Elem
ELEM_START_SIMULATION: Elem
ELEM_STOP_SIMULATION: Elem
ELEM_PAUSE_SIMULATION: Elem
ELEM_RESUME_SIMULATION: Elem
ELEM_RESET_SIMULATION: Elem
ELEM_SIMULATION_STARTED: Elem
ELEM_SIMULATION_STOPPED: Elem
ELEM_SIMULATION_PAUSED: Elem
ELEM_SIMULATION_RESUMED: Elem
ELEM_SIMULATION_RESET: Elem
ELEM_GET_STATUS: Elem
ELEM_STATUS_UPDATE: Elem
ELEM_GAME_STATE_UPDATE: Elem
ELEM_PERFORMANCE_UPDATE: Elem
ELEM_GET_CONFIG: Elem
ELEM_SET_CONFIG: Elem
ELEM_CONFIG_UPDATE: Elem

class Cell(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ...) -> None: ...

class SimulationConfig(_message.Message):
    __slots__ = ("grid_size", "initial_snake_length", "move_budget", "random_seed", "nn_enabled", "max_tree_depth", "food_reward", "collision_penalty", "empty_move_reward")
    GRID_SIZE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_SNAKE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MOVE_BUDGET_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SEED_FIELD_NUMBER: _ClassVar[int]
    NN_ENABLED_FIELD_NUMBER: _ClassVar[int]
    MAX_TREE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    FOOD_REWARD_FIELD_NUMBER: _ClassVar[int]
    COLLISION_PENALTY_FIELD_NUMBER: _ClassVar[int]
    EMPTY_MOVE_REWARD_FIELD_NUMBER: _ClassVar[int]
    grid_size: Cell
    initial_snake_length: int
    move_budget: int
    random_seed: int
    nn_enabled: bool
    max_tree_depth: int
    food_reward: int
    collision_penalty: int
    empty_move_reward: int
    def __init__(self, grid_size: _Optional[_Union[Cell, _Mapping]] = ..., initial_snake_length: _Optional[int] = ..., move_budget: _Optional[int] = ..., random_seed: _Optional[int] = ..., nn_enabled: _Optional[bool] = ..., max_tree_depth: _Optional[int] = ..., food_reward: _Optional[int] = ..., collision_penalty: _Optional[int] = ..., empty_move_reward: _Optional[int] = ...) -> None: ...

class GameState(_message.Message):
    __slots__ = ("snake_head", "snake_body", "direction", "food_position", "score", "grid_size", "moves_count", "is_game_over")
    SNAKE_HEAD_FIELD_NUMBER: _ClassVar[int]
    SNAKE_BODY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FOOD_POSITION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    GRID_SIZE_FIELD_NUMBER: _ClassVar[int]
    MOVES_COUNT_FIELD_NUMBER: _ClassVar[int]
    IS_GAME_OVER_FIELD_NUMBER: _ClassVar[int]
    snake_head: Cell
    snake_body: _containers.RepeatedCompositeFieldContainer[Cell]
    direction: Cell
    food_position: Cell
    score: int
    grid_size: Cell
    moves_count: int
    is_game_over: bool
    def __init__(self, snake_head: _Optional[_Union[Cell, _Mapping]] = ..., snake_body: _Optional[_Iterable[_Union[Cell, _Mapping]]] = ..., direction: _Optional[_Union[Cell, _Mapping]] = ..., food_position: _Optional[_Union[Cell, _Mapping]] = ..., score: _Optional[int] = ..., grid_size: _Optional[_Union[Cell, _Mapping]] = ..., moves_count: _Optional[int] = ..., is_game_over: _Optional[bool] = ...) -> None: ...

class PerformanceMetrics(_message.Message):
    __slots__ = ("decisions_per_second", "budget_utilization", "average_tree_depth", "neural_network_accuracy", "memory_usage_mb", "cpu_usage_percent", "total_decision_cycles", "paths_evaluated_per_cycle")
    DECISIONS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BUDGET_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_TREE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    NEURAL_NETWORK_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_MB_FIELD_NUMBER: _ClassVar[int]
    CPU_USAGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DECISION_CYCLES_FIELD_NUMBER: _ClassVar[int]
    PATHS_EVALUATED_PER_CYCLE_FIELD_NUMBER: _ClassVar[int]
    decisions_per_second: float
    budget_utilization: float
    average_tree_depth: float
    neural_network_accuracy: float
    memory_usage_mb: float
    cpu_usage_percent: float
    total_decision_cycles: int
    paths_evaluated_per_cycle: float
    def __init__(self, decisions_per_second: _Optional[float] = ..., budget_utilization: _Optional[float] = ..., average_tree_depth: _Optional[float] = ..., neural_network_accuracy: _Optional[float] = ..., memory_usage_mb: _Optional[float] = ..., cpu_usage_percent: _Optional[float] = ..., total_decision_cycles: _Optional[int] = ..., paths_evaluated_per_cycle: _Optional[float] = ...) -> None: ...

class StatusUpdate(_message.Message):
    __slots__ = ("simulation_status", "game_state", "performance")
    SIMULATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    GAME_STATE_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    simulation_status: str
    game_state: GameState
    performance: PerformanceMetrics
    def __init__(self, simulation_status: _Optional[str] = ..., game_state: _Optional[_Union[GameState, _Mapping]] = ..., performance: _Optional[_Union[PerformanceMetrics, _Mapping]] = ...) -> None: ...

class DecisionCycleComplete(_message.Message):
    __slots__ = ("cycle_number", "optimal_move", "budget_used", "paths_evaluated", "tree_depth")
    CYCLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    OPTIMAL_MOVE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_USED_FIELD_NUMBER: _ClassVar[int]
    PATHS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    TREE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    cycle_number: int
    optimal_move: str
    budget_used: int
    paths_evaluated: int
    tree_depth: int
    def __init__(self, cycle_number: _Optional[int] = ..., optimal_move: _Optional[str] = ..., budget_used: _Optional[int] = ..., paths_evaluated: _Optional[int] = ..., tree_depth: _Optional[int] = ...) -> None: ...

class GameOver(_message.Message):
    __slots__ = ("final_score", "total_moves", "duration_seconds", "decision_cycles")
    FINAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MOVES_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DECISION_CYCLES_FIELD_NUMBER: _ClassVar[int]
    final_score: int
    total_moves: int
    duration_seconds: float
    decision_cycles: int
    def __init__(self, final_score: _Optional[int] = ..., total_moves: _Optional[int] = ..., duration_seconds: _Optional[float] = ..., decision_cycles: _Optional[int] = ...) -> None: ...

class ErrorOccurred(_message.Message):
    __slots__ = ("error_type", "error_message", "component", "recoverable")
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    RECOVERABLE_FIELD_NUMBER: _ClassVar[int]
    error_type: str
    error_message: str
    component: str
    recoverable: bool
    def __init__(self, error_type: _Optional[str] = ..., error_message: _Optional[str] = ..., component: _Optional[str] = ..., recoverable: _Optional[bool] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("client_id", "status")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    status: str
    def __init__(self, client_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class StartSimulationRequest(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: SimulationConfig
    def __init__(self, config: _Optional[_Union[SimulationConfig, _Mapping]] = ...) -> None: ...

class StartSimulationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopSimulationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopSimulationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseSimulationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseSimulationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeSimulationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResumeSimulationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResetSimulationRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResetSimulationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("simulation_status", "game_state", "performance")
    SIMULATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    GAME_STATE_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    simulation_status: str
    game_state: GameState
    performance: PerformanceMetrics
    def __init__(self, simulation_status: _Optional[str] = ..., game_state: _Optional[_Union[GameState, _Mapping]] = ..., performance: _Optional[_Union[PerformanceMetrics, _Mapping]] = ...) -> None: ...

class GetConfigRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: SimulationConfig
    def __init__(self, config: _Optional[_Union[SimulationConfig, _Mapping]] = ...) -> None: ...

class SetConfigRequest(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: SimulationConfig
    def __init__(self, config: _Optional[_Union[SimulationConfig, _Mapping]] = ...) -> None: ...

class SetConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: SimulationConfig
    def __init__(self, config: _Optional[_Union[SimulationConfig, _Mapping]] = ...) -> None: ...
