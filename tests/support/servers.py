"""The real broker and store for tests: configured ones, containers, or the embedded binaries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mongoengine import Document

from shared import store
from shared.runtime import embedded


@dataclass(frozen=True)
class Servers:
    """Where the tests' Kafka and MongoDB listen."""

    bootstrap: str
    mongodb_uri: str
    kafka: embedded.Child | None = None
    mongodb: embedded.Child | None = None


def docker_available() -> bool:
    """True when a Docker engine answers; decided in well under a second without one."""
    sock = Path("/var/run/docker.sock")
    if not os.environ.get("DOCKER_HOST") and not sock.exists():
        return False
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        return bool(docker.from_env(timeout=2).ping())
    except (DockerException, OSError):
        return False


@contextmanager
def _containers() -> Iterator[Servers]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    # Transactions and change streams need a replica set, even of one node.
    mongo = MongoDbContainer("mongo:7").with_command("--replSet rs0 --bind_ip_all")
    with KafkaContainer().with_kraft() as kafka, mongo:
        mongo.exec(["mongosh", "--quiet", "--eval", "rs.initiate()"])
        uri = f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}/?directConnection=true"
        yield Servers(bootstrap=kafka.get_bootstrap_server(), mongodb_uri=uri)


@contextmanager
def real_servers(*, workdir: Path) -> Iterator[Servers]:
    """Yield a real broker and store for the whole test session and clean them up."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongodb_uri = os.environ.get("MONGODB_URI")
    if bootstrap and mongodb_uri:
        yield Servers(bootstrap=bootstrap, mongodb_uri=mongodb_uri)
        return
    if not bootstrap and not mongodb_uri and docker_available():
        with _containers() as servers:
            yield servers
        return
    started: list[embedded.Child] = []
    try:
        kafka = mongodb = None
        if not bootstrap:
            kafka, bootstrap = embedded.start_kafka(log_dir=workdir)
            started.append(kafka)
        if not mongodb_uri:
            mongodb, mongodb_uri = embedded.start_mongodb(data_dir=workdir / "mongodb", log_dir=workdir)
            started.append(mongodb)
        yield Servers(bootstrap=bootstrap, mongodb_uri=mongodb_uri, kafka=kafka, mongodb=mongodb)
    finally:
        for child in reversed(started):
            child.stop()


@contextmanager
def own_database(servers: Servers, name: str, *documents: type[Document]) -> Iterator[None]:
    """Connect this process to a database of its own on the test store, with the documents' indexes;
    it is dropped afterwards."""
    store.connect(uri=servers.mongodb_uri, db=name, timeout_ms=3000)
    store.ensure_indexes(*documents)
    try:
        yield
    finally:
        store.client().drop_database(name)
