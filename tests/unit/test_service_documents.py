"""Every collection a service keeps has its indexes made at start, before traffic reaches it."""

from __future__ import annotations

import importlib
import inspect

import pytest
from mongoengine import Document

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", ["intake", "evidence", "escalation", "notify"])
def test_each_document_class_of_a_service_is_indexed_at_start(service: str) -> None:
    models = importlib.import_module(f"services.{service}.models")
    declared = {cls for _, cls in inspect.getmembers(models, inspect.isclass)
                if issubclass(cls, Document) and cls.__module__ == models.__name__
                and not cls._meta.get("abstract")}
    app = importlib.import_module(f"services.{service}.main").create_app()
    missing = declared - set(app.state.runtime.documents)
    assert not missing, f"{service}: indexes not made at start for {sorted(c.__name__ for c in missing)}"
