"""Processes of `benchmarks.scale`: children, their CPU and memory, and the stream's consumers.

The private nats-server is the one the bus tests start (`tests.bus.nats_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import nats.js.errors

from hrdshield.bus.jetstream import BusSettings

SETTLE_SECONDS = 150.0  # how long a set-up may take to drain after publishing
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def say(message: str) -> None:
    """Write a progress line to standard error."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603  (our own interpreter and commands)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def peak_rss_mib(pid: int) -> float:
    """Return the peak resident memory (VmHWM) of process `pid`, in MiB (Linux)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time of process `pid` (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


async def consumers_ready(bus: BusSettings) -> None:
    client = await nats.connect(bus.url)
    js = client.jetstream()
    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        for number in range(bus.partitions):
            while True:
                try:
                    await js.consumer_info(bus.stream, bus.consumer(number))
                    break
                except nats.js.errors.NotFoundError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the workers did not create their consumers") from None
                    await asyncio.sleep(0.1)
    finally:
        await client.close()


async def consumed(bus: BusSettings, timeout: float) -> float:
    """Wait until no partition's consumer has pending or unacknowledged messages."""
    client = await nats.connect(bus.url)
    js = client.jetstream()
    deadline = time.monotonic() + timeout
    shown = time.monotonic()
    try:
        while True:
            left = 0
            for number in range(bus.partitions):
                info = await js.consumer_info(bus.stream, bus.consumer(number))
                left += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if left == 0:
                return time.time()
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {left} messages still pending")
            if time.monotonic() - shown > 5:
                say(f"  {left:,} messages still to process")
                shown = time.monotonic()
            await asyncio.sleep(0.05)
    finally:
        await client.close()


async def delete_stream(bus: BusSettings) -> None:
    client = await nats.connect(bus.url)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await client.jetstream().delete_stream(bus.stream)
    finally:
        await client.close()


async def stream_messages(bus: BusSettings) -> int:
    client = await nats.connect(bus.url)
    try:
        info = await client.jetstream().stream_info(bus.stream)
        return int(info.state.messages)
    finally:
        await client.close()
