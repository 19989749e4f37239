"""The ``hrdshield worker`` command; registered by ``hrdshield.cli``."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hrdshield.bus.worker import Worker
    from hrdshield.cli import Runtime


@click.command("worker")
@click.option("--name", default=None, help="This worker's name in leases (default: host:pid).")
@click.pass_obj
def worker_command(runtime: Runtime, name: str | None) -> None:
    """Run detection on a fair share of the event stream's partitions (HRDSHIELD_BUS_URL).

    Start as many as the load needs, on any machines that reach NATS and the database: they
    share the partitions out among themselves, and take over those of a worker that stops.
    SIGTERM or Ctrl-C saves state and hands the partitions back.
    """
    from hrdshield.app import sla_policy_of, thresholds_of  # noqa: PLC0415  (keeps --help light)
    from hrdshield.bus.jetstream import BUS_ERRORS  # noqa: PLC0415
    from hrdshield.bus.setup import bus_settings_of  # noqa: PLC0415
    from hrdshield.bus.worker import Worker, WorkerSettings  # noqa: PLC0415
    from hrdshield.detection.service import AlertSetup  # noqa: PLC0415
    from hrdshield.detection.tasks import pipeline_factory  # noqa: PLC0415
    from hrdshield.logging_setup import configure_logging  # noqa: PLC0415
    from hrdshield.security.crypto import run_key_refresher  # noqa: PLC0415

    settings = runtime.settings
    layout = bus_settings_of(settings)
    if layout is None:
        raise click.UsageError("set HRDSHIELD_BUS_URL (nats://host:4222) to run workers")
    configure_logging(settings.log_level)
    keyring = runtime.keyring
    worker = Worker(
        bus=layout,
        session_factory=runtime.session_factory,
        keyring=keyring,
        pipeline_factory=pipeline_factory(
            runtime.session_factory,
            keyring,
            thresholds=thresholds_of(settings),
            abuse_model=settings.abuse_model,
        ),
        setup=AlertSetup(policy=sla_policy_of(settings), public_url=settings.public_url),
        settings=WorkerSettings(
            batch=settings.worker_batch,
            lease_seconds=settings.worker_lease_seconds,
            snapshot_seconds=settings.worker_snapshot_seconds,
            ack_wait_seconds=settings.worker_ack_wait_seconds,
        ),
        holder=name,
    )
    refresher_stop = threading.Event()
    refresher = threading.Thread(
        target=run_key_refresher,
        kwargs={"keyring": keyring, "stop_event": refresher_stop},
        name="key-refresher",
        daemon=True,
    )
    refresher.start()
    try:
        asyncio.run(_until_signalled(worker))
    except BUS_ERRORS as error:
        raise click.ClickException(
            f"the event bus could not be used: {type(error).__name__}: {error}"
        ) from error
    finally:
        refresher_stop.set()
    click.echo(
        f"processed {worker.stats.events} events, {worker.stats.alerts} alert writes, "
        f"{worker.stats.dead_letters} set aside"
    )


async def _until_signalled(worker: Worker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await worker.run(stop)
