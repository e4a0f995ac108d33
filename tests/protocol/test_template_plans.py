"""pipecore's template records in IoTDB's layout (`protocol.template_plans`) read back by the
decoders of IoTDB's layouts (config plans, schema-region nodes), and in pipecore's own schema
request (29002)."""

from __future__ import annotations

import pytest

from pipecore_thrift_sink.protocol import PipeProtocolError
from pipecore_thrift_sink.protocol import config_plan as cp
from pipecore_thrift_sink.protocol.request import PipeRequestType
from pipecore_thrift_sink.protocol.schema_iotdb import iotdb_schema_requests
from pipecore_thrift_sink.protocol.schema_plan import (
    SCHEMA_REQUEST_TYPE,
    decode_schema_plan,
    schema_requests,
)
from pipecore_thrift_sink.protocol.schema_region import decode_region_node
from pipecore_thrift_sink.protocol.template_plans import template_requests

T = {
    "op": "create_template",
    "name": "t",
    "id": 3,
    "aligned": True,
    "measurements": [["s1", "INT32", "RLE", "SNAPPY"], ["s2", "FLOAT", "GORILLA", "LZ4"]],
}
RECORDS = [
    T,
    {"op": "extend_template", "name": "t", "measurements": [["s3", "TEXT", "PLAIN", "ZSTD"]]},
    {"op": "set_template", "name": "t", "path": "root.sg.g"},
    {"op": "activate_template", "device": "root.sg.g.d-1", "name": "t"},
    {"op": "deactivate_template", "device": "root.sg.g.d2", "definition": T},
    {"op": "unset_template", "name": "t", "path": "root.sg.g"},
    {"op": "drop_template", "name": "t"},
]
_CONFIG = int(PipeRequestType.TRANSFER_CONFIG_PLAN)
_PLAN = int(PipeRequestType.TRANSFER_SCHEMA_PLAN)


def _decoded(record: dict) -> object:
    [(kind, body, count)] = list(template_requests(record))
    assert count == 1
    return cp.decode_config_plan(body) if kind == _CONFIG else decode_region_node(body)


def test_each_record_reads_back_as_iotdb_plan():
    got = [_decoded(r) for r in RECORDS]
    assert got == [
        cp.CreateTemplate(
            cp.TemplateDef(
                "t",
                True,
                (("s1", "INT32", "RLE", "SNAPPY"), ("s2", "FLOAT", "GORILLA", "LZ4")),
                3,
            )
        ),
        cp.ExtendTemplate("t", (("s3", "TEXT", "PLAIN", "ZSTD"),)),
        cp.CommitSetTemplate("t", "root.sg.g", False),
        [{"op": "activate_template", "device": "root.sg.g.d-1"}],
        cp.DeactivateTemplate((("root.sg.g.d2", ("t",)),)),
        cp.UnsetTemplate("t", "root.sg.g"),
        cp.DropTemplate("t"),
    ]


def test_prune_has_no_iotdb_counterpart():
    assert list(template_requests({"op": "prune_template", "name": "t", "measurement": "a"})) == []


def test_iotdb_layout_keeps_the_order():
    kinds = [k for k, _, _ in iotdb_schema_requests(RECORDS, False, {})]
    assert kinds == [_CONFIG, _CONFIG, _CONFIG, _PLAN, _CONFIG, _CONFIG, _CONFIG]


def test_pipecore_request_carries_them_all():
    [(kind, body, count)] = list(schema_requests(RECORDS, snapshot=True))
    assert kind == SCHEMA_REQUEST_TYPE and count == len(RECORDS)
    plan = decode_schema_plan(body)
    assert plan.snapshot and list(plan.records) == RECORDS


@pytest.mark.parametrize(
    "record",
    [
        {"op": "create_template", "name": "t"},
        {"op": "set_template", "name": "t"},
        {"op": "deactivate_template", "device": "root.sg.d"},
    ],
)
def test_pipecore_request_refuses_a_record_without_its_fields(record):
    body = schema_requests([record])
    [(_, raw, _)] = list(body)
    with pytest.raises(PipeProtocolError, match=record["op"]):
        decode_schema_plan(raw)
