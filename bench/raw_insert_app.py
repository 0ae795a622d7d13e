"""The raw stack for comparison: a bare FastAPI endpoint doing one insert into the same store."""

from __future__ import annotations

import os
import uuid
from typing import Any

from fastapi import FastAPI
from pymongo import MongoClient


def create_app() -> FastAPI:
    """One POST route, one insert_one, nothing else."""
    client: MongoClient = MongoClient(os.environ["MONGODB_URI"], tz_aware=True)
    collection = client[os.environ.get("RAW_DB", "bench_raw")]["complaints"]
    app = FastAPI()

    @app.post("/raw")
    def raw(body: dict[str, Any]) -> dict[str, str]:
        doc_id = uuid.uuid4().hex
        collection.insert_one({"_id": doc_id, **body})
        return {"id": doc_id}

    return app
