"""The suite's command line: `complaints up` runs everything; topics, tokens and sample complaints."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from shared.runtime import embedded, recovery, supervisor
from shared.topics import TopicSettings

app = typer.Typer(help="Complaint-handling suite: run it, create its topics, mint local tokens, print "
                       "sample complaints; replay dead letters, re-drive the outbox, show lag, check a deployment.",
                  no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def up(
    data_dir: Path = typer.Option(Path(".complaints-data"),
                                  help="Where the embedded stores keep their data and logs go"),
    partitions: int = typer.Option(4, min=1, help="Partitions of each topic created"),
    first_port: int = typer.Option(8001, help="HTTP port of intake; the others follow, the console last (8005)"),
    ready_timeout: float = typer.Option(120.0, help="Seconds to wait for readiness"),
    notify_processes: int = typer.Option(
        supervisor.NOTIFY_PROCESSES, min=1, max=8,
        help="Processes of notify (one consumer group: the topics' partitions split between them). Each gets "
             "4 ÷ N webhook POSTs in flight per endpoint (at least 1) unless NOTIFY_CONCURRENCY_PER_ENDPOINT is "
             "set; the second and later listen after the console (8006 …)"),
) -> None:
    """Start broker, stores (unless configured) and the four services; Ctrl-C stops them all.

    With no MONGODB_URI, each service gets an embedded store of its own and spans one more
    (an embedded store serves one core at most). Notify runs as two processes by default: one
    process's consumer, sender and relay share one interpreter, and a second lets notify use a
    second core (bench/RESULTS.md, Webhooks)."""
    data_dir = data_dir.resolve()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    children: list[embedded.Child] = []
    try:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            with console.status("starting the embedded Kafka broker (Tansu)…"):
                child, bootstrap = embedded.start_kafka(log_dir=log_dir)
            children.append(child)
            console.print(f"[green]✓[/] Kafka broker at {bootstrap} (memory-only)")
        mongodb_uri = os.environ.get("MONGODB_URI")
        store_dir = data_dir / "mongodb"
        if mongodb_uri:
            stores = supervisor.one_store(mongodb_uri)
        elif (store_dir / "WiredTiger").exists():
            # A data directory from before each service had a store of its own: keep using it.
            with console.status("starting the embedded document store (SecantusDB)…"):
                child, mongodb_uri = embedded.start_mongodb(data_dir=store_dir, log_dir=log_dir)
            children.append(child)
            stores = supervisor.one_store(mongodb_uri)
            console.print(f"[green]✓[/] document store at {mongodb_uri} (data in {store_dir}, shared by all)")
        else:
            with console.status(f"starting the embedded document stores (SecantusDB): "
                                f"{', '.join(supervisor.STORES)}…"):
                started, stores = supervisor.start_embedded_stores(data_dir=store_dir, log_dir=log_dir)
            children.extend(started)
            for name, uri in stores.items():
                console.print(f"[green]✓[/] {name} store at {uri} (data in {store_dir / name})")
        topics = TopicSettings(partitions=partitions)
        with console.status("creating topics…"):
            created = asyncio.run(embedded.create_topics(
                bootstrap=bootstrap, topics=topics.all_topics(), partitions=topics.partitions,
                configs=embedded.topic_configs(topics, dlq_retention_ms=topics.dlq_retention_ms,
                                               replies_retention_ms=topics.replies_retention_ms)))
        console.print(f"[green]✓[/] topics: {len(created)} created, {len(topics.all_topics()) - len(created)} existed")
        env = supervisor.service_env(base=supervisor.base_environment(), bootstrap=bootstrap,
                                     mongodb_uri=stores["intake"])
        env.setdefault("COMPLAINTS_LOG_FORMAT", "text")  # the log files of a local run are read by people
        for name, value in supervisor.notify_share(notify_processes).items():
            env.setdefault(name, value)
        # The filing notice carries the complainant's status link to the console (started last).
        env.setdefault("NOTIFY_CONSOLE_URL", f"http://127.0.0.1:{first_port + len(supervisor.SERVICES)}")
        services = [supervisor.start_service(name=name, port=first_port + i, env=env, log_dir=log_dir,
                                             stores=stores)
                    for i, name in enumerate(supervisor.SERVICES)]
        services.append(supervisor.start_console(port=first_port + len(services), env=env, log_dir=log_dir,
                                                 apis=list(services)))
        # More notify processes, each with an HTTP port of its own (the console asks the first).
        base = first_port + len(services)
        services += [supervisor.start_service(name="notify", port=base + i, env=env, log_dir=log_dir, stores=stores,
                                              log_name=f"notify-{i + 2}")
                     for i in range(notify_processes - 1)]
        children.extend(s.child for s in services)
        with console.status("waiting for the services to be ready…"):
            supervisor.wait_ready(services, timeout=ready_timeout,
                                  progress=lambda line: console.print(f"[green]✓[/] {line}"))
        table = Table(title="complaints suite is up")
        table.add_column("service")
        table.add_column("API")
        table.add_column("docs")
        for svc in services:
            table.add_row(svc.name, svc.url, f"{svc.url}/docs" if svc.name != "console" else f"{svc.url}/signin")
        Console().print(table)
        console.print(f"logs in {log_dir}; press Ctrl-C to stop")
        while not stop.wait(0.5):
            dead = [c.name for c in children if not c.alive()]
            if dead:
                console.print(f"[red]stopped unexpectedly:[/] {', '.join(dead)}; shutting down")
                raise typer.Exit(1)
    finally:
        with console.status("stopping…"):
            supervisor.stop_all(children)
        console.print("[green]✓[/] all stopped")


@app.command()
def topics(
    partitions: int = typer.Option(4, min=1, help="Partitions of each new topic"),
    replication_factor: int = typer.Option(1, min=1, help="Replicas of each new topic (3 on a production cluster)"),
    retention_ms: int | None = typer.Option(None, min=1, help="retention.ms of the event and command topics "
                                            "(unset: the broker's default)"),
    dlq_retention_ms: int | None = typer.Option(None, min=1, help="retention.ms of the dead-letter topics "
                                                "(default COMPLAINTS_TOPIC_DLQ_RETENTION_MS, else 30 days)"),
    replies_retention_ms: int | None = typer.Option(None, min=1, help="retention.ms of the reply topics "
                                                    "(default COMPLAINTS_TOPIC_REPLIES_RETENTION_MS, else 7 days)"),
) -> None:
    """Create every topic on KAFKA_BOOTSTRAP_SERVERS (existing ones are left alone, their configs too)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    settings = TopicSettings(partitions=partitions)
    dlq_retention_ms = dlq_retention_ms or settings.dlq_retention_ms
    replies_retention_ms = replies_retention_ms or settings.replies_retention_ms
    names = settings.all_topics()
    configs = embedded.topic_configs(settings, retention_ms=retention_ms, dlq_retention_ms=dlq_retention_ms,
                                     replies_retention_ms=replies_retention_ms)
    console.print(f"creating {len(names)} topics on {bootstrap}: {partitions} partitions, "
                  f"replication factor {replication_factor}")
    created = asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=names, partitions=partitions,
                                                 replication_factor=replication_factor, configs=configs))
    for name in names:
        shown = ", ".join(f"{k}={v}" for k, v in configs.get(name, {}).items())
        console.print(f"{'created' if name in created else 'exists '} {name}"
                      + (f" ({shown})" if shown and name in created else ""))
    console.print(f"topics: {len(created)} created, {len(names) - len(created)} existed")


@app.command()
def token(
    subject: str = typer.Argument(..., help="Who the token is for (complainant id, merchant user, agent, integration)"),
    role: str = typer.Option(..., help="complainant, merchant, agent or partner"),
    platform: str | None = typer.Option(None, help="Platform the caller belongs to (required but for complainants)"),
    merchant_id: str | None = typer.Option(None, help="Merchant id (role merchant)"),
    hours: float = typer.Option(12.0, min=0.01, help="Lifetime in hours"),
) -> None:
    """Mint a bearer token signed with COMPLAINTS_AUTH_SECRET (the local default when unset)."""
    from datetime import timedelta

    from shared.auth import mint_token
    from shared.settings import ServiceSettings

    if ServiceSettings().auth_jwks_url:
        console.print("[red]COMPLAINTS_AUTH_JWKS_URL is set: tokens come from the OIDC issuer, not from here[/]")
        raise typer.Exit(2)
    try:
        minted = mint_token(secret=ServiceSettings().auth_secret, subject=subject, role=role,
                            platform=platform, merchant_id=merchant_id, ttl=timedelta(hours=hours))
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    typer.echo(minted)


SAMPLES = Path(__file__).with_name("samples.json")


@app.command()
def sample(kind: str = typer.Option("invalid-card-key", help="Which sample complaint")) -> None:
    """Print a complaint body ready to file, paid minutes ago under an order number of its own."""
    bodies = json.loads(SAMPLES.read_text(encoding="utf-8"))
    if kind not in bodies:
        console.print(f"[red]no sample of kind {kind!r}; there are: {', '.join(sorted(bodies))}[/]")
        raise typer.Exit(2)
    typer.echo(json.dumps(dated_sample(bodies[kind], now=datetime.now(UTC)), ensure_ascii=False, indent=2))


def dated_sample(body: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The sample as if paid 10 minutes and hit 5 minutes before `now`: a fresh sample starts out
    inside every clock, and its own order number keeps it from being taken for an earlier one."""
    paid = now.astimezone(UTC).replace(microsecond=0) - timedelta(minutes=10)
    reference = f"{paid:%Y%m%d%H%M%S}{secrets.randbelow(1_000_000):06d}"
    order = {**body["order"], "number": f"KM{reference}", "transaction_id": f"2088{reference}",
             "paid_at": _utc_z(paid)}
    description = {**body["description"], "occurred_at": _utc_z(paid + timedelta(minutes=5))}
    return {**body, "order": order, "description": description}


def _utc_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


recovery.register(app)


def main() -> None:
    """Console entry point."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # a broker that does not answer is told once, clearly
    app()


if __name__ == "__main__":
    main()
