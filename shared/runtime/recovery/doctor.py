"""`complaints doctor`: is this deployment fit to run? Broker, topics and partitions, each service's
store and indexes, the span store, secrets left at committed defaults, and the store's clock."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import typer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from shared.bus.security import kafka_client_options
from shared.ledger import LEDGER_TTL_INDEX, ProcessedEvent
from shared.outbox import OutboxEntry
from shared.runtime.recovery.clients import REQUEST_TIMEOUT_MS, bootstrap, console
from shared.runtime.recovery.outbox import database_of
from shared.runtime.startup import unknown_variables
from shared.runtime.supervisor import SERVICES
from shared.settings import ServiceSettings
from shared.telemetry import SPANS_COLLECTION, SPANS_TTL_INDEX

#: Clock skew past which timers, SLA clocks and TTLs drift visibly (the store stamps what the services compare).
MAX_SKEW_S = 2.0


@dataclass
class Findings:
    """What the checks found: failures end the command non-zero, warnings do not."""

    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        console.print(f"[green]✓[/] {text}")

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        console.print(f"[yellow]![/] {text}")

    def fail(self, text: str) -> None:
        self.failures.append(text)
        console.print(f"[red]✗[/] {text}")


async def _topics() -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=REQUEST_TIMEOUT_MS,
                                **kafka_client_options())
    try:
        await admin.start()
        names = await admin.list_topics()
        described = await admin.describe_topics(list(names)) if names else []
        return {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
    finally:
        await admin.close()


def check_broker(found: Findings, settings: ServiceSettings) -> None:
    """The broker answers, and every topic of the suite exists; consumed topics' partition counts shown."""
    with console.status(f"asking the broker at {bootstrap()} for its topics…"):
        try:
            existing = asyncio.run(_topics())
        except Exception as exc:  # any failure to reach the broker is the finding itself
            found.fail(f"the Kafka broker at {bootstrap()} does not answer ({type(exc).__name__}: {exc}): check "
                       f"KAFKA_BOOTSTRAP_SERVERS and the KAFKA_SECURITY_PROTOCOL/SASL/SSL settings")
            return
    found.ok(f"Kafka broker at {bootstrap()} answers ({len(existing)} topics)")
    missing = [t for t in settings.topics.all_topics() if t not in existing]
    if missing:
        found.fail(f"{len(missing)} topics missing: {', '.join(missing)}: create them with `complaints topics`")
    counts = {t: existing[t] for t in settings.topics.consumed() if t in existing}
    if counts:
        shown = ", ".join(f"{t} {n}" for t, n in counts.items())
        found.ok(f"partitions (the most instances of a service that share its work): {shown}")
        if len(set(counts.values())) > 1:
            found.warn("consumed topics have different partition counts: a service scales only to the smallest")


def _indexes_missing(db: Any) -> list[str]:
    have = {coll: [list(spec["key"].keys()) for spec in db[coll].index_information().values()]
            for coll in (OutboxEntry._get_collection_name(), ProcessedEvent._get_collection_name())}
    wanted = [(OutboxEntry._get_collection_name(), [f for f, _ in spec["fields"]])
              for spec in OutboxEntry._meta["index_specs"]]
    wanted += [(ProcessedEvent._get_collection_name(), [f for f, _ in spec["fields"]])
               for spec in ProcessedEvent._meta["index_specs"]]
    missing = [f"{coll}({', '.join(fields)})" for coll, fields in wanted if fields not in have[coll]]
    ttl = db[ProcessedEvent._get_collection_name()].index_information()
    if LEDGER_TTL_INDEX not in ttl:
        missing.append(f"{ProcessedEvent._get_collection_name()} TTL {LEDGER_TTL_INDEX}")
    return missing


def check_stores(found: Findings, settings: ServiceSettings) -> None:
    """Each service's database answers and holds its indexes; the span store too; the store's clock."""
    uri = os.environ.get("MONGODB_URI", settings.mongodb_uri)
    where = uri.split("@")[-1]
    with console.status(f"asking the store at {where}…"):
        try:
            client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=5000, tz_aware=True)
            hello = client.admin.command("hello")
        except PyMongoError as exc:
            found.fail(f"the store at {where} does not answer ({type(exc).__name__}): check MONGODB_URI")
            return
    try:
        found.ok(f"store at {where} answers")
        if "localTime" in hello:
            store_time = hello["localTime"]
            store_time = store_time if store_time.tzinfo else store_time.replace(tzinfo=UTC)
            skew = abs((datetime.now(UTC) - store_time).total_seconds())
            text = f"clock skew against the store {skew:.1f}s"
            (found.ok if skew <= MAX_SKEW_S else found.fail)(
                text if skew <= MAX_SKEW_S else f"{text} (over {MAX_SKEW_S:.0f}s): sync this host's clock (NTP)")
        names = set(client.list_database_names())
        for service in SERVICES:
            db = database_of(service)
            if db not in names:
                found.warn(f"{service}: database {db} not there yet: start the service once (it makes its indexes)")
                continue
            missing = _indexes_missing(client[db])
            if missing:
                found.fail(f"{service}: indexes missing in {db}: {', '.join(missing)}: restart the service "
                           f"(it makes them at startup)")
            else:
                found.ok(f"{service}: {db} holds the outbox and ledger indexes (ledger TTL included)")
        if not settings.otel_exporter_otlp_endpoint:
            span_client: MongoClient = MongoClient(settings.span_store_uri, serverSelectionTimeoutMS=5000)
            with span_client:
                spans = span_client[settings.telemetry_db][SPANS_COLLECTION].index_information()
            (found.ok if SPANS_TTL_INDEX in spans else found.warn)(
                f"span store {settings.telemetry_db}: TTL index {SPANS_TTL_INDEX} "
                + ("present" if SPANS_TTL_INDEX in spans else "missing: start a service once"))
    except PyMongoError as exc:
        found.fail(f"the store at {where} failed a check ({type(exc).__name__}: {exc})")
    finally:
        client.close()


def check_secrets(found: Findings, settings: ServiceSettings) -> None:
    """Secrets left at the values committed in the repository; unknown COMPLAINTS_ variables."""
    production = settings.env == "production"
    defaults = list(settings.default_secrets())
    if not os.environ.get("EVIDENCE_CARD_KEY_FERNET_KEYS"):
        defaults.append("EVIDENCE_CARD_KEY_FERNET_KEYS is unset: evidence encrypts card keys with the key committed "
                        "in the repository; set your own keys (Fernet.generate_key())")
    for problem in defaults:
        (found.fail if production else found.warn)(problem)
    if not defaults:
        found.ok("no secret left at a committed default")
    for problem in unknown_variables(ServiceSettings, os.environ):
        found.warn(problem)


def doctor() -> None:
    """Check connectivity, topics and partitions, indexes, secrets and clock skew; exit 1 on any failure."""
    found = Findings()
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            found.fail(f"setting {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
        raise typer.Exit(1) from exc
    console.print(f"checking a {settings.env} deployment")
    check_secrets(found, settings)
    check_broker(found, settings)
    check_stores(found, settings)
    if found.failures:
        console.print(f"[red]{len(found.failures)} problems[/], {len(found.warnings)} warnings")
        raise typer.Exit(1)
    console.print(f"[green]fit to run[/] ({len(found.warnings)} warnings)")
