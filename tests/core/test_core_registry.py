"""The plugin registry: entry points (lazy, once, switches), names, provenance, external
plugins from a wheel / .py file / package directory."""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import pipecore
from pipecore import (
    PipeError,
    PluginConflictError,
    PluginInUseError,
    PluginLoadError,
    PluginNotFoundError,
)
from pipecore.registry import ENV_DISABLE_AUTOLOAD, ENV_LOAD_PLUGINS, PluginRegistry

SINK_MODULE = """
from pipecore import Connector, hookimpl

LOADS = []

class {cls}(Connector):
    def connector_transfer_tablet(self, event):
        return None

@hookimpl
def register_pipe_plugins(register):
    LOADS.append(1)
    register("sink", "{name}", {cls})
"""


def make_distribution(
    site: Path, dist: str, module: str, source: str, version: str = "1.2.3"
) -> None:
    """An installed distribution on `site` (a sys.path entry) with a `pipecore` entry point."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[pipecore]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    before = set(sys.modules)
    yield path
    for name in set(sys.modules) - before:
        if name.startswith("regtest_"):
            del sys.modules[name]


def test_builtins_come_from_the_projects_own_entry_point() -> None:
    registry = PluginRegistry(env={})
    entries = {e.name: e for e in registry.entries()}
    assert {"DO-NOTHING-SOURCE", "DO-NOTHING-PROCESSOR", "DO-NOTHING-SINK"} <= set(entries)
    sink = entries["DO-NOTHING-SINK"]
    assert (sink.kind, sink.origin, sink.plugin_type, sink.plugin_jar) == (
        "sink",
        "builtin",
        "Builtin",
        "",
    )
    assert sink.distribution == "pipecore"
    assert sink.class_name == "pipecore.builtin.DoNothingSink"
    assert "DO-NOTHING-CONNECTOR" in sink.aliases
    assert "DO-NOTHING-EXTRACTOR" in entries["DO-NOTHING-SOURCE"].aliases


@pytest.mark.parametrize(
    "spelling", ["do-nothing-sink", "DO-NOTHING-SINK", "Do-Nothing-Connector", " do-nothing-sink "]
)
def test_names_are_case_insensitive_and_aliases_resolve(spelling: str) -> None:
    assert PluginRegistry(env={}).get(spelling).name == "DO-NOTHING-SINK"


def test_an_unknown_name_has_iotdbs_message() -> None:
    with pytest.raises(PluginNotFoundError) as info:
        PluginRegistry(env={}).get("no-such-sink")
    assert str(info.value) == (
        "Failed to reflect PipePlugin instance, because PipePlugin NO-SUCH-SINK has not "
        "been registered."
    )


def test_a_plugin_of_another_kind_is_refused() -> None:
    with pytest.raises(PipeError, match="DO-NOTHING-PROCESSOR is a processor plugin"):
        PluginRegistry(env={}).instantiate("do-nothing-processor", "sink")


def test_third_party_entry_points_load_lazily_once_with_provenance(site: Path) -> None:
    make_distribution(
        site, "regtest-dist", "regtest_lazy", SINK_MODULE.format(cls="LazySink", name="lazy-sink")
    )
    registry = PluginRegistry(env={})
    assert "regtest_lazy" not in sys.modules  # nothing imported before the first lookup
    entry = registry.get("LAZY-CONNECTOR")
    assert entry.name == "LAZY-SINK"
    assert (entry.origin, entry.plugin_type, entry.plugin_jar) == (
        "installed",
        "External",
        "regtest-dist==1.2.3",
    )
    registry.get("lazy-sink")
    registry.entries()
    assert sys.modules["regtest_lazy"].LOADS == [1]  # loaded and registered once


def test_autoload_switch_keeps_only_the_builtins(site: Path) -> None:
    make_distribution(
        site, "regtest-off", "regtest_off", SINK_MODULE.format(cls="OffSink", name="off-sink")
    )
    registry = PluginRegistry(env={ENV_DISABLE_AUTOLOAD: "1"})
    assert registry.find("off-sink") is None
    assert registry.find("do-nothing-sink") is not None
    assert "regtest_off" not in sys.modules


def test_the_allow_list_loads_only_the_listed_plugins(site: Path) -> None:
    make_distribution(site, "regtest-a", "regtest_a", SINK_MODULE.format(cls="A", name="a-sink"))
    make_distribution(site, "regtest-b", "regtest_b", SINK_MODULE.format(cls="B", name="b-sink"))
    only_a = PluginRegistry(env={ENV_LOAD_PLUGINS: "regtest-a"})
    assert only_a.find("a-sink") is not None and only_a.find("b-sink") is None
    none = PluginRegistry(env={ENV_LOAD_PLUGINS: ""})
    assert none.find("a-sink") is None and none.find("do-nothing-sink") is not None


def test_a_plugin_that_fails_to_import_is_recorded_and_the_node_opens(
    site: Path, tmp_path: Path
) -> None:
    make_distribution(site, "regtest-broken", "regtest_broken", "raise ImportError('no lib')\n")
    with pipecore.Node.open(tmp_path / "node") as node:
        assert any(e.name == "DO-NOTHING-SINK" for e in node.list_plugins())
        (failure,) = [f for f in node.plugin_failures if f.distribution == "regtest-broken"]
        assert "ImportError: no lib" in failure.error
        assert failure.source == "regtest_broken = regtest_broken"


def test_a_name_collision_keeps_the_first_and_records_the_second(site: Path) -> None:
    make_distribution(
        site,
        "regtest-clash",
        "regtest_clash",
        SINK_MODULE.format(cls="Clash", name="do-nothing-sink"),
    )
    registry = PluginRegistry(env={})
    assert registry.get("do-nothing-sink").origin == "builtin"
    (failure,) = [f for f in registry.failures if f.distribution == "regtest-clash"]
    assert "the same name PipePlugin has been created" in failure.error


# ---------------------------------------------------------------------------- external plugins
EXTERNAL = """
from pipecore import Connector
from pipecore.testing.plugins import counts

class {cls}(Connector):
    def connector_customize(self, parameters, configuration):
        self.counts = counts(parameters.get_string_or_default("sink.counter", "ext"))

    def connector_transfer_tablet(self, event):
        self.counts.points += event.tablet.point_count()
"""


def _py_file(tmp_path: Path, module: str, cls: str) -> Path:
    path = tmp_path / "uploads" / f"{module}.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(EXTERNAL.format(cls=cls))
    return path


def _package_dir(tmp_path: Path, package: str, cls: str) -> Path:
    root = tmp_path / "uploads" / package
    root.mkdir(parents=True)
    (root / "helper.py").write_text(EXTERNAL.format(cls=cls))
    (root / "__init__.py").write_text(f"from .helper import {cls}\nfrom {package} import helper\n")
    return root


def _wheel(tmp_path: Path, package: str, cls: str) -> Path:
    path = tmp_path / "uploads" / f"{package}-1.0-py3-none-any.whl"
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{package}/__init__.py", EXTERNAL.format(cls=cls))
        zf.writestr(f"{package}-1.0.dist-info/METADATA", f"Name: {package}\nVersion: 1.0\n")
        zf.writestr(f"{package}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return path


@pytest.mark.parametrize("form", ["py", "dir", "wheel"])
def test_external_plugin_is_copied_used_and_reloaded_after_restart(
    form: str, tmp_path: Path, open_node, wait
) -> None:
    from pipecore.testing import plugins

    module = f"regtest_ext_{form}"
    if form == "py":
        uri, class_name = str(_py_file(tmp_path, module, "ExtSink")), "ExtSink"
    elif form == "dir":
        uri, class_name = _package_dir(tmp_path, module, "ExtSink").as_uri(), f"{module}:ExtSink"
    else:
        uri, class_name = str(_wheel(tmp_path, module, "ExtSink")), f"{module}.ExtSink"
    node = open_node()
    assert node.create_plugin("ext-sink", class_name, uri) is True
    entry = {e.name: e for e in node.list_plugins()}["EXT-SINK"]
    assert (entry.plugin_type, entry.kind) == ("External", "sink")
    assert entry.plugin_jar.startswith("EXT-SINK/")
    assert (node.lib_dir / entry.plugin_jar).exists()
    assert not any(str(node.lib_dir) in p for p in sys.path)  # nothing added to sys.path
    plugins.reset(f"ext-{form}")
    sink = {"sink": "ext-sink", "sink.counter": f"ext-{form}"}
    node.create_pipe("p", {"source": "generated-source", "points": "5000"}, None, sink)
    wait(lambda: plugins.counts(f"ext-{form}").points == 5000)
    node.close()
    assert module not in sys.modules  # unloaded with the node

    plugins.reset(f"ext-{form}")
    node = open_node()  # restart: the plugin comes back from pipe_lib_dir, the pipe resumes
    assert node.registry.get("ext-sink").origin == "external"
    assert node.get_pipe("p").state == "RUNNING"
    node.drop_pipe("p")
    assert node.drop_plugin("ext-sink") is True
    assert not (node.lib_dir / "EXT-SINK").exists()
    assert node.registry.find("ext-sink") is None
    node.close()
    assert not open_node().registry.find("ext-sink")


def test_create_plugin_refuses_a_taken_name_unless_if_not_exists(tmp_path: Path, open_node):
    node = open_node()
    uri = str(_py_file(tmp_path, "regtest_taken", "T"))
    with pytest.raises(PluginConflictError) as info:
        node.create_plugin("do-nothing-sink", "T", uri)
    assert str(info.value) == (
        "Failed to create PipePlugin [DO-NOTHING-SINK], the same name PipePlugin has been created"
    )
    assert node.create_plugin("do-nothing-sink", "T", uri, if_not_exists=True) is False
    assert not (node.lib_dir / "DO-NOTHING-SINK").exists()


def test_dropping_a_plugin_in_use_names_the_pipe(tmp_path: Path, open_node) -> None:
    node = open_node()
    node.create_plugin("used-sink", "U", str(_py_file(tmp_path, "regtest_used", "U")))
    node.create_pipe("users", {"source": "do-nothing-source"}, None, {"sink": "used-sink"})
    with pytest.raises(PluginInUseError) as info:
        node.drop_plugin("USED-SINK")
    assert str(info.value) == "PipePlugin 'USED-SINK' is already used by Pipe 'users' as a sink."
    assert node.registry.find("used-sink") is not None


def test_drop_plugin_errors(open_node) -> None:
    node = open_node()
    with pytest.raises(PipeError, match=r"\[DO-NOTHING-SINK\], the PipePlugin is a built-in"):
        node.drop_plugin("do-nothing-sink")
    with pytest.raises(PluginNotFoundError) as info:
        node.drop_plugin("ghost")
    assert (
        str(info.value) == "Failed to drop PipePlugin [GHOST], this PipePlugin has not been created"
    )
    assert node.drop_plugin("ghost", if_exists=True) is False


def test_a_bad_uri_or_class_leaves_nothing_behind(tmp_path: Path, open_node) -> None:
    node = open_node()
    with pytest.raises(PluginLoadError, match="no such file"):
        node.create_plugin("x-sink", "X", str(tmp_path / "missing.py"))
    with pytest.raises(PluginLoadError, match="is not trusted"):  # IoTDB's default file:.*
        node.create_plugin("x-sink", "X", "https://example.com/x.whl")
    uri = str(_py_file(tmp_path, "regtest_wrong_class", "Right"))
    with pytest.raises(PluginLoadError, match="Wrong"):
        node.create_plugin("x-sink", "Wrong", uri)
    assert not (node.lib_dir / "X-SINK").exists()
    assert node.registry.find("x-sink") is None


def test_two_plugins_cannot_bring_the_same_module(tmp_path: Path, open_node) -> None:
    node = open_node()
    first = tmp_path / "one" / "regtest_same.py"
    second = tmp_path / "two" / "regtest_same.py"
    for path, cls in ((first, "One"), (second, "Two")):
        path.parent.mkdir()
        path.write_text(EXTERNAL.format(cls=cls))
    node.create_plugin("one-sink", "One", str(first))
    with pytest.raises(PluginLoadError, match="regtest_same"):
        node.create_plugin("two-sink", "Two", str(second))
    assert node.registry.find("two-sink") is None


def test_an_external_plugin_that_no_longer_loads_is_recorded(tmp_path: Path, open_node) -> None:
    node = open_node()
    node.create_plugin("gone-sink", "G", str(_py_file(tmp_path, "regtest_gone", "G")))
    node.close()
    (node.lib_dir / "GONE-SINK" / "regtest_gone.py").write_text("raise RuntimeError('bad')\n")
    node = open_node()
    assert node.registry.find("gone-sink") is None
    (failure,) = [f for f in node.plugin_failures if f.name == "GONE-SINK"]
    assert "bad" in failure.error


def test_a_trusted_remote_uri_is_still_refused(tmp_path: Path, open_node) -> None:
    """A node that trusts every URI still installs local files only."""
    node = open_node(trusted_uri_pattern=".*")
    with pytest.raises(PluginLoadError, match="only local files"):
        node.create_plugin("x-sink", "X", "https://example.com/x.whl")
    assert node.registry.find("x-sink") is None
