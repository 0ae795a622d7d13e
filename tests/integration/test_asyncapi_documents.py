"""The AsyncAPI documents a partner codes against: each service's /asyncapi.json gives every channel's
payload schema and Kafka key, and the AsyncAPI project's own parser accepts all four."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.topics import TopicSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "evidence", "escalation", "notify")
PARSER = ROOT / ".node" / "node_modules" / "@asyncapi" / "parser"
TOPICS = TopicSettings()


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    """Each service's /asyncapi.json as its app serves it (no lifespan: the document needs no broker)."""
    found = {}
    for name in SERVICES:
        app = importlib.import_module(f"services.{name}.main").create_app()
        answer = TestClient(app).get("/asyncapi.json")
        assert answer.status_code == 200, answer.text
        found[name] = answer.json()
    return found


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = doc["components"][section][name]
    return node


def messages_of(doc: dict[str, Any], topic: str) -> list[dict[str, Any]]:
    """The messages of every channel of the document at this address."""
    return [_resolve(doc, ref) for channel in doc["channels"].values() if channel["address"] == topic
            for ref in channel["messages"].values()]


def payload_types(doc: dict[str, Any], message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's payload schemas by title (one, or each of a oneOf), resolved."""
    payload = _resolve(doc, message["payload"])
    return {schema["title"]: schema for schema in (_resolve(doc, p) for p in payload.get("oneOf", [payload]))}


def test_every_channel_of_every_service_has_a_payload_schema_and_a_key_binding(
    documents: dict[str, dict[str, Any]],
) -> None:
    for name, doc in documents.items():
        for key, channel in doc["channels"].items():
            for ref in channel["messages"].values():
                message = _resolve(doc, ref)
                where = f"{name} {key}"
                assert message["payload"] is not None, where
                schemas = payload_types(doc, message)
                assert schemas and all(s.get("properties") for s in schemas.values()), where
                binding = message["bindings"]["kafka"]
                assert binding["key"]["type"] == "string" and binding["key"]["description"], where


def test_the_channels_partners_use_say_what_they_carry_and_how_they_are_keyed(
    documents: dict[str, dict[str, Any]],
) -> None:
    intake, evidence, notify = documents["intake"], documents["evidence"], documents["notify"]

    (command,) = messages_of(intake, TOPICS.intake_commands)
    schema = payload_types(intake, command)["FileComplaint"]
    assert {"platform_reference", "complaint"} <= set(schema["required"])
    assert "platform_reference" in command["bindings"]["kafka"]["key"]["description"]

    (reply,) = messages_of(intake, TOPICS.intake_replies)
    replies = payload_types(intake, _resolve(intake, reply))
    assert set(replies) == {"FilingAcceptedCloudEvent", "FilingRejectedCloudEvent"}
    assert reply["contentType"] == "application/cloudevents+json"
    assert all("specversion" in s["properties"] for s in replies.values())
    assert all("platform" in _resolve(intake, s["properties"]["data"])["required"] for s in replies.values())
    assert "`platform:platform_reference`" in reply["bindings"]["kafka"]["key"]["description"]

    (payment,) = messages_of(evidence, TOPICS.payment_records)
    assert "transaction_id" in payload_types(evidence, payment)["PaymentRecordPublished"]["required"]
    assert "transaction_id" in payment["bindings"]["kafka"]["key"]["description"]

    (status,) = messages_of(notify, TOPICS.public_status)
    assert status["contentType"] == "application/cloudevents+json"
    assert "complaint id" in status["bindings"]["kafka"]["key"]["description"]
    assert all("specversion" in s["properties"] for s in payload_types(notify, status).values())


def test_the_asyncapi_parser_accepts_every_service_s_document(
    documents: dict[str, dict[str, Any]], tmp_path: Path,
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the AsyncAPI parser (npm @asyncapi/parser) runs on Node")
    if not PARSER.is_dir():
        pytest.skip(f"@asyncapi/parser is not installed: npm install --no-save --prefix {ROOT / '.node'} "
                    "@asyncapi/parser@3.6.6")
    files = []
    for name, doc in documents.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        files.append(str(path))
    ran = subprocess.run([node, str(ROOT / "tests" / "support" / "asyncapi_parse.js"), *files],
                         capture_output=True, text=True, timeout=120,
                         env={"NODE_PATH": str(ROOT / ".node" / "node_modules"), "PATH": "/usr/bin:/bin"},
                         check=False)
    assert ran.returncode == 0, ran.stderr
    verdicts = json.loads(ran.stdout)
    assert {Path(f).stem: v for f, v in verdicts.items()} == {
        name: {"parsed": True, "errors": []} for name in SERVICES}
