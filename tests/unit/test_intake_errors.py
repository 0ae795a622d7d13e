"""Error entries: field paths a client can use, short rule names, no echoed personal data."""

import pytest
from pydantic import ValidationError

from services.intake.domain.errors import validation_errors
from services.intake.domain.schemas import Contact, NewStatement

pytestmark = pytest.mark.unit


def test_entry_shape():
    with pytest.raises(ValidationError) as caught:
        NewStatement.model_validate({"text": ""})
    assert validation_errors(exc=caught.value) == [{
        "field": "text", "rule": "min_length",
        "message_en": "String should have at least 1 character", "message_zh": "长度不能少于 1",
    }]


def test_request_part_prefix_and_list_indexes_are_rendered_for_clients():
    raw = [
        {"type": "missing", "loc": ("body", "order", "amount"), "msg": "Field required"},
        {"type": "enum", "loc": ("query", "status"), "msg": "bad", "ctx": {"expected": "'open'"}},
        {"type": "string_type", "loc": ("body", "items", 2, "name"), "msg": "Input should be a valid string"},
    ]
    entries = validation_errors(exc=raw)
    assert [e["field"] for e in entries] == ["order.amount", "status", "items[2].name"]
    assert entries[1]["message_zh"] == "取值无效，可选：'open'"


def test_input_values_are_not_echoed():
    with pytest.raises(ValidationError) as caught:
        Contact.model_validate({"phone": "13812345678 ext", "email": "13812345678"})
    dumped = repr(validation_errors(exc=caught.value))
    assert "13812345678" not in dumped
