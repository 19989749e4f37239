"""The ``hrdshield ingest`` and ``hrdshield platform`` commands; registered by ``hrdshield.cli``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hrdshield.cli import Runtime

BATCH_LINES = 2000


def _batches(handle: IO[bytes], size: int) -> Iterator[tuple[int, list[bytes], int]]:
    """Yield (first line number, lines, bytes read) in batches of `size` lines."""
    lines: list[bytes] = []
    first, read = 1, 0
    for number, line in enumerate(handle, start=1):
        lines.append(line.rstrip(b"\r\n"))
        read += len(line)
        if len(lines) == size:
            yield first, lines, read
            lines, first, read = [], number + 1, 0
    if lines:
        yield first, lines, read


@click.command("ingest")
@click.argument("source", type=click.File("rb"))
@click.option(
    "--platform", default=None, help="Refuse events that name another platform than this one."
)
@click.option(
    "--process/--no-process",
    default=True,
    show_default=True,
    help="Run detection on the events now (otherwise a running server does).",
)
@click.option("--show-errors", default=20, show_default=True, type=click.IntRange(0, 10_000))
@click.pass_obj
def ingest_command(
    runtime: Runtime, source: IO[bytes], platform: str | None, process: bool, show_errors: int
) -> None:
    """Replay events from SOURCE (NDJSON, one hrdshield.event/1 a line; - for standard input).

    Valid events go to the inbox (duplicates of events seen before are skipped), invalid lines
    are reported with their line number and kept as dead letters; then detection runs on them.
    """
    from hrdshield.bus.base import BusUnavailableError  # noqa: PLC0415
    from hrdshield.bus.setup import open_bus  # noqa: PLC0415
    from hrdshield.detection import ingest  # noqa: PLC0415  (keeps --help free of the database)
    from hrdshield.detection.enums import IngestChannel  # noqa: PLC0415

    bus = open_bus(runtime.settings, runtime.keyring, name="hrdshield-ingest")
    total = ingest.IngestReport()
    # A file's size is known, so progress is in bytes; standard input reports lines as it goes.
    bar = click.progressbar(length=_size(source) or 0, label="reading events", file=sys.stderr)
    try:
        with bar:
            for first, lines, read in _batches(source, BATCH_LINES):
                with runtime.session_factory() as session, session.begin():
                    report = ingest.accept_lines(
                        session=session,
                        lines=lines,
                        channel=IngestChannel.FILE,
                        platform=platform,
                        first_line=first,
                        bus=bus,
                    )
                total.add(report)
                bar.update(read)
                if not bar.length:
                    click.echo(f"read {first + len(lines) - 1} lines", err=True)
    except BusUnavailableError as refused:
        raise click.ClickException(
            f"the event bus stopped taking events after {total.accepted} accepted "
            f"({refused}); run the command again: events already taken count as duplicates"
        ) from refused
    finally:
        if bus is not None:
            bus.close()
    click.echo(
        f"accepted {total.accepted}, duplicates {total.duplicates}, rejected {len(total.rejected)}"
    )
    for error in total.rejected[:show_errors]:
        click.echo(f"  line {error.line}: {error.reason}", err=True)
    if bus is not None:
        click.echo("published to the event bus; `hrdshield worker` processes run detection")
    elif process:
        _process(runtime, total.accepted)


def _size(source: IO[bytes]) -> int | None:
    try:
        if not source.seekable():
            return None
        size = source.seek(0, 2)
        source.seek(0)
    except OSError:
        return None
    return size


def _process(runtime: Runtime, accepted: int) -> None:
    from hrdshield.detection.tasks import build_consumer  # noqa: PLC0415

    consumer = build_consumer(runtime.session_factory, runtime.keyring)
    totals = {"events": 0, "alerts": 0, "incidents": 0, "poisoned": 0}
    with click.progressbar(length=accepted, label="detecting", file=sys.stderr) as bar:
        while True:
            report = consumer.run_once()
            if not report.events:
                break
            bar.update(report.events)
            for name in totals:
                totals[name] += getattr(report, name)
    consumer.release()
    click.echo(
        f"examined {totals['events']} events: {totals['alerts']} alerts, "
        f"{totals['incidents']} new incidents, {totals['poisoned']} set aside"
    )


@click.group("platform")
def platform_commands() -> None:
    """Platforms that stream events in, and their tokens."""


def _run(runtime: Runtime, action: str, name: str) -> None:
    from hrdshield.detection import platforms  # noqa: PLC0415
    from hrdshield.errors import DomainError  # noqa: PLC0415
    from hrdshield.security.rbac import Principal  # noqa: PLC0415

    runtime.keyring  # noqa: B018
    actor = Principal.system("cli")
    try:
        with runtime.session_factory() as session, session.begin():
            if action == "revoke":
                platforms.revoke(session=session, actor=actor, name=name)
                click.echo(f"revoked the token of platform {name}")
                return
            call = platforms.register if action == "add" else platforms.rotate
            _, token = call(session=session, actor=actor, name=name)
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"platform {name}: token (shown once, keep it secret):")
    click.echo(token)


@platform_commands.command("add")
@click.argument("name")
@click.pass_obj
def platform_add(runtime: Runtime, name: str) -> None:
    """Register platform NAME (the "platform" field of its events) and print its token."""
    _run(runtime, "add", name)


@platform_commands.command("rotate")
@click.argument("name")
@click.pass_obj
def platform_rotate(runtime: Runtime, name: str) -> None:
    """Give platform NAME a new token; the old one stops working at once."""
    _run(runtime, "rotate", name)


@platform_commands.command("revoke")
@click.argument("name")
@click.pass_obj
def platform_revoke(runtime: Runtime, name: str) -> None:
    """Revoke the token of platform NAME."""
    _run(runtime, "revoke", name)


@platform_commands.command("list")
@click.pass_obj
def platform_list(runtime: Runtime) -> None:
    """List registered platforms."""
    from hrdshield.detection import platforms  # noqa: PLC0415

    runtime.keyring  # noqa: B018
    with runtime.session_factory() as session:
        for platform in platforms.list_all(session=session):
            state = "revoked" if platform.revoked_at else "active"
            used = platform.last_used_at.isoformat() if platform.last_used_at else "never"
            click.echo(f"{platform.name}\t{platform.prefix}…\t{state}\tlast used {used}")
