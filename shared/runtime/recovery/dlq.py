"""`complaints dlq list|show|replay`: look at dead letters and send them back to their topic once the cause is fixed.

A dead letter's id is `<dead-letter topic>:<partition>:<offset>`. A replay sends the original record
(value, key, every original header) to its original topic, then writes a marker record to the
dead-letter topic naming the dead letter and where the copy went: the mark lives on the broker as
long as the dead letter itself (the dead-letter topic's retention), and a second replay of a marked
dead letter is refused unless `--force` (the consumers' ledgers ignore a repeat they applied).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from shared.bus.deadletter import DLQ_PREFIX
from shared.masking import scrub
from shared.runtime.recovery.clients import broker_errors, console, fail, producer, read_topic, since_moment
from shared.topics import TopicSettings

app = typer.Typer(help="Dead letters: list them, show one, replay them to their original topic.",
                  no_args_is_help=True)

#: Header of a marker record (value: JSON naming the dead letter replayed and where it went).
MARKER = "dlq-marker"
#: Header of a replayed copy: the id of the dead letter it came from.
REPLAY_OF = "dlq-replay-of"


@dataclass
class DeadLetter:
    """One parked record, with the replays recorded for it."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    replays: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        return next((v.decode("utf-8", "replace") for k, v in self.headers if k == name), "")

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The record's own headers as it came (those written in hex back to their bytes)."""
        binary = set(filter(None, self.header("dlq-hex-headers").split(",")))
        return [(k, bytes.fromhex(v.decode()) if k in binary else v) for k, v in self.headers
                if not k.startswith(DLQ_PREFIX)]


def dead_letter_topics(topic: str | None) -> list[str]:
    """The dead-letter topics to read: one named (a consumed topic or its dead-letter twin), else all."""
    topics = TopicSettings()
    every = [topics.dead_letter(t) for t in topics.consumed()]
    if topic is None:
        return every
    name = topic if topic.endswith(topics.dead_letter_suffix) else topics.dead_letter(topic)
    if name not in every:
        fail(f"{topic} is not a dead-letter topic of this suite",
             todo=f"name one of: {', '.join(every)} (or the topic it belongs to)", code=2)
    return [name]


async def _read(topics: list[str]) -> list[DeadLetter]:
    letters: dict[str, DeadLetter] = {}
    markers: list[dict[str, Any]] = []
    for topic in topics:
        for record in await read_topic(topic):
            headers = list(record.headers or ())
            if any(k == MARKER for k, _ in headers):
                markers.append(json.loads(record.value))
                continue
            letter = DeadLetter(topic=topic, partition=record.partition, offset=record.offset,
                                timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC), key=record.key,
                                value=record.value or b"", headers=headers, replays=[])
            letters[letter.id] = letter
    for marker in markers:
        if marker.get("replayed") in letters:
            letters[marker["replayed"]].replays.append(marker)
    return list(letters.values())


def select(*, topic: str | None, since: str | None, ids: list[str] | None) -> list[DeadLetter]:
    """The dead letters on the topics named, parked at or after `since`, of the ids given (all when none)."""
    moment = since_moment(since)
    with broker_errors(), console.status("reading the dead-letter topics…"):
        letters = asyncio.run(_read(dead_letter_topics(topic)))
    if ids:
        missing = sorted(set(ids) - {letter.id for letter in letters})
        if missing:
            fail(f"no dead letter {', '.join(missing)}",
                 todo="see the ids with `complaints dlq list` (they read <dead-letter topic>:<partition>:<offset>)")
        letters = [letter for letter in letters if letter.id in ids]
    return [letter for letter in letters if moment is None or letter.timestamp >= moment]


TOPIC = typer.Option(None, "--topic", help="A consumed topic or its dead-letter topic (default: all of them)")
SINCE = typer.Option(None, "--since", help="Parked at or after: an ISO 8601 time or an age (30m, 6h, 7d)")
IDS = typer.Option(None, "--id", help="A dead letter's id, <dead-letter topic>:<partition>:<offset> (repeatable)")


def summary(letter: DeadLetter) -> dict[str, Any]:
    """What `list` tells of a dead letter."""
    return {"id": letter.id, "parked_at": letter.timestamp.isoformat(), "from": letter.header("dlq-original-topic"),
            "consumer": letter.header("dlq-consumer"), "replays": len(letter.replays),
            "reason": letter.header("dlq-reason")}


@app.command("list")
def list_(topic: str | None = TOPIC, since: str | None = SINCE, ids: list[str] | None = IDS,
          as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table")) -> None:
    """Every dead letter: when, from where, which consumer parked it, why, and whether it was replayed."""
    letters = select(topic=topic, since=since, ids=ids)
    if as_json:
        for letter in sorted(letters, key=lambda x: x.timestamp):
            typer.echo(json.dumps(summary(letter), ensure_ascii=False))
        return
    table = Table(title=f"{len(letters)} dead letters")
    for column in ("id", "parked at", "from", "consumer", "replayed", "reason"):
        table.add_column(column, overflow="fold")
    for letter in sorted(letters, key=lambda x: x.timestamp):
        table.add_row(letter.id, f"{letter.timestamp:%Y-%m-%d %H:%M:%S}Z", letter.header("dlq-original-topic"),
                      letter.header("dlq-consumer"), str(len(letter.replays)) if letter.replays else "",
                      letter.header("dlq-reason")[:200])
    from rich.console import Console

    Console().print(table)


@app.command()
def show(letter_id: str = typer.Argument(..., metavar="ID", help="<dead-letter topic>:<partition>:<offset>"),
         unmasked: bool = typer.Option(False, help="Print the value as it is (else secrets in it are masked)"),
         ) -> None:
    """One dead letter whole: its headers, key, value and the replays recorded for it."""
    topic = letter_id.rsplit(":", 2)[0]
    [letter] = select(topic=topic, since=None, ids=[letter_id])
    value = letter.value.decode("utf-8", "replace")
    typer.echo(json.dumps({
        "id": letter.id, "parked_at": letter.timestamp.isoformat(),
        "key": (letter.key or b"").decode("utf-8", "replace"),
        "headers": {k: v.decode("utf-8", "replace") for k, v in letter.headers},
        "value": value if unmasked else scrub(value), "replays": letter.replays}, ensure_ascii=False, indent=2))


async def _send(letters: list[DeadLetter], *, progress: Any) -> list[tuple[DeadLetter, str]]:
    sent: list[tuple[DeadLetter, str]] = []
    client = producer()
    try:
        await client.start()
        for letter in letters:
            target = letter.header("dlq-original-topic")
            meta = await client.send_and_wait(target, letter.value, key=letter.key,
                                              headers=[*letter.original_headers(), (REPLAY_OF, letter.id.encode())])
            where = f"{target}:{meta.partition}:{meta.offset}"
            marker = {"replayed": letter.id, "to": where, "at": datetime.now(UTC).isoformat()}
            await client.send_and_wait(letter.topic, json.dumps(marker).encode(), key=letter.key,
                                       headers=[(MARKER, b"replayed")])
            sent.append((letter, where))
            progress(f"[green]✓[/] {letter.id} → {where}")
    finally:
        await client.stop()
    return sent


@app.command()
def replay(topic: str | None = TOPIC, since: str | None = SINCE, ids: list[str] | None = IDS,
           force: bool = typer.Option(False, "--force", help="Replay dead letters already replayed once"),
           all_: bool = typer.Option(False, "--all", help="Replay every dead letter (no --topic, --since or --id)"),
           ) -> None:
    """Send dead letters back to their original topic as they came (value, key, headers), once each."""
    if not (topic or since or ids or all_):
        fail("name what to replay", todo="give --id, --topic or --since (or --all for every dead letter)", code=2)
    letters = select(topic=topic, since=since, ids=ids)
    if not letters:
        fail("no dead letter matches", todo="see them with `complaints dlq list`")
    again = [letter for letter in letters if letter.replays]
    if again and not force:
        named = "; ".join(f"{x.id} (to {x.replays[-1]['to']} at {x.replays[-1]['at']})" for x in again)
        fail(f"{len(again)} of these were replayed already, nothing sent: {named}",
             todo="leave them out, or add --force to send them again (consumers ignore what they applied)")
    unknown = [letter.id for letter in letters if not letter.header("dlq-original-topic")]
    if unknown:
        fail(f"no original topic recorded for {', '.join(unknown)}", todo="send these by hand")
    with broker_errors(), console.status(f"replaying {len(letters)} dead letters…"):
        sent = asyncio.run(_send(sorted(letters, key=lambda x: (x.topic, x.partition, x.offset)),
                                 progress=console.print))
    console.print(f"replayed {len(sent)} dead letters")
