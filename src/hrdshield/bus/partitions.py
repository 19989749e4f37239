"""Which partitions an event goes to: a stable hash of the accounts it is about.

All events about one account (a defender's) land in one partition, so the detector state kept
for that defender (windows, baselines, clusters) lives in one worker. The hash is CRC-32 of the
platform account id, which a rename does not change; it is the same in every process and
every release, so changing it (or the partition count) means draining the stream first.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from hrdshield.detection.schema import Account, Event, TrafficCount

DEFAULT_PARTITIONS = 16


def partition_of(key: str, partitions: int) -> int:
    """Return the partition of `key` among `partitions`."""
    return zlib.crc32(key.encode()) % partitions


def partitions_of(event: Event, partitions: int) -> tuple[int, ...]:
    """Return the partitions `event` is published to, its home partition first.

    An event is about its targets when it has any (a reply, a mention, a report), otherwise
    about its actor (a sign-in, a new account) or, for traffic counts, its region.
    """
    if event.targets:
        return tuple(dict.fromkeys(partition_of(t.account_id, partitions) for t in event.targets))
    if event.actor is not None:
        return (partition_of(event.actor.account_id, partitions),)
    region = event.region if isinstance(event, TrafficCount) else ""
    return (partition_of(f"region:{region}", partitions),)


@dataclass(frozen=True, slots=True)
class PartitionShare:
    """One partition's part of the stream, as the pipeline's routing asks (`Share`)."""

    partition: int
    partitions: int

    def owns(self, account: Account) -> bool:
        """Return whether `account` hashes to this partition."""
        return partition_of(account.account_id, self.partitions) == self.partition

    def is_home(self, event: Event) -> bool:
        """Return whether this partition is the first `event` is published to."""
        return partitions_of(event, self.partitions)[0] == self.partition
