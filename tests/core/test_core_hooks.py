"""Hook specs: pluggy checks every stage's plugin instance; global wrappers wrap every pipe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pipecore
from pipecore import Connector, PluginHookError, StageContext, TabletInsertionEvent, hookimpl
from pipecore import hookspecs as specs
from pipecore.metrics import PipeMetrics
from pipecore.registry import PluginRegistry
from pipecore.stage import Stage, check_plugin_class, stage_hook_names

ROOT = Path(__file__).resolve().parents[2]
CTX = StageContext("p", "sink", "X-SINK", 0)


class Misspelled(Connector):
    def connector_transfer_tabelt(self, event: TabletInsertionEvent) -> None:  # typo
        return None


class WrongArgument(Connector):
    def connector_transfer_tablet(self, tablet: object) -> None:
        return None


class ForeignHook(Connector):
    def extractor_supply(self) -> None:
        return None


def test_a_misspelled_hook_is_an_error_naming_plugin_and_hook() -> None:
    with pytest.raises(PluginHookError) as info:
        Stage("sink", "X-SINK", Misspelled(), CTX)
    assert info.value.plugin_name == "X-SINK"
    assert info.value.hook == "connector_transfer_tabelt"
    assert "X-SINK" in str(info.value) and "connector_transfer_tabelt" in str(info.value)
    assert "did you mean connector_transfer_tablet" in str(info.value)


def test_the_pluggy_check_itself_catches_the_misspelling() -> None:
    """Stage registration goes through pluggy; its check_pending is what reports the typo."""
    import pluggy

    from pipecore.stage import StagePluginManager

    pm = StagePluginManager()
    pm.register(Misspelled(), "x")
    with pytest.raises(pluggy.PluginValidationError, match="connector_transfer_tabelt"):
        pm.check_pending()


def test_an_argument_the_hook_does_not_have_is_an_error() -> None:
    with pytest.raises(PluginHookError) as info:
        Stage("sink", "X-SINK", WrongArgument(), CTX)
    assert info.value.hook == "connector_transfer_tablet"
    assert "tablet" in str(info.value)


def test_a_hook_of_another_kind_is_an_error() -> None:
    with pytest.raises(PluginHookError, match="extractor_supply"):
        Stage("sink", "X-SINK", ForeignHook(), CTX)


@pytest.mark.parametrize("cls", [Misspelled, WrongArgument, ForeignHook])
def test_registration_refuses_such_classes_before_any_instance(cls: type) -> None:
    with pytest.raises(PluginHookError):
        check_plugin_class("sink", cls, "X")
    registry = PluginRegistry(load_entry_points=False)
    with pytest.raises(PluginHookError):
        registry.add("sink", "x-sink", cls)
    assert registry.find("x-sink") is None


def test_a_plugin_method_may_ask_for_the_stage_context() -> None:
    seen: list[StageContext] = []

    class Aware(Connector):
        def connector_transfer_tablet(self, event: TabletInsertionEvent, stage) -> None:
            seen.append(stage)

    stage = Stage("sink", "X-SINK", Aware(), CTX)
    stage.call["connector_transfer_tablet"](None)
    assert seen == [CTX]


def test_the_shipped_metrics_wrapper_counts_every_pipe(tmp_path: Path, wait) -> None:
    from pipecore.testing import plugins

    metrics = PipeMetrics()
    with pipecore.Node.open(tmp_path, plugins=[plugins, metrics], env={}) as node:
        for name, points in (("a", 30_000), ("b", 50_000)):
            node.create_pipe(
                name,
                {"source": "generated-source", "points": str(points), "rows-per-tablet": "1000"},
                None,
                {"sink": "counting-sink", "counter": f"wrap-{name}"},
            )
        wait(lambda: plugins.counts("wrap-a").points == 30_000)
        wait(lambda: plugins.counts("wrap-b").points == 50_000)
    a, b = metrics.snapshot("a"), metrics.snapshot("b")
    assert (a.supplied, a.transferred, a.points) == (30, 30, 30_000)
    assert (b.supplied, b.transferred, b.points) == (50, 50, 50_000)
    assert a.transfer_errors == 0 and a.transfer_seconds > 0
    assert metrics.pipes() == ["a", "b"]


def test_a_wrapper_sees_the_sinks_exception_which_still_stops_the_pipe(
    tmp_path: Path, wait
) -> None:
    class Boom(Connector):
        def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
            raise OSError("disk full")

    class Plugins:
        @hookimpl
        def register_pipe_plugins(self, register) -> None:
            register("sink", "boom-sink", Boom)

    from pipecore.testing import plugins

    metrics = PipeMetrics()
    with pipecore.Node.open(tmp_path, plugins=[plugins, Plugins(), metrics], env={}) as node:
        node.create_pipe(
            "p", {"source": "generated-source", "points": "10"}, None, {"sink": "boom-sink"}
        )
        info = wait(lambda: (i := node.get_pipe("p")).state == "STOPPED" and i)
    assert "OSError: disk full" in info.exceptions[0].message
    assert metrics.snapshot("p").transfer_errors == 1


def test_a_misspelled_global_wrapper_is_refused(tmp_path: Path) -> None:
    class Bad:
        @hookimpl(wrapper=True)
        def connector_transfer_tablets(self, event):
            return (yield)

    with pytest.raises(Exception, match="connector_transfer_tablets"):
        pipecore.Node.open(tmp_path, plugins=[Bad()])
    # the directory lock was released: the node opens fine afterwards
    pipecore.Node.open(tmp_path).close()


def test_every_hook_is_documented() -> None:
    doc = (ROOT / "docs" / "hooks.md").read_text()
    headings = set(re.findall(r"^#+\s+`?(\w+)", doc, flags=re.MULTILINE))
    hooks = [*specs.NODE_HOOKS, *stage_hook_names()]
    missing = [h for h in hooks if h not in headings]
    assert not missing, f"hooks missing from docs/hooks.md: {missing}"
    # and nothing documented that does not exist
    spec_names = {n for n in vars(specs) if hasattr(getattr(specs, n), "pipecore_spec")}
    assert set(hooks) == spec_names
