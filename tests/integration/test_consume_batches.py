"""A consumer's poll applied together on the real store: one commit for many messages, each applied
once and in order per complaint, a repeat among them undoing the batch and found on its own."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import store
from shared.bus import Consumer
from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged, SlaWarning
from shared.envelope import Message
from shared.ledger import ProcessedEvent, apply_once
from shared.outbox import OutboxEntry, emit
from shared.settings import ServiceSettings
from shared.store import UnitOfWork
from tests.support.outbox import outbox_records
from tests.support.samples import status_change
from tests.support.servers import Servers, own_database
from tests.support.store_commands import COMMANDS

pytestmark = pytest.mark.integration


@pytest.fixture
def intake_steps(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Intake's step handlers with nothing heard yet: the ids here repeat from test to test."""
    from services.intake.repository import steps

    monkeypatch.setattr(steps, "_HEARD", steps._Heard(100))


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_batches", OutboxEntry, ProcessedEvent):
        yield


def consumer(settings: ServiceSettings, tracer_provider: TracerProvider | None = None) -> Consumer:
    """A consumer whose handler moves a case document and emits the change, as the services do."""

    def work(tx: UnitOfWork, event: ComplaintStatusChanged) -> None:
        tx.db["cases"].update_one({"_id": event.complaint_id},
                                  {"$push": {"states": event.to_state}, "$inc": {"applied": 1}},
                                  upsert=True, session=tx.session)
        emit(tx, topic="out", messages=[SlaWarning(complaint_id=event.complaint_id, ticket=event.ticket,
                                                   clock="first_response",
                                                   due_at=event.occurred_at)])

    async def handle(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        await asyncio.to_thread(apply_once, uow, consumer="test", event=event, work=lambda tx: work(tx, event))

    repeats: list[str] = []

    async def on_repeat(event: Message) -> None:
        repeats.append(event.event_id)

    made = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=settings, topic="in",
                    handlers={ComplaintStatusChanged: handle}, ready=lambda: True, on_repeat=on_repeat,
                    tracer=tracer_provider.get_tracer("test") if tracer_provider else None)
    made.repeats = repeats  # type: ignore[attr-defined]
    return made


def records(events: list[ComplaintStatusChanged], headers: dict[str, str] | None = None) -> list:
    return [(e.encode(), headers or {}, None) for e in events]


def test_a_poll_is_applied_in_one_commit_per_round_and_each_complaint_keeps_its_order(db: None) -> None:
    # 20 complaints, five of which get a second and a third change in the same poll.
    events = [status_change(i, "acknowledged") for i in range(20)]
    events += [status_change(i, "in_progress") for i in range(5)]
    events += [status_change(i, "resolved") for i in range(5)]
    events.sort(key=lambda e: int(e.complaint_id[2:]))  # each complaint's changes adjacent, in order
    reader = consumer(ServiceSettings())

    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records(events)))

    cases = {d["_id"]: d for d in store.database()["cases"].find()}
    assert len(cases) == 20
    assert all(cases[f"c-{i}"]["states"] == ["acknowledged", "in_progress", "resolved"] for i in range(5))
    assert all(cases[f"c-{i}"]["states"] == ["acknowledged"] for i in range(5, 20))
    assert reader.processed == len(events) == 30
    # Three rounds (no complaint twice in one): three commits, three ledger and outbox inserts, an entry
    # per round holding its records.
    assert reader.stats()["shared_transactions"] == 3 and reader.undone == 0
    assert COMMANDS.seen[("commitTransaction", "")] == 3
    assert COMMANDS.seen[("insert", "processed_events")] == 3
    assert COMMANDS.seen[("insert", "outbox")] == 3
    assert OutboxEntry.objects.count() == 3
    assert ProcessedEvent.objects.count() == len(outbox_records()) == 30


def test_a_repeat_in_a_poll_undoes_it_and_every_message_is_applied_once_on_its_own(db: None) -> None:
    first = [status_change(i, "acknowledged") for i in range(3)]
    reader = consumer(ServiceSettings())
    asyncio.run(reader.dispatch_batch(records(first)))
    # A redelivery of complaint 1's change arrives among new ones.
    again = [status_change(i, "acknowledged") for i in range(3, 8)]
    poll = [*again[:2], first[1], *again[2:]]
    asyncio.run(reader.dispatch_batch(records(poll)))

    cases = {d["_id"]: d for d in store.database()["cases"].find()}
    assert {k: v["applied"] for k, v in cases.items()} == {f"c-{i}": 1 for i in range(8)}
    assert reader.repeats == [first[1].event_id]  # type: ignore[attr-defined]
    assert reader.undone == 1
    assert reader.processed == 8
    assert len(outbox_records()) == 8


def test_each_message_in_a_poll_keeps_the_trace_of_whoever_published_it(db: None) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("publisher")
    polled = []
    trace_ids = []
    for i in range(4):
        with tracer.start_as_current_span("publish") as span:
            ctx = span.get_span_context()
            trace_ids.append(f"{ctx.trace_id:032x}")
            headers = {"traceparent": f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"}
        polled += records([status_change(i, "acknowledged")], headers)
    reader = consumer(ServiceSettings(), provider)
    asyncio.run(reader.dispatch_batch(polled))

    assert reader.stats()["shared_transactions"] == 1
    emitted = {r.key: r.headers["traceparent"].split("-")[1] for r in outbox_records()}
    assert emitted == {f"c-{i}": trace_ids[i] for i in range(4)}
    processed = [s for s in exporter.get_finished_spans() if s.name == "in process"]
    assert sorted(f"{s.context.trace_id:032x}" for s in processed) == sorted(trace_ids)


def test_intake_folds_a_poll_of_steps_into_timelines_in_one_bulk_write_per_round(intake_steps: None) -> None:
    from services.intake.handlers import on_status_changed

    complaints, steps = store.database()["complaints"], store.database()["complaint_steps"]
    waits = store.database()["complaint_waits"]
    complaints.insert_many([{"_id": f"c-{i}", "status": "withdrawn" if i == 5 else "filed", "status_at": None,
                             "timeline": []} for i in range(6)])
    waits.insert_many([{"_id": f"c-{i}:{actor}", "complaint_id": f"c-{i}", "actor": actor}
                       for i in range(6) for actor in ("escalation", "notify")])
    later = datetime.now(UTC) + timedelta(hours=1)
    complaints.insert_many([{"_id": "c-6", "status": "in_progress", "status_at": later, "timeline": []},
                            {"_id": "c-7", "status": "filed", "timeline": []}])  # a newer status; none yet
    poll = [status_change(i, "acknowledged") for i in range(8)] + [status_change(0, "in_progress")]
    # As intake subscribes: without a transaction, every write of a step may repeat.
    reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                      handlers={ComplaintStatusChanged: on_status_changed}, ready=lambda: True, atomic=False)

    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records(poll)))
        asyncio.run(reader.dispatch_batch(records(poll)))  # redelivered: nothing changes

    recorded: dict[str, list[str]] = {}
    for step in steps.find().sort("at", 1):
        recorded.setdefault(step["complaint_id"], []).append(step["step"])
    shown = {d["_id"]: (d["status"], recorded.get(d["_id"])) for d in complaints.find()}
    assert shown["c-0"] == ("in_progress", ["status_acknowledged", "status_in_progress"])
    assert all(shown[f"c-{i}"] == ("acknowledged", ["status_acknowledged"]) for i in range(1, 5))
    assert shown["c-5"] == ("withdrawn", ["status_acknowledged"])  # recorded, status kept
    assert shown["c-6"] == ("in_progress", ["status_acknowledged"])  # older than the one shown
    assert shown["c-7"] == ("acknowledged", ["status_acknowledged"])
    # Escalation has acted on them: the reconciler no longer waits for it, still for notify.
    assert sorted(d["_id"] for d in waits.find()) == [f"c-{i}:notify" for i in range(6)]
    # Per poll: the eight complaints' first steps together (one insert to the steps and one delete of
    # the waits without a transaction, the complaints' writes in one short transaction: one commit
    # where each statement outside one commits alone), then c-0's second step alone (an upsert and a
    # write).
    assert reader.stats()["shared_transactions"] == 2 and reader.undone == 0
    assert COMMANDS.seen[("commitTransaction", "")] == 2  # one a poll, the second for the redelivery
    # The status a step brings is committed before the step is written: a reader who sees the step
    # on the timeline sees its status too.
    first_poll = COMMANDS.order[:COMMANDS.order.index(("commitTransaction", "")) + 1]
    assert ("update", "complaints") in first_poll and ("insert", "complaint_steps") not in first_poll
    assert COMMANDS.seen[("insert", "complaint_steps")] == COMMANDS.seen[("update", "complaint_steps")] == 2
    assert COMMANDS.seen[("update", "complaints")] == 2 + 2
    assert COMMANDS.statements[("update", "complaints")] == (8 + 1) + (8 + 1)  # a status write per step
    # Each complaint's wait for escalation ended once, by the first poll (the redelivered one knows),
    # all eight in one statement: outside a transaction the store commits each statement on its own.
    assert COMMANDS.seen[("delete", "complaint_waits")] == 1
    assert COMMANDS.statements[("delete", "complaint_waits")] == 1


def test_a_finished_complaint_frees_its_slot_in_a_transaction_of_its_own_amid_a_poll_without_one(
        intake_steps: None) -> None:
    from services.intake.handlers import on_status_changed

    database = store.database()
    database["complaints"].insert_many([{"_id": f"c-{i}", "status": "in_review", "status_at": None,
                                         "timeline": []} for i in range(3)])
    database["open_complaints"].insert_one({"_id": "digest-1", "complaint_id": "c-1", "ticket": "CP-1"})
    poll = [status_change(0, "awaiting_merchant"), status_change(1, "closed"), status_change(2, "in_review")]
    reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                      handlers={ComplaintStatusChanged: on_status_changed}, ready=lambda: True, atomic=False)

    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records(poll)))

    assert {d["_id"]: d["status"] for d in database["complaints"].find()} == \
        {"c-0": "awaiting_merchant", "c-1": "closed", "c-2": "in_review"}
    assert database["open_complaints"].count_documents({}) == 0  # a new filing for that order may open
    assert database["complaint_steps"].count_documents({}) == 3
    # The closing one's, alone; then the other two complaints' status writes, together.
    assert COMMANDS.seen[("commitTransaction", "")] == 2
    assert COMMANDS.statements[("update", "complaints")] == 1 + 2


def test_escalation_ends_its_wait_with_its_status_change_even_when_the_status_does_not_move(
        intake_steps: None) -> None:
    from services.intake.handlers import on_case_opened, on_status_changed

    complaints, waits = store.database()["complaints"], store.database()["complaint_waits"]
    complaints.insert_many([{"_id": "c-0", "status": "withdrawn", "status_at": None, "timeline": []},
                            {"_id": "c-1", "status": "filed", "status_at": None, "timeline": []}])
    waits.insert_many([{"_id": f"c-{i}:escalation", "complaint_id": f"c-{i}", "actor": "escalation"}
                       for i in range(2)])
    opened = [CaseOpened(complaint_id=f"c-{i}", ticket=f"CP-20261123-{i:06d}", tier="internal",
                         state="acknowledged") for i in range(2)]
    reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in", ready=lambda: True,
                      handlers={CaseOpened: on_case_opened, ComplaintStatusChanged: on_status_changed}, atomic=False)

    asyncio.run(reader.dispatch_batch(records(opened)))
    # The opening's step alone leaves the complaint as it is: its status change, sent with it, moves it.
    assert waits.count_documents({}) == 2
    asyncio.run(reader.dispatch_batch(records([status_change(0, "acknowledged"), status_change(1, "acknowledged")])))

    shown = {d["_id"]: (d["status"], d.get("tier")) for d in complaints.find()}
    assert shown == {"c-0": ("withdrawn", None), "c-1": ("acknowledged", "internal")}
    assert waits.count_documents({}) == 0


def contested_cases(count: int, *,
                    interferes: Callable[[ComplaintStatusChanged, UnitOfWork], bool]) -> tuple[Consumer, list[str]]:
    """A consumer moving `count` case documents; when `interferes(event)`, another writer changes
    that case after the handler's transaction began (another topic's poll, say). Returns the
    consumer and the ids written under it, one per interference."""
    cases = store.database()["cases"]
    cases.insert_many([{"_id": f"c-{i}", "states": []} for i in range(count)])
    interfered: list[str] = []

    def work(tx: UnitOfWork, event: ComplaintStatusChanged) -> None:
        if interferes(event, tx):
            cases.update_one({"_id": event.complaint_id}, {"$inc": {"touched": 1}})
            interfered.append(event.complaint_id)
        tx.db["cases"].update_one({"_id": event.complaint_id}, {"$push": {"states": event.to_state}},
                                  session=tx.session)

    async def handle(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        await asyncio.to_thread(apply_once, uow, consumer="test", event=event, work=lambda tx: work(tx, event))

    reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                      handlers={ComplaintStatusChanged: handle}, ready=lambda: True)
    return reader, interfered


def moved_cases() -> dict[str, list[str]]:
    return {d["_id"]: d["states"] for d in store.database()["cases"].find()}


def test_a_poll_that_loses_a_write_conflict_is_applied_together_again_not_one_by_one(db: None) -> None:
    first_time = iter([True])  # c-2 is touched by another writer once, while its poll is applied
    reader, interfered = contested_cases(
        4, interferes=lambda e, _tx: e.complaint_id == "c-2" and next(first_time, False))
    asyncio.run(reader.dispatch_batch(records([status_change(i, "acknowledged") for i in range(4)])))

    assert interfered == ["c-2"]
    assert moved_cases() == {f"c-{i}": ["acknowledged"] for i in range(4)}
    stats = reader.stats()
    assert (stats["shared_transactions_retried"], stats["shared_transactions"],
            stats["shared_transactions_undone"]) == (1, 1, 0)
    assert ProcessedEvent.objects.count() == 4


def test_a_poll_that_keeps_losing_write_conflicts_is_applied_in_halves_not_one_by_one(db: None) -> None:
    # c-5 is touched by another writer whenever it is applied with others, every time.
    reader, interfered = contested_cases(
        8, interferes=lambda e, tx: e.complaint_id == "c-5" and tx.grouped)
    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records([status_change(i, "acknowledged") for i in range(8)])))

    assert moved_cases() == {f"c-{i}": ["acknowledged"] for i in range(8)}
    assert ProcessedEvent.objects.count() == 8
    # All 8 lost three times, then 0-3 and 4-7; 4-7 lost three times, then 4-5 and 6-7; 4-5 lost
    # three times, then 4 and 5 alone: two shared commits (0-3, 6-7), c-4 and c-5 each on its own.
    stats = reader.stats()
    assert (stats["shared_transactions"], stats["shared_transactions_split"], stats["shared_transactions_undone"]) \
        == (2, 3, 0)
    assert COMMANDS.seen[("commitTransaction", "")] == 2 + 2  # the two shared ones, c-4 and c-5 alone
    assert len(interfered) == 3 * 3



@pytest.fixture
def notify_db(servers: Servers, namespace: str) -> Iterator[None]:
    from services.notify.main import DOCUMENTS

    with own_database(servers, f"{namespace}_notify_batches", *DOCUMENTS):
        yield


def notify_reader(*types: type[Message]) -> Consumer:
    """A consumer applying events as notify does, reading ahead for each shared transaction."""
    from services.notify.config import NotifySettings
    from services.notify.service import events
    from services.notify.service.subscriptions import LiveEndpoints

    settings = NotifySettings()
    endpoints = LiveEndpoints()

    async def on_event(event: Message, uow: UnitOfWork) -> None:
        await asyncio.to_thread(events.handle_event, uow, event=event, settings=settings, endpoints=endpoints)

    return Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=settings, topic="in",
                    handlers=dict.fromkeys(types, on_event), ready=lambda: True,
                    prepare=functools.partial(events.read_ahead, consumer=settings.service_name))


def english_profile(platform: str, merchant: str) -> None:
    from services.notify.models import RecipientProfile

    RecipientProfile(id=f"{platform}:merchant:{merchant}", platform=platform, role="merchant", recipient_id=merchant,
                     language="en", time_zone="Asia/Shanghai", updated_at=datetime.now(UTC)).save()


def in_app_languages() -> dict[tuple[str, str], str]:
    from services.notify.models import Notification

    return {(n.complaint_id, n.recipient_role): n.language for n in Notification.objects(channel="in_app")}


def test_notify_reads_a_polls_recipients_and_profiles_in_one_query_each(notify_db: None) -> None:
    from services.notify.models import ComplaintRecipients, ParkedEvent

    for i in range(5):
        ComplaintRecipients(id=f"c-{i}", ticket=f"CP-20261123-{i:06d}", platform="kami", complainant_id=f"u-{i}",
                            language="zh-CN", merchant_id=f"m-{i}", created_at=datetime.now(UTC)).save()
    english_profile("kami", "m-1")  # the other merchants have no profile and read Chinese
    reader = notify_reader(ComplaintStatusChanged)
    poll = [status_change(i, "in_progress") for i in range(6)]  # c-5: its filing is still on the way
    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records(poll)))

    assert reader.stats()["shared_transactions"] == 1 and reader.undone == 0
    assert in_app_languages() == {**{(f"c-{i}", "complainant"): "zh-CN" for i in range(5)},
                                  **{(f"c-{i}", "merchant"): "en" if i == 1 else "zh-CN" for i in range(5)}}
    assert [p.complaint_id for p in ParkedEvent.objects] == ["c-5"]
    # One read of the six records and one of the profiles of the five known ones, for the whole poll.
    assert COMMANDS.seen[("find", "complaint_recipients")] == 1
    assert COMMANDS.seen[("find", "recipient_profiles")] == 1


def test_notify_reads_a_poll_of_filings_records_and_profiles_in_one_query_each(notify_db: None) -> None:
    from services.notify.models import Notification, ParkedEvent
    from shared.contracts.complaints import ComplaintFiled
    from tests.support.notify_harness import complaint_filed

    filings = [complaint_filed(merchant=f"m-{i}") for i in range(4)]
    english_profile(filings[0].platform, "m-2")
    # The last complaint's status change came before its filing and waits for it.
    early = ComplaintStatusChanged(complaint_id=filings[3].complaint_id, ticket=filings[3].ticket,
                                   from_state="filed", to_state="in_progress", tier="internal")
    asyncio.run(notify_reader(ComplaintStatusChanged).dispatch_batch(records([early])))
    assert [p.complaint_id for p in ParkedEvent.objects] == [filings[3].complaint_id]
    reader = notify_reader(ComplaintFiled)
    with COMMANDS.counting():
        asyncio.run(reader.dispatch_batch(records(filings)))

    assert reader.stats()["shared_transactions"] == 1 and reader.undone == 0
    assert {k: v for k, v in in_app_languages().items() if k[1] == "merchant"} == {
        (f.complaint_id, "merchant"): "en" if i == 2 else "zh-CN" for i, f in enumerate(filings)}
    # The waiting change went out once its filing arrived.
    assert not ParkedEvent.objects
    assert Notification.objects(event_id=early.event_id, channel="in_app").count() == 2
    # The four records (whether events wait for them) and the profiles in one query each; no
    # findAndModify, which reads the whole collection on the embedded store.
    assert COMMANDS.seen[("find", "complaint_recipients")] == 1
    assert COMMANDS.seen[("find", "recipient_profiles")] == 1
    assert COMMANDS.seen[("findAndModify", "complaint_recipients")] == 0
    # What waited is read once for the poll, and the poll's writes go in one request per collection.
    assert COMMANDS.seen[("find", "parked_events")] == 1
    assert COMMANDS.seen[("update", "complaint_recipients")] == 1
    assert COMMANDS.seen[("insert", "notifications")] == 1


def filings_reader(on_filed, prepare) -> Consumer:
    """A consumer applying filings as a service does, with the service's read-ahead."""
    from shared.contracts.complaints import ComplaintFiled

    async def on_event(event: Message, uow: UnitOfWork) -> None:
        await asyncio.to_thread(on_filed, event, uow)

    return Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                    handlers={ComplaintFiled: on_event}, ready=lambda: True, prepare=prepare)


def test_evidence_reads_a_polls_closing_marks_in_one_query_and_writes_its_files_together(
        servers: Servers, namespace: str) -> None:
    from services.evidence.models import ComplaintClosure, EvidenceFile
    from services.evidence.service import files
    from tests.support.notify_harness import complaint_filed

    with own_database(servers, f"{namespace}_evidence_batches", EvidenceFile, ComplaintClosure, ProcessedEvent,
                      OutboxEntry):
        filings = [complaint_filed(merchant=f"m-{i}") for i in range(4)]
        # The withdrawal of the last one overtook its filing (another topic).
        ComplaintClosure(id=filings[3].complaint_id, status="withdrawn", at=datetime.now(UTC)).save()
        reader = filings_reader(lambda e, uow: files.open_file(uow, event=e, topic="out", consumer="evidence"),
                                files.read_ahead)
        with COMMANDS.counting():
            asyncio.run(reader.dispatch_batch(records(filings)))

        assert reader.stats()["shared_transactions"] == 1 and reader.undone == 0
        assert {f.id: f.status for f in EvidenceFile.objects} == {
            f.complaint_id: "withdrawn" if i == 3 else "open" for i, f in enumerate(filings)}
        assert ComplaintClosure.objects(file_opened_at__exists=True).count() == 4
        # One read of the four marks, one write of them and one insert of the files, for the poll.
        assert COMMANDS.seen[("find", "complaint_closures")] == 1
        assert COMMANDS.seen[("update", "complaint_closures")] == 1
        assert COMMANDS.seen[("insert", "evidence_files")] == 1


def test_escalation_reads_a_shops_history_the_parked_facts_and_the_timer_floor_once_per_poll(
        servers: Servers, namespace: str) -> None:
    import functools

    from services.escalation.config import EscalationSettings
    from services.escalation.models import Case, ParkedFact, Timer
    from services.escalation.repository import cases
    from services.escalation.service import opening
    from services.escalation.service.rules import load_rules
    from tests.support.notify_harness import complaint_filed

    rules = load_rules(settings=EscalationSettings())
    with own_database(servers, f"{namespace}_escalation_batches", Case, Timer, ParkedFact, ProcessedEvent,
                      OutboxEntry):
        # Four complaints against one busy shop and one against another.
        filings = [complaint_filed(merchant="m-busy") for _ in range(4)] + [complaint_filed(merchant="m-quiet")]
        # Evidence assessed the second one before intake's filing arrived.
        assessment = {"missing": ["order_record"], "score": 40, "flags": [], "findings": []}
        UnitOfWork.standalone().transaction(lambda tx: cases.park_fact(
            tx, complaint_id=filings[1].complaint_id, kind="evidence_assessment", data=assessment,
            at=datetime.now(UTC)))
        reader = filings_reader(lambda e, uow: opening.open_case(uow, event=e, rules=rules, topic="out",
                                                                 consumer="escalation"),
                                functools.partial(opening.read_ahead, rules=rules))
        with COMMANDS.counting():
            asyncio.run(reader.dispatch_batch(records(filings)))

        assert reader.stats()["shared_transactions"] == 1 and reader.undone == 0
        assert sorted(c.id for c in Case.objects) == sorted(f.complaint_id for f in filings)
        assert {t.complaint_id for t in Timer.objects} == {f.complaint_id for f in filings}
        # Each shop's history once, the floor under the timers once, for the poll.
        assert COMMANDS.seen[("find", "cases")] == 2
        assert COMMANDS.seen[("find", "timer_floor")] == 1
        # The parked facts once for the five filings; the one waiting went to its case and is gone.
        assert COMMANDS.seen[("find", "parked_facts")] == 1
        assert Case.objects.get(id=filings[1].complaint_id).evidence_assessment["missing"] == ["order_record"]
        assert not Case.objects.get(id=filings[0].complaint_id).evidence_assessment
        assert ParkedFact.objects.count() == 0


def test_escalation_reads_the_cases_a_poll_of_evidence_events_names_in_one_query(
        servers: Servers, namespace: str) -> None:
    import functools

    from services.escalation.config import EscalationSettings
    from services.escalation.models import Case, ParkedFact, Timer
    from services.escalation.service import opening, outcomes
    from services.escalation.service.rules import load_rules
    from shared.contracts.evidence import EvidenceFileOpened
    from tests.support.notify_harness import complaint_filed

    rules = load_rules(settings=EscalationSettings())
    with own_database(servers, f"{namespace}_escalation_evidence", Case, Timer, ParkedFact, ProcessedEvent,
                      OutboxEntry):
        filings = [complaint_filed(merchant="m-busy") for _ in range(4)]
        opener = filings_reader(lambda e, uow: opening.open_case(uow, event=e, rules=rules, topic="out",
                                                                 consumer="escalation"),
                                functools.partial(opening.read_ahead, rules=rules))
        asyncio.run(opener.dispatch_batch(records(filings[:3])))  # the fourth one's filing is still on its way

        async def on_opened(event: EvidenceFileOpened, uow: UnitOfWork) -> None:
            await asyncio.to_thread(outcomes.record_opening, uow, event=event, consumer="escalation")

        reader = Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic="in",
                          handlers={EvidenceFileOpened: on_opened}, ready=lambda: True, prepare=outcomes.read_ahead)
        opened = [EvidenceFileOpened(complaint_id=f.complaint_id, ticket=f.ticket, required_kinds=["order_record"],
                                     missing=["order_record"]) for f in filings]
        with COMMANDS.counting():
            asyncio.run(reader.dispatch_batch(records(opened)))

        assert reader.stats()["shared_transactions"] == 1 and reader.undone == 0
        # Each open case gates its offers on the file's first assessment; the fourth waits for its case.
        assert {c.id: c.evidence_assessment["missing"] for c in Case.objects} == {
            f.complaint_id: ["order_record"] for f in filings[:3]}
        assert [p.complaint_id for p in ParkedFact.objects] == [filings[3].complaint_id]
        assert COMMANDS.seen[("find", "cases")] == 1  # the four cases read in one query


def test_two_consumers_of_a_service_take_turns_on_a_complaint_instead_of_failing_each_other(db: None) -> None:
    """Topic a's poll holds c-1 in its open transaction when topic b's poll about c-1 arrives."""
    from shared.bus import KeyGate

    cases = store.database()["cases"]
    gate = KeyGate()  # one per service runtime: both consumers are one service's
    order: list[str] = []

    def reader(topic: str, entered: asyncio.Event, release: asyncio.Event | None) -> Consumer:
        async def handle(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
            def work(tx: UnitOfWork) -> None:
                tx.db["cases"].update_one({"_id": event.complaint_id}, {"$push": {"states": topic}},
                                          upsert=True, session=tx.session)
            await asyncio.to_thread(apply_once, uow, consumer=topic, event=event, work=work)
            order.append(topic)
            entered.set()
            if release is not None:
                await release.wait()  # the transaction stays open, c-1 written in it

        return Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(), topic=topic,
                        handlers={ComplaintStatusChanged: handle}, ready=lambda: True, gate=gate)

    async def both() -> tuple[Consumer, Consumer]:
        a_in, b_in, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
        a, b = reader("a", a_in, release), reader("b", b_in, None)
        first = asyncio.create_task(a.dispatch_batch(records([status_change(1, "acknowledged"),
                                                              status_change(2, "acknowledged")])))
        await asyncio.wait_for(a_in.wait(), 30)
        second = asyncio.create_task(b.dispatch_batch(records([status_change(3, "in_review"),
                                                               status_change(1, "in_review")])))
        # b either waits for c-1 at the gate or (without it) writes c-1 against a's open transaction.
        async with asyncio.timeout(30):
            while not (gate.waiting or b_in.is_set() or b.stats()["shared_transactions_retried"]):
                await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(first, second)
        return a, b

    a, b = asyncio.run(both())

    assert cases.find_one({"_id": "c-1"})["states"] == ["a", "b"]
    assert (a.stats()["shared_transactions_retried"], b.stats()["shared_transactions_retried"]) == (0, 0)
    assert (a.stats()["shared_transactions"], b.stats()["shared_transactions"]) == (1, 1)
