"""The event bus: how accepted events reach detection when one machine is not enough.

The default is the inbox table, consumed inside the server (what `make run` uses). With
``HRDSHIELD_BUS_URL=nats://...`` events are published to a NATS JetStream stream, partitioned by
the account they are about, and ``hrdshield worker`` processes consume the partitions.
"""
