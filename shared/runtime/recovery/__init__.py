"""The operator's recovery commands of `complaints`: dead letters, the outbox, consumer lag, a health check."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `dlq`, `outbox`, `lag` and `doctor` to the CLI."""
    from shared.runtime.recovery import dlq, doctor, lag, outbox

    app.add_typer(dlq.app, name="dlq")
    app.add_typer(outbox.app, name="outbox")
    app.command()(lag.lag)
    app.command()(doctor.doctor)
