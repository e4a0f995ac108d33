"""The sink's side of the ConfigNode plans: databases travel as IoTDB's config plans.

IoTDB keeps databases (and templates, TTL) on its ConfigNode; its DataNode's pipe receiver
passes request types 0/50 (config handshake) and 200–202 (config plans and snapshot) on to the
ConfigNode's receiver, one config receiver per connection, which needs its own handshake
first. So for the ``create_database`` / ``delete_database`` / ``set_ttl`` records of a
`SchemaEvent` the sink, on the connection it uses anyway:

1. handshakes as a ConfigNode sender once per connection (type 50 with the sink's v2 handshake
   map; type 0 with the precision when 50 is unknown, as IoTDB's own sender does);
2. sends each record as a type-200 ``CreateDatabase`` / ``DeleteDatabase`` / ``SetTTL`` plan
   (`protocol.config_plan`), through the sink's status rules (1809 "already exists" is fine).

A receiver that knows neither 50 nor 0 (1801: an older pipecore) gets the records in
pipecore's own schema request (29002) instead, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from pipecore.rpc import TSStatusCode
from pipecore_storage.paths import split_path

from .errors import ReceiverRefusedError
from .protocol import PipeRequestType, encode_handshake_v1
from .protocol import config_plan as cp

__all__ = [
    "config_handshake",
    "config_plans_of",
    "is_config_record",
    "send_config_records",
    "split_config_runs",
]

log = logging.getLogger("pipecore.thrift_sink")

_CONFIG_OPS = frozenset({"create_database", "delete_database", "set_ttl"})
_STATE = "_pipecore_config_handshake"  # on a SinkClient: (transport, accepted)


def is_config_record(record: dict) -> bool:
    return record.get("op") in _CONFIG_OPS


def split_config_runs(records: Sequence[dict]) -> Iterator[tuple[bool, list[dict]]]:
    """`records` cut into runs, in order: (True, database records) and (False, the rest)."""
    run: list[dict] = []
    kind: bool | None = None
    for record in records:
        config = is_config_record(record)
        if kind is not None and config != kind:
            yield kind, run
            run = []
        kind = config
        run.append(record)
    if run and kind is not None:
        yield kind, run


def config_plans_of(records: Sequence[dict]) -> list[cp.ConfigPlan]:
    plans: list[cp.ConfigPlan] = []
    for r in records:
        if r["op"] == "create_database":
            plans.append(cp.DatabasePlan(cp.DatabaseSchema(r["name"])))
        elif r["op"] == "delete_database":
            plans.append(cp.DeleteDatabase(r["name"]))
        elif r["op"] == "set_ttl":  # the kernel's TTL (pipecore.ttl): IoTDB's SetTTL plan
            nodes = tuple(split_path(r["path"], allow_wildcards=True))
            plans.append(cp.SetTTL(nodes, int(r["ttl"]), bool(r.get("database", False))))
    return plans


def config_handshake(client: Any) -> bool:
    """True when this connection's receiver takes config plans (handshaken now or before)."""
    transport = client.transport
    state = getattr(client, _STATE, None)
    if state is not None and state[0] is transport:
        return bool(state[1])
    params = client.settings.handshake
    resp = client._raw(int(PipeRequestType.HANDSHAKE_CONFIGNODE_V2), params.encode())
    if resp.status.code == TSStatusCode.PIPE_TYPE_ERROR:
        precision = params.timestamp_precision or "ms"
        resp = client._raw(
            int(PipeRequestType.HANDSHAKE_CONFIGNODE_V1), encode_handshake_v1(precision)
        )
    if resp.status.code == TSStatusCode.PIPE_TYPE_ERROR:
        log.warning(
            "receiver %s takes no config plans (%s): databases go in pipecore's schema request",
            client.endpoint,
            resp.status,
        )
        setattr(client, _STATE, (transport, False))
        return False
    if not resp.status.is_success:
        raise ReceiverRefusedError(str(client.endpoint), resp.status)
    setattr(client, _STATE, (transport, True))
    return True


def send_config_records(
    sink: Any, client: Any, records: Sequence[dict], lineage: tuple[str, ...]
) -> bool:
    """Send database records as config plans; False when the receiver takes none (the caller
    sends them its old way)."""
    if not config_handshake(client):
        return False
    for plan in config_plans_of(records):
        body = cp.encode_config_plan(plan)
        name = cp.plan_name(plan.type)
        target = getattr(plan, "name", "")

        def send(body: bytes = body) -> Any:
            resp = client.send(int(PipeRequestType.TRANSFER_CONFIG_PLAN), body, lineage)
            if resp.status.code == TSStatusCode.PIPE_CONFIG_RECEIVER_HANDSHAKE_NEEDED:
                setattr(client, _STATE, None)
            return resp

        sink.policy.deliver(send, lambda n=name, t=target: f"{n} {t}", str(client.endpoint))
    return True
