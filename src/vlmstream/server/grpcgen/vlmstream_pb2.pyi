from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscribeRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("x1", "y1", "x2", "y2", "score", "label", "class_id", "track_id")
    X1_FIELD_NUMBER: _ClassVar[int]
    Y1_FIELD_NUMBER: _ClassVar[int]
    X2_FIELD_NUMBER: _ClassVar[int]
    Y2_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    label: str
    class_id: int
    track_id: int
    def __init__(self, x1: _Optional[float] = ..., y1: _Optional[float] = ..., x2: _Optional[float] = ..., y2: _Optional[float] = ..., score: _Optional[float] = ..., label: _Optional[str] = ..., class_id: _Optional[int] = ..., track_id: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("stream_id", "kind", "state", "start_ts", "end_ts", "data_json")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    START_TS_FIELD_NUMBER: _ClassVar[int]
    END_TS_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    kind: str
    state: str
    start_ts: float
    end_ts: float
    data_json: str
    def __init__(self, stream_id: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[str] = ..., start_ts: _Optional[float] = ..., end_ts: _Optional[float] = ..., data_json: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("stream_id", "seq", "pts", "capture_ts", "arrival_ts", "task", "backend", "width", "height", "label", "score", "scores", "boxes", "text", "events", "degraded", "latency_ms", "json")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PTS_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TS_FIELD_NUMBER: _ClassVar[int]
    ARRIVAL_TS_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    BOXES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    seq: int
    pts: float
    capture_ts: float
    arrival_ts: float
    task: str
    backend: str
    width: int
    height: int
    label: str
    score: float
    scores: _containers.ScalarMap[str, float]
    boxes: _containers.RepeatedCompositeFieldContainer[Box]
    text: str
    events: _containers.RepeatedCompositeFieldContainer[Event]
    degraded: bool
    latency_ms: float
    json: str
    def __init__(self, stream_id: _Optional[str] = ..., seq: _Optional[int] = ..., pts: _Optional[float] = ..., capture_ts: _Optional[float] = ..., arrival_ts: _Optional[float] = ..., task: _Optional[str] = ..., backend: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., label: _Optional[str] = ..., score: _Optional[float] = ..., scores: _Optional[_Mapping[str, float]] = ..., boxes: _Optional[_Iterable[_Union[Box, _Mapping]]] = ..., text: _Optional[str] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., degraded: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., json: _Optional[str] = ...) -> None: ...

class Lagged(_message.Message):
    __slots__ = ("skipped",)
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    skipped: int
    def __init__(self, skipped: _Optional[int] = ...) -> None: ...

class ResultMessage(_message.Message):
    __slots__ = ("result", "lagged")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    LAGGED_FIELD_NUMBER: _ClassVar[int]
    result: Result
    lagged: Lagged
    def __init__(self, result: _Optional[_Union[Result, _Mapping]] = ..., lagged: _Optional[_Union[Lagged, _Mapping]] = ...) -> None: ...

class ListStreamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamInfo(_message.Message):
    __slots__ = ("id", "source", "state", "task", "backend", "target_fps", "fps")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPS_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    id: str
    source: str
    state: str
    task: str
    backend: str
    target_fps: float
    fps: float
    def __init__(self, id: _Optional[str] = ..., source: _Optional[str] = ..., state: _Optional[str] = ..., task: _Optional[str] = ..., backend: _Optional[str] = ..., target_fps: _Optional[float] = ..., fps: _Optional[float] = ...) -> None: ...

class ListStreamsResponse(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[StreamInfo]
    def __init__(self, streams: _Optional[_Iterable[_Union[StreamInfo, _Mapping]]] = ...) -> None: ...
