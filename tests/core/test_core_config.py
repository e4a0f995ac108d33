"""Configuration: IoTDB key names and defaults, TOML, PIPECORE_* variables, errors naming keys,
sections declared by other parts."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest

import pipecore
from pipecore import Config, ConfigError, config_section, hookimpl
from pipecore.config import _SECTIONS


def test_defaults_are_iotdbs() -> None:
    c = Config.load(env={})
    assert c.dn_rpc_port == 6667
    assert c.pipe_sink_timeout_ms == 900_000
    assert c.pipe_lib_dir == "ext/pipe"
    assert c.pipe_subtask_executor_max_thread_num == 5
    assert c.pipe_air_gap_receiver_enabled is False
    assert c.pipe_air_gap_receiver_port == 9780
    assert c.ip_white_list == "127.0.0.1/32,::1/128"
    assert c.max_number_of_sync_file_retry == 5
    assert c.enable_thrift_ssl is False
    assert c.timestamp_precision == "ms"
    assert c.pipe_subtask_executor_cron_heartbeat_event_interval_seconds == 20
    assert c.pipe_auto_restart_enabled is True
    assert c["key_store_path"] == ""


def test_the_pool_size_is_capped_by_half_the_cores() -> None:
    cores = os.cpu_count() or 1
    for configured in (1, 2, 5, 64):
        c = Config.load(env={}, overrides={"pipe_subtask_executor_max_thread_num": configured})
        assert c.pipe.subtask_thread_count == min(configured, max(1, cores // 2))


def test_toml_then_environment_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "pipecore.toml"
    path.write_text(
        'dn_rpc_port = 6668\npipe_lib_dir = "plugins"\n[sync]\nip_white_list = "10.0.0.0/8"\n'
    )
    c = Config.load(path, env={"PIPECORE_DN_RPC_PORT": "6669", "PIPECORE_OTHER_THING": "x"})
    assert (c.dn_rpc_port, c.pipe_lib_dir, c.ip_white_list) == (6669, "plugins", "10.0.0.0/8")
    assert c.origins["dn_rpc_port"] == "environment variable PIPECORE_DN_RPC_PORT"
    assert c.origins["pipe_lib_dir"] == str(path)
    c = Config.load(path, env={"PIPECORE_DN_RPC_PORT": "6669"}, overrides={"dn_rpc_port": 7000})
    assert c.dn_rpc_port == 7000


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        ("dn_rpc_prot = 1\n", "dn_rpc_prot", "unknown configuration key"),
        ('dn_rpc_port = "abc"\n', "dn_rpc_port", "expected an integer"),
        ("dn_rpc_port = 70000\n", "dn_rpc_port", "port number"),
        ("pipe_air_gap_receiver_enabled = 1\n", "pipe_air_gap_receiver_enabled", "true or false"),
        ("pipe_sink_timeout_ms = 0\n", "pipe_sink_timeout_ms", "must be positive"),
        ('timestamp_precision = "s"\n', "timestamp_precision", "must be one of"),
        ("[nosuch]\nx = 1\n", "nosuch", "unknown configuration section"),
    ],
)
def test_a_bad_key_or_value_names_the_key_and_the_file(
    tmp_path: Path, toml: str, key: str, fragment: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as info:
        Config.load(path, env={})
    assert info.value.key == key
    assert fragment in str(info.value) and key in str(info.value) and str(path) in str(info.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="PIPECORE_PIPE_SINK_TIMEOUT_MS"):
        Config.load(env={"PIPECORE_PIPE_SINK_TIMEOUT_MS": "soon"})


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("dn_rpc_port = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(path, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        Config.load(tmp_path / "missing.toml", env={})


def test_the_1_3_0_key_name_is_accepted_as_an_alias() -> None:
    c = Config.load(env={}, overrides={"pipe_connector_timeout_ms": 1234})
    assert c.pipe_sink_timeout_ms == 1234


def test_another_part_declares_its_own_section() -> None:
    @config_section("store-test")
    @attrs.frozen
    class StoreSection:
        wal_mode: str = "ASYNC"
        wal_async_mode_fsync_delay_in_ms: int = 1000

    try:
        c = Config.load(env={"PIPECORE_WAL_MODE": "SYNC"})
        assert c.wal_mode == "SYNC"
        assert c.section(StoreSection).wal_async_mode_fsync_delay_in_ms == 1000
        assert c.replace(dn_rpc_port=1).wal_mode == "SYNC"
    finally:
        del _SECTIONS["store-test"]
    with pytest.raises(AttributeError):
        Config.load(env={}).wal_mode  # noqa: B018


def test_a_key_declared_twice_is_an_error() -> None:
    @attrs.frozen
    class Clash:
        dn_rpc_port: int = 1

    with pytest.raises(ConfigError, match="dn_rpc_port"):
        Config.load(env={}, sections=[Clash])


def test_a_plugin_declares_keys_through_the_hook(tmp_path: Path) -> None:
    @attrs.frozen
    class ReceiverSection:
        pipe_receiver_test_port: int = 1

    class Plugin:
        @hookimpl
        def register_config_sections(self, register):
            register(ReceiverSection)

    toml = tmp_path / "c.toml"
    toml.write_text("pipe_receiver_test_port = 9\n")
    with pipecore.Node.open(tmp_path / "n", toml, plugins=[Plugin()], env={}) as node:
        assert node.config.pipe_receiver_test_port == 9
    with pytest.raises(ConfigError, match="pipe_receiver_test_port"):
        pipecore.Node.open(tmp_path / "n2", toml, env={})


def test_node_accepts_a_mapping_or_a_path(tmp_path: Path) -> None:
    with pipecore.Node.open(tmp_path / "a", {"pipe_lib_dir": "libs"}, env={}) as node:
        assert node.lib_dir == (tmp_path / "a" / "libs").resolve()
    with pytest.raises(ConfigError, match="no_such_key"):
        pipecore.Node.open(tmp_path / "b", {"no_such_key": 1}, env={})


def test_every_core_key_is_documented_with_its_default() -> None:
    from pipecore.config import NodeSection, PipeSection, SyncSection

    guide = (Path(__file__).resolve().parents[2] / "docs" / "user-guide.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip().strip("`")
        for line in guide.splitlines()
        if line.startswith("| `")
    }
    for section in (NodeSection, PipeSection, SyncSection):
        for field in attrs.fields(section):
            assert field.name in rows, f"{field.name} is not in docs/user-guide.md"
            shown = rows[field.name]
            default = field.default
            expected = (
                str(default).lower()
                if isinstance(default, bool)
                else '""'
                if default == ""
                else f"{default:g}"
                if isinstance(default, float)
                else str(default)
            )
            assert shown == expected, (field.name, shown, expected)
