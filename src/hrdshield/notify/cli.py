"""The ``hrdshield notify`` commands; registered on the main command by ``hrdshield.cli``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hrdshield.cli import Runtime


@click.group()
def notify() -> None:
    """Notifications to defenders (e-mail, webhook, in-app)."""


@notify.command("deliver")
@click.option(
    "--batch",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Most notifications to deliver in this run.",
)
@click.pass_obj
def deliver(runtime: Runtime, batch: int) -> None:
    """Deliver the notifications that are due, once, and say what happened.

    Failures are retried by a later run (or by the service) with growing delays.
    """
    from hrdshield.notify import tasks  # noqa: PLC0415  (keeps `--help` free of the database)

    runtime.keyring  # noqa: B018  (installs the keyring the encrypted columns use)
    settings = runtime.settings
    channels = tasks.channels_from_settings(settings, session_factory=runtime.session_factory)
    report = tasks.deliver_due(
        session_factory=runtime.session_factory,
        channels=channels,
        batch=batch,
        max_attempts=settings.notify_max_attempts,
    )
    click.echo(
        f"sent {report.sent}, will retry {report.retrying}, failed {report.failed}"
        + (f", claims lost {report.lost}" if report.lost else "")
    )
