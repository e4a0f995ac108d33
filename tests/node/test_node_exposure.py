"""A node is not opened up by accident: with root's default password it does not serve on a
non-loopback address (unless told), and plugins are never loaded from the node's own data
directory or receiver folders (where network clients can put bytes), nor from URIs outside
``trusted_uri_pattern``."""

from __future__ import annotations

import pytest

from pipecore import Node
from pipecore.errors import PipeError, PluginLoadError
from pipecore.security import check_exposure, is_loopback
from pipecore.sql.errors import SqlError

NOT_LOCAL = "192.0.2.1"  # TEST-NET-1: never an address of this machine (binding it fails)

PLUGIN = """
from pipecore import Connector

class Evil(Connector):
    pass
"""


def test_default_password_refuses_a_non_loopback_bind(tmp_path):
    with Node.open(tmp_path / "node") as node:
        with pytest.raises(PipeError, match="allow_default_password_on_network=true"):
            node.serve(NOT_LOCAL, 0)
        assert node.server is None
        node.users.set_password("root", "a-better-one")
        check_exposure(node, NOT_LOCAL)  # a changed password: allowed
    with Node.open(tmp_path / "n2", {"allow_default_password_on_network": True}) as node:
        check_exposure(node, NOT_LOCAL)  # told otherwise: allowed


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback(NOT_LOCAL)


@pytest.mark.parametrize("where", ["data", "receiver", "store"])
def test_plugins_are_never_loaded_from_the_node_folders(tmp_path, where):
    with Node.open(tmp_path / "node") as node:
        folder = {
            "data": node.data_dir / "uploads",
            "receiver": node.data_dir / "system" / "pipe" / "receiver" / "1",
            "store": node.store.path / "sequence",
        }[where]
        folder.mkdir(parents=True, exist_ok=True)
        evil = folder / "evil_mod.py"
        evil.write_text(PLUGIN)
        for uri in (str(evil), f"file://{evil}", str(folder / ".." / evil.parent.name / evil.name)):
            with pytest.raises(PluginLoadError, match="not trusted") as info:
                node.create_plugin("evil", "evil_mod:Evil", uri)
            assert str(node.data_dir) not in str(info.value).replace(uri, "")
        assert node.registry.find("EVIL") is None


def test_trusted_uri_pattern(tmp_path):
    plugin = tmp_path / "plugins" / "good_mod.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN.replace("Evil", "Good"))
    config = {"trusted_uri_pattern": ".*/trusted/.*"}
    with (
        Node.open(tmp_path / "node", config) as node,
        pytest.raises(PluginLoadError, match="trusted_uri_pattern"),
    ):
        node.create_plugin("good", "good_mod:Good", str(plugin))
    with Node.open(tmp_path / "node2", {"trusted_uri_pattern": f"{tmp_path}/plugins/.*"}) as node:
        assert node.create_plugin("good", "good_mod:Good", str(plugin))


def _load_answer(node, path) -> str:
    with pytest.raises(SqlError) as refused:
        node.run(f"LOAD '{path}'")
    return refused.value.reason


def test_load_outside_the_allowed_dirs_reveals_nothing(tmp_path):
    allowed = tmp_path / "incoming"
    allowed.mkdir()
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "real.tsfile").write_bytes(b"TsFile")
    config = {"load_tsfile_allowed_dirs": str(allowed)}
    with Node.open(tmp_path / "node", config) as node:
        answers = {
            _load_answer(node, p).replace(str(p), "<p>")
            for p in (
                outside / "real.tsfile",  # exists
                outside / "missing.tsfile",  # does not
                outside,  # a directory
                tmp_path / "nowhere" / "x",  # nor does its folder
                allowed / ".." / "secret" / "real.tsfile",  # a way out of the allowed dir
            )
        }
        assert len(answers) == 1  # one answer whatever exists there
        [answer] = answers
        assert "outside the directories LOAD may read" in answer
        link = allowed / "link.tsfile"
        link.symlink_to(outside / "real.tsfile")  # a symbolic link out is resolved first
        assert "outside the directories" in _load_answer(node, link)
        # inside the allowed directory LOAD says what is wrong
        assert "does not exist" in _load_answer(node, allowed / "missing.tsfile")


def test_load_never_reads_the_nodes_own_files(tmp_path):
    with Node.open(tmp_path / "node") as node:
        node.run("INSERT INTO root.sg.d(time, s) VALUES (1, 1)")
        node.run("FLUSH")
        [own] = list((tmp_path / "node").rglob("*.tsfile"))
        assert "outside the directories" in _load_answer(node, own)
        assert "outside the directories" in _load_answer(node, tmp_path / "node")
        assert own.exists()


def test_a_plugin_uri_with_a_nul_byte_is_refused_not_an_internal_error(tmp_path) -> None:
    """Found by the SQL fuzz test: the path check raised ValueError (an internal error)."""
    with Node.open(tmp_path / "node") as node:
        with pytest.raises(SqlError) as info:
            node.execute("CREATE PIPEPLUGIN x AS 'a.B' USING URI 'file:///tmp/a\x00b'")
        assert not getattr(info.value, "internal", False)
        assert "NUL byte" in str(info.value)
