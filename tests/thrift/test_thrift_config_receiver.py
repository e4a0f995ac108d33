"""The receiver's side of IoTDB's ConfigNode pipe (receiver_config.py), over a real socket: the
config handshake (50, and 0 after a 1801), config plans (200) applied idempotently with IoTDB's
conflict answers, and the config snapshot (201 pieces, 202 seal)."""

from __future__ import annotations

import struct

import pytest
from test_thrift_receiver import client  # noqa: F401

from pipecore.rpc import PipeTransferClient
from pipecore.schema_templates import SchemaTemplates
from pipecore.ttl import TTLTable
from pipecore_thrift_sink.protocol import (
    HandshakeParams,
    encode_file_piece,
    encode_file_seal_v2,
    encode_handshake_v1,
)
from pipecore_thrift_sink.protocol import PipeRequestType as T
from pipecore_thrift_sink.protocol import config_plan as cp

SENDER = "iotdb-config-cluster"


@pytest.fixture
def cfg(make_receiver, tmp_path):
    return make_receiver(templates=SchemaTemplates(tmp_path / "templates.json"))


def config_client(receiver, v1: bool = False) -> PipeTransferClient:
    c = PipeTransferClient("127.0.0.1", receiver.port, timeout=10)
    if v1:
        assert c.transfer(1, T.HANDSHAKE_CONFIGNODE_V1, encode_handshake_v1("ms")).code == 200
    else:
        params = HandshakeParams("ms", SENDER, "root", "root")
        assert c.transfer(1, T.HANDSHAKE_CONFIGNODE_V2, params.encode()).code == 200
    return c


def plan(c: PipeTransferClient, p: cp.ConfigPlan):
    return c.transfer(1, T.TRANSFER_CONFIG_PLAN, cp.encode_config_plan(p))


def databases(receiver) -> list[str]:
    return sorted(r[0] for r in receiver.store.show_databases("root.**").rows)


def test_plans_before_a_handshake_are_refused(cfg):
    with PipeTransferClient("127.0.0.1", cfg.port, timeout=10) as c:
        reply = plan(c, cp.DeleteDatabase("root.x"))
        assert reply.code == 1811


def test_databases_idempotent_with_iotdb_answers(cfg):
    with config_client(cfg) as c:
        create = cp.DatabasePlan(cp.DatabaseSchema("root.cfg.a"))
        assert plan(c, create).code == 200
        assert plan(c, create).code == 1809  # exists: IoTDB's idempotent conflict
        assert plan(c, cp.DatabasePlan(cp.DatabaseSchema("root.cfg.a.b"))).code == 1810
        alter = cp.DatabasePlan(cp.DatabaseSchema("root.cfg.a", ttl=5), cp.ALTER_DATABASE)
        assert plan(c, alter).code == 200
        assert databases(cfg) == ["root.cfg.a"]
        assert plan(c, cp.DeleteDatabase("root.cfg.a")).code == 200
        assert plan(c, cp.DeleteDatabase("root.cfg.a")).code == 1809
        assert databases(cfg) == []
        assert plan(c, alter).code == 1810  # alter what is not there
    with config_client(cfg, v1=True) as c:  # the v1 config handshake serves as well
        assert plan(c, create).code == 200
    assert cfg.store.show_databases("root.**").rows


def test_ttl_pipecore_keeps_none(cfg):
    with config_client(cfg) as c:
        assert plan(c, cp.DatabasePlan(cp.DatabaseSchema("root.t"))).code == 200
        assert plan(c, cp.SetTTL(("root", "t", "**"), cp.TTL_INFINITE, True)).code == 200
        assert plan(c, cp.SetTTL(("root", "t", "**"), cp.TTL_UNSET, True)).code == 200
        reply = plan(c, cp.SetTTL(("root", "t", "**"), 3600000, True))
        assert reply.code == 1810 and "keeps no TTL" in reply.message
        assert plan(c, cp.SetTTL(("root", "nope", "**"), 3600000, True)).code == 1809


def test_ttl_applied_to_the_ttl_table(make_receiver, tmp_path):
    receiver = make_receiver()
    table = TTLTable(tmp_path / "ttl.json", receiver.store)
    with config_client(receiver) as c:
        assert plan(c, cp.DatabasePlan(cp.DatabaseSchema("root.t"))).code == 200
        assert plan(c, cp.SetTTL(("root", "t", "**"), 3600000, True)).code == 200
        assert plan(c, cp.SetTTL(("root", "t", "d1"), 5000, False)).code == 200
        assert table.ttls == {"root.t": 3600000, "root.t.**": 3600000, "root.t.d1": 5000}
        assert table.ttl_of("root.t.d2") == 3600000 and table.ttl_of("root.t.d1") == 5000
        assert plan(c, cp.SetTTL(("root", "t", "**"), cp.TTL_UNSET, True)).code == 200
        assert plan(c, cp.SetTTL(("root", "nope", "**"), 3600000, True)).code == 1809
    assert table.ttls == {"root.t.d1": 5000}
    assert TTLTable(tmp_path / "ttl.json").ttls == {"root.t.d1": 5000}  # persisted


def test_templates(cfg):
    t = cp.TemplateDef("t1", False, (("s1", "INT32", "RLE", "SNAPPY"),))
    with config_client(cfg) as c:
        assert plan(c, cp.CreateTemplate(t)).code == 200
        assert plan(c, cp.CreateTemplate(t)).code == 1809
        assert plan(c, cp.CommitSetTemplate("nope", "root.tp.d")).code == 1810
        assert plan(c, cp.CommitSetTemplate("t1", "root.tp.d")).code == 200
        assert plan(c, cp.CommitSetTemplate("t1", "root.tp.d")).code == 1809
        assert plan(c, cp.CommitSetTemplate("t1", "root.tp.e", rollback=True)).code == 200
        extend = cp.ExtendTemplate("t1", (("s2", "DOUBLE", None, None),))
        assert plan(c, extend).code == 200
        assert plan(c, extend).code == 1809
        assert plan(c, cp.DropTemplate("t1")).code == 1810  # set somewhere
        assert plan(c, cp.UnsetTemplate("t1", "root.tp.d")).code == 200
        assert plan(c, cp.UnsetTemplate("t1", "root.tp.d")).code == 1809
        assert plan(c, cp.DropTemplate("t1")).code == 200
        assert plan(c, cp.DropTemplate("t1")).code == 1809
    assert "root.tp" in databases(cfg)  # SET made the database, as a write would
    assert cfg.settings.templates.templates == {}


def test_unknown_plans_are_user_conflicts(cfg):
    with config_client(cfg) as c:
        reply = c.transfer(1, T.TRANSFER_CONFIG_PLAN, struct.pack(">h", 1703) + b"\x00" * 8)
        assert (
            reply.code == 1810 and "PipeDeleteLogicalView (config plan type 1703)" in reply.message
        )
        assert c.transfer(1, T.TRANSFER_CONFIG_PLAN, b"\x00\xc8\x0b").code == 1107


def _istr(text: str) -> bytes:
    return struct.pack(">i", len(text)) + text.encode()


def test_snapshot_pieces_and_seal(cfg):
    schema = b"\x01" + _istr("snap") + struct.pack(">i", 0) + b"\x0b\x00\x01" + _istr("root.snap")
    schema += b"\x00" + b"\x00" + _istr("root") + struct.pack(">ii", -1, 1)
    tmpl = struct.pack(">ii", 1, 1) + struct.pack(">i", 0) + _istr("ts") + b"\x00"
    tmpl += struct.pack(">i", 1) + _istr("m") + b"\x00" + _istr("m") + bytes([2, 0, 7])
    files = {"cluster_schema.bin": schema, "template_info.bin": tmpl}
    with config_client(cfg) as c:
        for name, data in files.items():  # in two pieces each
            half = len(data) // 2
            for offset, chunk in ((0, data[:half]), (half, data[half:])):
                reply = c.transfer(
                    1, T.TRANSFER_CONFIG_SNAPSHOT_PIECE, encode_file_piece(name, offset, chunk)
                )
                assert reply.code == 200
        types = ",".join(str(t) for t in (200, 800, 813))
        params = {"PathPattern": "root.**", "fileType": "4", "Type": types}
        seal = encode_file_seal_v2(list(files), [len(d) for d in files.values()], params)
        reply = c.transfer(1, T.TRANSFER_CONFIG_SNAPSHOT_SEAL, seal)
        assert reply.code == 200, reply.message
        assert databases(cfg) == ["root.snap"]
        assert cfg.settings.templates.paths_set("ts") == ["root.snap"]
        # the same snapshot again (a restarted pipe): already there, idempotent conflicts
        for name, data in files.items():
            c.transfer(1, T.TRANSFER_CONFIG_SNAPSHOT_PIECE, encode_file_piece(name, 0, data))
        assert c.transfer(1, T.TRANSFER_CONFIG_SNAPSHOT_SEAL, seal).code == 1809
        short = encode_file_seal_v2(list(files), [1, 1], params)
        assert c.transfer(1, T.TRANSFER_CONFIG_SNAPSHOT_SEAL, short).code == 1804
