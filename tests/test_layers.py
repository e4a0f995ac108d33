"""The rings of pipecore and their one dependency rule (docs/architecture.md), checked on the code.

    pipecore_storage  <-  kernel (pipecore/*.py)  <-  sql (pipecore/sql)
                      <-  server (pipecore/server)  <-  cli (pipecore/cli)
    pipecore.rpc: a leaf transport library on pipecore_storage alone, used by the server, the
    cli and plugins.

Every ``import`` and ``from ... import`` of every module is read from its syntax tree — also the
ones inside functions and under ``if TYPE_CHECKING:`` (a type hint is a dependency too). The one
sanctioned exception is the face's lazy ``pipecore.Node`` (``pipecore/__init__.py`` may name
``pipecore.server.node``). Built-in plugins import only the face ``pipecore``, ``pipecore.rpc``,
``pipecore_storage`` and one another.

A second test runs ``python -X importtime -c "from pipecore import hookimpl"`` and checks that
the first line of every plugin loads neither lark (the SQL grammar) nor the generated thrift code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: ring -> the rings (and packages) it may import. A ring may always import itself.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "rpc": {"storage"},
    "kernel": {"storage"},
    "sql": {"storage", "kernel"},
    "server": {"storage", "kernel", "sql", "rpc"},
    # the plugin author's test kit: in-process stand-ins and a conformance run on a real node
    "testing": {"storage", "kernel", "sql", "rpc", "server"},
    "cli": {"storage", "kernel", "sql", "rpc", "server", "testing"},
}
#: modules a ring may name although its ring may not: the face resolves `Node` lazily
EXCEPTIONS = {("pipecore", "pipecore.server.node")}
#: what the built-in plugins may import of ours (besides one another)
PLUGIN_FACE = ("pipecore", "pipecore.rpc", "pipecore_storage")
PLUGIN_FORBIDDEN = ("pipecore.rpc.gen",)


def ring_of(module: str) -> str | None:
    """The ring of one of our modules (None: not ours, or a plugin)."""
    parts = module.split(".")
    if parts[0] == "pipecore_storage":
        return "storage"
    if parts[0] != "pipecore":
        return None
    if len(parts) > 1 and parts[1] in ("rpc", "sql", "server", "cli", "testing"):
        return parts[1]
    return "kernel"


def _module_name(path: Path, source_root: Path) -> str:
    rel = path.relative_to(source_root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Absolute names of every module `module` imports (relative imports resolved; for
    ``from P import N`` it is P.N, which `_known` reduces to P when N is not a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _known(name: str, modules: set[str]) -> str | None:
    """`name` if it is one of our modules or packages, else its longest known prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def our_modules() -> dict[str, tuple[Path, Path]]:
    """module name -> (file, source root) for pipecore, pipecore_storage and the plugins."""
    plugins = sorted(p for p in (ROOT / "plugins").iterdir() if p.is_dir())
    roots = [ROOT, ROOT / "storage", *plugins]
    found: dict[str, tuple[Path, Path]] = {}
    for root in roots:
        for package in root.iterdir():
            if not (package / "__init__.py").exists() or not package.name.startswith("pipecore"):
                continue
            for path in package.rglob("*.py"):
                found[_module_name(path, root)] = (path, root)
    return found


def violations(sources: dict[str, tuple[str, bool]], modules: set[str]) -> list[str]:
    """Every import across the rule, as ``importer -> imported (why)``.

    `sources` maps a module name to (its source text, whether it is a package)."""
    out: list[str] = []
    for module, (text, is_package) in sorted(sources.items()):
        mine = ring_of(module)
        for name in sorted(imports_of(ast.parse(text), module, is_package)):
            target = _known(name, modules)
            if target is None or target == module:
                continue
            theirs = ring_of(target)
            if mine is None:  # a built-in plugin
                if theirs is None:
                    continue  # one plugin on another (air gap and ssl build on thrift)
                public = target in PLUGIN_FACE or target.startswith(
                    ("pipecore.rpc.", "pipecore_storage.")
                )
                if not public or target.startswith(PLUGIN_FORBIDDEN):
                    out.append(f"{module} -> {target} (plugins use the face only)")
                continue
            if theirs is None:
                out.append(f"{module} -> {target} (pipecore never imports a plugin)")
            elif (
                theirs != mine
                and theirs not in ALLOWED[mine]
                and (module, target) not in EXCEPTIONS
            ):
                out.append(f"{module} -> {target} ({mine} may not import {theirs})")
    return out


def test_every_import_follows_the_ring_rule() -> None:
    modules = our_modules()
    assert {"pipecore", "pipecore.hookspecs", "pipecore.sql", "pipecore.server.node"} <= set(
        modules
    )
    sources = {
        name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for name, (path, _root) in modules.items()
        if not name.startswith("pipecore.rpc.gen")  # generated thrift code
    }
    assert violations(sources, set(modules)) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        # the kernel naming the node for a type hint only
        (
            "pipecore.hookspecs",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .server.node import Node\n",
            "pipecore.hookspecs -> pipecore.server.node (kernel may not import server)",
        ),
        # the kernel reaching the SQL front end, inside a function
        (
            "pipecore.pipes",
            "def f():\n    from pipecore import sql\n",
            "pipecore.pipes -> pipecore.sql (kernel may not import sql)",
        ),
        # the SQL ring on the transport
        (
            "pipecore.sql.executor",
            "from ..rpc import thrift\n",
            "pipecore.sql.executor -> pipecore.rpc.thrift (sql may not import rpc)",
        ),
        # the transport on the kernel
        (
            "pipecore.rpc.server",
            "import pipecore.events\n",
            "pipecore.rpc.server -> pipecore.events (rpc may not import kernel)",
        ),
        # the server on the command line
        (
            "pipecore.server.node",
            "from ..cli import remote\n",
            "pipecore.server.node -> pipecore.cli.remote (server may not import cli)",
        ),
        # a plugin behind the face
        (
            "pipecore_thrift_sink.receiver",
            "from pipecore.server.users import UserStore\n",
            "pipecore_thrift_sink.receiver -> pipecore.server.users (plugins use the face only)",
        ),
        (
            "pipecore_thrift_sink.client",
            "from pipecore.rpc.gen.iotdb_rpc import ttypes\n",
            "pipecore_thrift_sink.client -> pipecore.rpc.gen.iotdb_rpc.ttypes "
            "(plugins use the face only)",
        ),
    ],
)
def test_a_forbidden_import_is_found(module: str, source: str, expected: str) -> None:
    modules = set(our_modules())
    assert violations({module: (source, False)}, modules) == [expected]
    # and the same module with allowed imports only passes
    assert (
        violations({module: ("import os\nfrom pipecore_storage import Store\n", False)}, modules)
        == []
    )


def test_the_face_loads_neither_lark_nor_generated_thrift() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from pipecore import hookimpl"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    # importtime lines: "import time: self [us] | cumulative | imported package", indented by depth
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "pipecore.hookspecs" in loaded  # the measurement sees our modules
    assert not {m for m in loaded if m == "lark" or m.startswith("lark.")}
    assert not {m for m in loaded if m.startswith("pipecore.rpc")}
    assert not {m for m in loaded if m.startswith(("pipecore.sql", "pipecore.server"))}
