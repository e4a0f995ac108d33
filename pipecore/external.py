"""External pipe plugins: CREATE PIPEPLUGIN name AS 'module:Class' USING URI 'uri'.

The URI is a local path (or ``file:`` URI) to one of:

* a wheel (``.whl``) — copied into ``pipe_lib_dir/<NAME>/`` and unpacked next to it;
* a ``.py`` file — copied there; the class name may omit the module (the file's stem);
* a directory — a package (with ``__init__.py``, imported under the directory's name) or a
  folder of modules.

Each plugin lives in its own folder and is imported without touching ``sys.path``: its
top-level module is found only in that folder and registered under its own name, so absolute
imports inside the plugin work. A top-level module name that is already imported from
elsewhere, or importable from ``sys.path``, is refused (two plugins cannot shadow each other or
an installed package). Dropping the plugin unloads its modules and deletes its folder.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote, urlparse

import attrs

from pipecore_storage.fsutil import child_path

from .errors import PluginLoadError

__all__ = ["ExternalPluginRecord", "install", "load_class", "uninstall", "unload"]


@attrs.frozen
class ExternalPluginRecord:
    """What the catalog keeps about an external plugin (and what SHOW PIPEPLUGINS shows)."""

    name: str  # upper case
    class_name: str  # as given: 'module:Class', 'module.Class' or 'Class'
    uri: str  # as given
    file: str  # the copy, relative to pipe_lib_dir: '<NAME>/<basename>'
    md5: str
    kind: str = ""  # filled once the class is loaded

    def to_json(self) -> dict[str, str]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ExternalPluginRecord:
        return cls(**{f.name: data[f.name] for f in attrs.fields(cls) if f.name in data})


def _source_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and uri[1:3] in (":\\", ":/")):
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
        if not path.exists():
            raise PluginLoadError(f"plugin URI {uri!r}: no such file or directory", source=uri)
        return path
    raise PluginLoadError(
        f"plugin URI {uri!r}: only local files are supported (a path or a file: URI)", source=uri
    )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _unpack_wheel(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            resolved = (target / member).resolve()
            if not resolved.is_relative_to(target.resolve()):
                raise PluginLoadError(f"wheel {wheel.name}: member {member!r} escapes the folder")
        zf.extractall(target)


def _plugin_folder(lib_dir: Path, name: str) -> Path:
    return child_path(lib_dir, name, "PipePlugin name")


def _import_root(lib_dir: Path, record: ExternalPluginRecord) -> Path:
    folder_name, _, file_name = record.file.partition("/")
    copy = child_path(_plugin_folder(lib_dir, folder_name), file_name, "plugin file name")
    if copy.suffix == ".whl":
        return copy.parent / "site"
    if copy.is_dir() and not (copy / "__init__.py").exists():
        return copy
    return copy.parent


def _default_module(record: ExternalPluginRecord) -> str | None:
    copy = Path(record.file)
    if copy.suffix == ".py":
        return copy.stem
    if copy.suffix != ".whl":
        return copy.name
    return None


def _split_class_name(record: ExternalPluginRecord) -> tuple[str, str]:
    text = record.class_name.strip()
    if ":" in text:
        module, _, attr = text.partition(":")
    else:
        module, _, attr = text.rpartition(".")
    module = module or (_default_module(record) or "")
    if not module or not attr:
        raise PluginLoadError(
            f"PipePlugin {record.name}: class name {record.class_name!r} must be "
            "'module:Class' or 'module.Class'",
            record.name,
            record.uri,
        )
    return module, attr


def _import_isolated(root: Path, module_name: str, record: ExternalPluginRecord) -> ModuleType:
    top = module_name.partition(".")[0]
    loaded = sys.modules.get(top)
    if loaded is not None:
        where = Path(getattr(loaded, "__file__", None) or "<built-in>")
        if not where.resolve().is_relative_to(root.resolve()):
            raise PluginLoadError(
                f"PipePlugin {record.name}: module {top!r} is already imported from {where}",
                record.name,
                record.uri,
            )
    else:
        spec = importlib.machinery.PathFinder.find_spec(top, [str(root)])
        if spec is None or spec.loader is None:
            raise PluginLoadError(
                f"PipePlugin {record.name}: no module {top!r} in {record.uri}",
                record.name,
                record.uri,
            )
        if importlib.util.find_spec(top) is not None:
            raise PluginLoadError(
                f"PipePlugin {record.name}: module {top!r} would shadow an installed module of "
                "the same name",
                record.name,
                record.uri,
            )
        module = importlib.util.module_from_spec(spec)
        sys.modules[top] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(top, None)
            raise
    return importlib.import_module(module_name)


def load_class(lib_dir: Path, record: ExternalPluginRecord) -> type:
    """Import the plugin's class from its copy in `lib_dir`."""
    module_name, attr = _split_class_name(record)
    root = _import_root(lib_dir, record)
    try:
        obj: object = _import_isolated(root, module_name, record)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except PluginLoadError:
        raise
    except Exception as exc:
        raise PluginLoadError(
            f"PipePlugin {record.name}: cannot load {record.class_name} from {record.uri}: "
            f"{type(exc).__name__}: {exc}",
            record.name,
            record.uri,
        ) from exc
    if not isinstance(obj, type):
        raise PluginLoadError(
            f"PipePlugin {record.name}: {record.class_name} is not a class", record.name, record.uri
        )
    return obj


_MAX_PLUGIN_FILES = 5000
_MAX_PLUGIN_BYTES = 256 * 1024 * 1024


def _check_plugin_directory(source: Path, uri: str, name: str) -> None:
    """A package directory is copied whole: refuse what cannot be one (no Python file at its
    top, or more than a plugin's worth of files or bytes — say, ``USING URI '/'``)."""
    if not any(p.suffix == ".py" for p in source.iterdir()):
        raise PluginLoadError(
            f"plugin URI {uri!r}: a directory must be a Python package or hold .py files",
            name,
            uri,
        )
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        files += len(filenames)
        for f in filenames:
            size += os.lstat(os.path.join(dirpath, f)).st_size
        if files > _MAX_PLUGIN_FILES or size > _MAX_PLUGIN_BYTES:
            raise PluginLoadError(
                f"plugin URI {uri!r}: directory too large for a plugin (more than "
                f"{_MAX_PLUGIN_FILES} files or {_MAX_PLUGIN_BYTES >> 20} MiB)",
                name,
                uri,
            )


def install(
    lib_dir: Path, name: str, class_name: str, uri: str
) -> tuple[ExternalPluginRecord, type]:
    """Copy the plugin at `uri` into ``lib_dir/<name>/`` and load its class."""
    folder = _plugin_folder(lib_dir, name)
    source = _source_path(uri)
    target = child_path(folder, source.name, f"plugin URI {uri!r}: file name")
    if source.is_dir():
        _check_plugin_directory(source, uri, name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.suffix in (".whl", ".py"):
            shutil.copy2(source, target)
            if source.suffix == ".whl":
                _unpack_wheel(target, folder / "site")
        else:
            raise PluginLoadError(
                f"plugin URI {uri!r}: expected a .whl, a .py file or a directory", name, uri
            )
        record = ExternalPluginRecord(name, class_name, uri, f"{name}/{source.name}", _md5(target))
        return record, load_class(lib_dir, record)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def unload(lib_dir: Path, record: ExternalPluginRecord) -> None:
    """Forget the plugin's modules (those imported from its folder)."""
    root = _plugin_folder(lib_dir, record.name).resolve()
    for mod_name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(root):
            sys.modules.pop(mod_name, None)
    importlib.invalidate_caches()


def uninstall(lib_dir: Path, record: ExternalPluginRecord) -> None:
    """Unload the plugin and delete its folder."""
    unload(lib_dir, record)
    shutil.rmtree(_plugin_folder(lib_dir, record.name), ignore_errors=True)
