"""Replays the golden vectors of the TypeScript differential test (test/validate-differential
.test.ts: messages checked against @bufbuild/protovalidate) through the generated Python
validators of proto/validatetest: the same violations (field path, rule id, rule path), in Python."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from protoipc.validate import field_path_to_string

_REPO = Path(__file__).resolve().parents[2]
_VECTORS = _REPO / "test" / "gen" / "validate-vectors.json"


@pytest.fixture(scope="module")
def rules() -> Any:
    sys.path.insert(0, str(_REPO / "test" / "gen" / "python"))
    try:
        return importlib.import_module("validatetest.v1.rules_ipc")
    finally:
        sys.path.pop(0)


def _vectors() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(_VECTORS.read_text())
    return data


def test_the_vectors_hold_valid_and_invalid_messages() -> None:
    vectors = _vectors()
    assert any(not v["violations"] for v in vectors)
    assert any(v["violations"] for v in vectors)


@pytest.mark.parametrize("index", range(len(_vectors())))
def test_python_validators_report_what_protovalidate_reports(rules: Any, index: int) -> None:
    vector = _vectors()[index]
    method = rules.RULES_SERVICE_CHECK
    message = method.input.FromString(base64.b64decode(vector["message"]))
    got = sorted(
        [field_path_to_string(v.field), v.rule_id, field_path_to_string(v.rule)]
        for v in method.validate_input(message)
    )
    assert got == sorted(vector["violations"])
