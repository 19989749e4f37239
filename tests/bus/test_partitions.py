"""Partitioning: stable, by the accounts an event is about; routing acts for owned defenders."""

from __future__ import annotations

import zlib

from hrdshield.bus.partitions import PartitionShare, partition_of, partitions_of
from hrdshield.detection.detectors.doxxing import DoxxingDetector
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.pipeline import Pipeline, Scope, route
from tests.detection.streams import StreamBuilder, index_of, protected

AMARA = protected("demo_hrd_amara")
LUCIA = protected("demo_hrd_lucia", defender_id="l" * 32)
PARTITIONS = 8


def test_the_partition_is_a_fixed_hash_of_the_account_id() -> None:
    assert partition_of("acct-demo_hrd_amara", 8) == zlib.crc32(b"acct-demo_hrd_amara") % 8
    assert {partition_of(f"acct-{n}", 8) for n in range(200)} == set(range(8))


def test_events_go_to_each_target_then_the_actor_then_the_region() -> None:
    stream = StreamBuilder()
    reply = stream.reply("someone", "demo_hrd_amara")
    both = stream.emit(
        "mention",
        stream.account("someone"),
        targets=[stream.account("demo_hrd_amara"), stream.account("demo_hrd_lucia")],
        content={"text": "hello", "lang": "en", "post_id": "p-1"},
    )
    login = stream.login("demo_hrd_amara", "KE")
    traffic = stream.traffic("KE", 1000)
    home = partition_of("acct-demo_hrd_amara", PARTITIONS)
    other = partition_of("acct-demo_hrd_lucia", PARTITIONS)
    assert home != other  # the test needs them apart
    assert partitions_of(reply, PARTITIONS) == (home,)
    assert partitions_of(both, PARTITIONS) == (home, other)
    assert partitions_of(login, PARTITIONS) == (home,)
    assert partitions_of(traffic, PARTITIONS) == (partition_of("region:KE", PARTITIONS),)


def test_a_partition_acts_only_for_its_defenders_and_all_event_detectors_run_at_home() -> None:
    stream = StreamBuilder()
    both = stream.emit(
        "mention",
        stream.account("someone"),
        targets=[stream.account("demo_hrd_amara"), stream.account("demo_hrd_lucia")],
        content={"text": "hello", "lang": "en", "post_id": "p-1"},
    )
    index = index_of(AMARA, LUCIA)
    wanted = Pipeline(detectors=[PileOnDetector(), DoxxingDetector()], index=lambda: index)
    home = PartitionShare(partition_of("acct-demo_hrd_amara", PARTITIONS), PARTITIONS)
    other = PartitionShare(partition_of("acct-demo_hrd_lucia", PARTITIONS), PARTITIONS)
    classes = {scope: frozenset({type(both)}) for scope in Scope}
    at_home = route([both], index, classes, home)
    away = route([both], index, classes, other)
    everywhere = route([both], index, classes)
    assert [item.defender_id for item in at_home[Scope.TARGETED][0].targets] == [
        AMARA[0].defender_id
    ]
    assert [item.defender_id for item in away[Scope.TARGETED][0].targets] == [LUCIA[0].defender_id]
    assert len(at_home[Scope.EVERYONE]) == 1
    assert away[Scope.EVERYONE] == []
    assert len(at_home[Scope.EVERYONE][0].targets) == 2  # a leak check sees every target
    assert len(everywhere[Scope.TARGETED][0].targets) == 2
    assert wanted.share is None
