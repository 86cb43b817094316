"""The generated fast decode path gives exactly the converter's models and errors."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuyaio import DecodeError, models
from tuyaio._converter import (
    CONSTRUCTION,
    FAMILIES,
    MAINTENANCE,
    _decode_with_converter,
    _fast_for,
    decode,
    wire_name,
)
from tuyaio.envelope import parse_envelope
from tuyaio.models import (
    ConstructionRecord,
    ConstructionRecordDetail,
    CreatedRecord,
    DeviceTypeInfo,
    MaintenanceTask,
    MaintenanceTaskDetail,
    Room,
    RoomDevices,
    construction,
    maintenance,
)
from tuyaio.models.construction import CancelResult, RecordRequest
from tuyaio.models.maintenance import TaskCreation
from tuyaio.sandbox.config import SandboxConfig
from tuyaio.sandbox.state import SandboxState

FIXTURES = Path(__file__).parent / "fixtures"


def model_classes() -> set[type]:
    """Every attrs class the models package and its family modules export, but ``Page``."""
    names = [(models, name) for name in models.__all__]
    names += [(module, name) for module in (construction, maintenance) for name in module.__all__]
    classes = {getattr(module, name) for module, name in names}
    return {cls for cls in classes if inspect.isclass(cls) and attrs.has(cls)} - {models.Page}


def test_every_model_is_declared_in_exactly_one_family() -> None:
    declared = [cls for family in FAMILIES for cls in family.models]
    assert sorted(map(repr, declared)) == sorted(map(repr, set(declared)))
    assert set(declared) == model_classes()
    assert {RecordRequest, TaskCreation} <= set(declared)


def test_wire_names_come_from_the_family_declaration() -> None:
    assert wire_name(Room, "device_count_online") == "deviceCountOnline"
    assert wire_name(ConstructionRecord, "room_names") == "roomName"
    assert wire_name(RecordRequest, "room_ids") == "roomIds"
    assert wire_name(MaintenanceTask, "status") == "maintenance_status"
    assert wire_name(MaintenanceTaskDetail, "rooms") == "room_device_relations"
    assert wire_name(TaskCreation, "worker_id") == "worker_id"
    assert MAINTENANCE.fallbacks == {"status": "construction_status"}
    assert not CONSTRUCTION.fallbacks
    with pytest.raises(TypeError, match="no wire family"):
        wire_name(models.Page, "items")


def result_of(name: str) -> Any:
    body = (FIXTURES / name).read_bytes()
    return parse_envelope(status=200, body=body, method="GET", route="/fixture").result


def sandbox_samples() -> list[tuple[Any, Any]]:
    state = SandboxState.seeded(SandboxConfig(tasks=3, rooms=5, records=3), 1_700_000_000_000)
    lighting = SandboxConfig().lighting_projects[0]
    upkeep = SandboxConfig().maintenance_projects[0]
    records = state.records(lighting)
    tasks = state.tasks(upkeep)
    summary_keys = ("task_id", "worker_username", "worker_nickname", "gmt_create")
    return [
        (tuple[Room, ...], state.rooms(lighting)),
        (tuple[ConstructionRecord, ...], [state.record_summary(r) for r in records]),
        (ConstructionRecordDetail, state.record_detail(records[0])),
        (
            tuple[MaintenanceTask, ...],
            [{"maintenance_status": t["status"], **{k: t[k] for k in summary_keys}} for t in tasks],
        ),
        (
            MaintenanceTaskDetail,
            {
                "construction_status": tasks[0]["status"],
                "room_device_relations": tasks[0]["room_device_relations"],
                **{k: tasks[0][k] for k in summary_keys},
            },
        ),
    ]


SAMPLES: list[tuple[Any, Any]] = [
    (tuple[Room, ...], result_of("construction_list_rooms.json")["list"]),
    (tuple[ConstructionRecord, ...], result_of("construction_list_records.json")["list"]),
    (ConstructionRecordDetail, result_of("construction_get_record.json")),
    (CreatedRecord, result_of("construction_create_record.json")),
    (CancelResult, result_of("construction_cancel_authorization.json")),
    (tuple[MaintenanceTask, ...], result_of("maintenance_list_tasks.json")["tasks"]),
    (MaintenanceTaskDetail, result_of("maintenance_get_task.json")),
    (Room, result_of("construction_list_rooms.json")["list"][0]),
    (DeviceTypeInfo, {"id": 4, "name": "Sensor"}),
    (RoomDevices, {"room_id": 1, "device_ids": ["a", 2]}),
    (Room, {"roomId": 1333361826326470001, "roomType": 9, "taskStatus": "77", "x": {}}),
    (MaintenanceTask, {"task_id": "1", "maintenance_status": None, "construction_status": "X"}),
    *sandbox_samples(),
]


@pytest.mark.parametrize(("type_", "payload"), SAMPLES)
def test_published_and_sandbox_shapes_take_the_fast_path(type_: Any, payload: Any) -> None:
    fast = _fast_for(type_)
    assert fast is not None
    assert outcome(lambda: fast(payload)) == outcome(lambda: converter(payload, type_))


def test_other_types_go_to_the_converter() -> None:
    assert _fast_for(str) is None
    assert _fast_for(tuple[str, ...]) is None
    assert _fast_for(list[Room]) is None


def converter(payload: Any, type_: Any) -> Any:
    return _decode_with_converter(payload, type_, method="GET", route="/fixture")


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a decode gave, in a form that tells apart ``1`` and ``"1"``, known and unknown."""
    try:
        result = call()
    except DecodeError as error:
        return ("DecodeError", error.errors, error.body_excerpt, str(error))
    except Exception as error:  # the same escape from both paths is as good as a DecodeError
        return (type(error).__name__, str(error))
    return ("ok", repr(result), result)


WIRE_KEYS = sorted(
    {
        wire_name(cls, a.name)
        for family in FAMILIES
        for cls in family.models
        for a in attrs.fields(cls)
    }
    | {key for family in FAMILIES for key in family.fallbacks.values()}
)
keys = st.one_of(st.sampled_from(WIRE_KEYS), st.text(max_size=6))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30, -1, 0, 1, 2, 3, 4, 9]),
    st.builds(pow, st.just(10), st.just(5000)),  # too long for str()
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.from_regex(r"\A\s?-{0,2}\d{1,25}\s?\Z"),
    st.sampled_from(["true", "false", "True", "1.5", "²", "", "IN_MAINTENANCE", "ARCHIVED"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(WIRE_KEYS), st.text(max_size=4)), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


def mutate(data: st.DataObject, node: Any) -> Any:
    """``node`` with one value somewhere inside it replaced, removed, added or wrapped."""
    if isinstance(node, dict) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node)))
        node[key] = mutate(data, node[key])
        return node
    if isinstance(node, list) and node and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(node) - 1))
        node[index] = mutate(data, node[index])
        return node
    operation = data.draw(st.sampled_from(["replace", "set", "delete", "wrap", "append"]))
    if operation == "replace":
        return data.draw(json_values)
    if operation == "wrap":
        return [node]
    if isinstance(node, dict) and operation == "set":
        node[data.draw(keys)] = data.draw(json_values)
    elif isinstance(node, dict) and node and operation == "delete":
        del node[data.draw(st.sampled_from(sorted(node)))]
    elif isinstance(node, list) and operation == "append":
        node.append(data.draw(json_values))
    return node


def agree_on_a_mutated_payload(data: st.DataObject) -> None:
    type_, payload = data.draw(st.sampled_from(SAMPLES))
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(0, 3))):
        payload = mutate(data, payload)
    before = copy.deepcopy(payload)
    fast = outcome(lambda: decode(payload, type_, method="GET", route="/fixture"))
    assert payload == before
    assert fast == outcome(lambda: converter(payload, type_))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_and_converter_agree_on_mutated_payloads(data: st.DataObject) -> None:
    agree_on_a_mutated_payload(data)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_and_converter_agree_on_1000_mutated_payloads(data: st.DataObject) -> None:
    agree_on_a_mutated_payload(data)
