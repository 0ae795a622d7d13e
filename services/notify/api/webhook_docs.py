"""The OpenAPI `webhooks` of notify's document: each event a partner's endpoint receives, its
CloudEvents body and the Standard Webhooks headers it is signed with."""

from __future__ import annotations

from typing import Any

try:  # the public event vocabulary (org.complaints-suite.<noun>.<verb>.v1) with its data schemas
    from shared.contracts import public
except ImportError:  # pragma: no cover - before the vocabulary exists
    public = None  # type: ignore[assignment]

#: The internal names notify sends when no public vocabulary is there.
_FALLBACK_TYPES = ["ComplaintFiled", "ComplaintStatusChanged", "CaseAssigned", "EvidenceRequested",
                   "ResolutionProposed", "ComplaintEscalated", "AccountFreezeRequested", "SlaWarning",
                   "SlaBreached"]

_ID_TEXT = ("The delivery's id: the same on every retry and redelivery, so a copy can be dropped "
            "(Standard Webhooks).")
_TIMESTAMP_TEXT = ("Seconds since the epoch when the delivery was signed; refuse ones far from your clock "
                   "(replays).")
_SIGNATURE_TEXT = ("Space-separated `v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` "
                   "with each active secret of the subscription (two during a rotation).")
_HEADERS = {
    "webhook-id": (_ID_TEXT, {"type": "string", "maxLength": 128}),
    "webhook-timestamp": (_TIMESTAMP_TEXT, {"type": "string", "pattern": "^[0-9]{1,12}$"}),
    "webhook-signature": (_SIGNATURE_TEXT,
                          {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"}),
}


def _parameters() -> list[dict[str, Any]]:
    return [{"name": name, "in": "header", "required": True, "description": text, "schema": schema}
            for name, (text, schema) in _HEADERS.items()]


def _envelope(event_type: str | list[str], data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode body whose `data` has the given schema."""
    type_schema: dict[str, Any] = ({"type": "string", "const": event_type} if isinstance(event_type, str)
                                   else {"type": "string", "enum": event_type})
    return {
        "type": "object", "required": ["specversion", "id", "source", "type", "time", "subject", "data"],
        "properties": {
            "specversion": {"type": "string", "const": "1.0"},
            "id": {"type": "string", "description": "The event's id: equal to webhook-id."},
            "source": {"type": "string", "format": "uri-reference"},
            "type": type_schema,
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "The complaint id."},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "dataschema": {"type": "string", "format": "uri",
                           "description": "Where the JSON Schema of `data` is served."},
            "data": data,
        },
    }


def _component_name(event_type: str) -> str:
    return event_type.replace("org.complaints-suite.", "").replace(".", "_")


def webhooks_and_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The `webhooks` section and the component schemas it references."""
    components: dict[str, Any] = {}
    webhooks: dict[str, Any] = {}
    if public is not None:
        types = list(public.WEBHOOK_TYPES)  # what webhooks carry: not the replies topic's types
        for event_type in types:
            data = {k: v for k, v in public.schema_of(event_type).items() if k not in ("$schema", "$id")}
            data["description"] = f"{data.get('description', '')} Served at {public.schema_url(event_type)}."
            components[_component_name(event_type)] = _envelope(event_type, data)
    else:
        types = list(_FALLBACK_TYPES)
        generic = _envelope(types, {"type": "object", "description": "The event's facts (no personal data)."})
        for event_type in types:
            components[_component_name(event_type)] = generic
    for event_type in types:
        name = _component_name(event_type)
        title = public.titles(event_type) if public is not None else {"en": event_type, "zh-CN": event_type}
        webhooks[event_type] = {"post": {
            "summary": f"{title['en']} ({title['zh-CN']})",
            "description": f"POSTed to each active subscription of the complaint's platform that takes "
                           f"`{event_type}`. Answer 2xx within the timeout; anything else is retried with "
                           f"backoff under the same webhook-id. Verify the signature with any Standard "
                           f"Webhooks library before trusting the body.",
            "operationId": f"webhook_{name}",
            "tags": ["webhooks"],
            "parameters": _parameters(),
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}},
            "responses": {"200": {"description": "Received (any 2xx); other answers are retried"}},
        }}
    return webhooks, components
