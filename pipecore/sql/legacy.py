"""The sync tool's model (IoTDB 0.13–1.1: PIPESINK + ``CREATE PIPE p TO sink``) on pipes.

A legacy pipe becomes an ordinary pipe: an ``iotdb-source`` starting at the FROM clause's
start time, and an ``iotdb-thrift-sink`` aimed at the PIPESINK's ip and port — or, when the
PIPESINK says the receiver is an IoTDB 1.0/1.1 (``version='1.1'``, pipecore's attribute), an
``iotdb-legacy-pipe-sink`` speaking the sync tool's own protocol. Deletions are sent only when
the pipe asked for them (``WITH SyncDelOp=true``).
"""

from __future__ import annotations

from .errors import SqlSemanticError
from .statements import CreateLegacyPipe, CreatePipe, CreatePipeSink

__all__ = [
    "PIPESINK_TYPES",
    "check_pipesink",
    "legacy_protocol_version",
    "pipesink_attributes_text",
    "translate_legacy_pipe",
]

PIPESINK_TYPES = ("IoTDB",)


def _port_number(pipesink: CreatePipeSink) -> int:
    text = pipesink.port.strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SqlSemanticError(
            f"PIPESINK [{pipesink.name}]: port {pipesink.port!r} is not a port number (1-65535)",
            pipesink.span.line,
            pipesink.span.column,
            subject=pipesink.name,
        )
    return int(text)


def check_pipesink(pipesink: CreatePipeSink) -> None:
    """Raise SqlSemanticError when the PIPESINK cannot be used (its port is not a number,
    its ip is empty). Parsing accepts placeholder text such as the user guide's
    ``ip='There is your goal IP'``; an executor calls this before storing a PIPESINK."""
    _port_number(pipesink)
    legacy_protocol_version(pipesink)
    if not pipesink.ip.strip() or any(c.isspace() for c in pipesink.ip.strip()):
        raise SqlSemanticError(
            f"PIPESINK [{pipesink.name}]: ip {pipesink.ip!r} is not a host name or address",
            pipesink.span.line,
            pipesink.span.column,
            subject=pipesink.name,
        )


def pipesink_attributes_text(pipesink: CreatePipeSink) -> str:
    """The attributes column of SHOW PIPESINK: ``ip='127.0.0.1',port=6667`` (and
    ``,version='1.1'`` when the PIPESINK names the receiver's version)."""
    text = f"ip='{pipesink.ip}',port={pipesink.port.strip()}"
    version = pipesink_version(pipesink)
    return text if version is None else f"{text},version='{version}'"


def pipesink_version(pipesink: CreatePipeSink) -> str | None:
    """The PIPESINK's ``version`` attribute (pipecore's): the receiver's IoTDB version."""
    for key, value in pipesink.attributes.items():
        if key.lower() == "version":
            return value.strip()
    return None


def legacy_protocol_version(pipesink: CreatePipeSink) -> str | None:
    """The sync tool's version to speak to this PIPESINK (``1.0``/``1.1``: it is an IoTDB
    1.0/1.1, whose RPC port knows no pipeTransfer), or None for IoTDB 1.3's pipe protocol
    (no ``version``, or 1.2 and later — pipecore and IoTDB 1.2+ receivers). SqlSemanticError
    for a version that is not ``major.minor[.patch]`` or older than 1.0 (0.13's sync tool is
    another protocol)."""
    version = pipesink_version(pipesink)
    if version is None:
        return None
    parts = version.split(".")
    if len(parts) < 2 or not all(part.isdigit() for part in parts[:2]):
        raise SqlSemanticError(
            f"PIPESINK [{pipesink.name}]: version {version!r} is not an IoTDB version (e.g. '1.1')",
            pipesink.span.line,
            pipesink.span.column,
            subject=pipesink.name,
        )
    major, minor = int(parts[0]), int(parts[1])
    if major < 1:
        raise SqlSemanticError(
            f"PIPESINK [{pipesink.name}]: version {version!r}: IoTDB before 1.0 speaks another "
            "sync protocol, which pipecore does not; 1.0 and later are supported",
            pipesink.span.line,
            pipesink.span.column,
            subject=pipesink.name,
        )
    return f"{major}.{minor}" if (major, minor) < (1, 2) else None


def _sync_deletions(pipe: CreateLegacyPipe) -> bool:
    for key, value in pipe.attributes.items():
        if key.lower() == "syncdelop":
            return value.strip().lower() == "true"
    return False


def translate_legacy_pipe(pipe: CreateLegacyPipe, pipesink: CreatePipeSink) -> CreatePipe:
    """The `CreatePipe` a ``CREATE PIPE p TO sink [FROM (...)]`` stands for.

    Source: ``{'source': 'iotdb-source'}`` plus ``'source.start-time'`` (epoch ms) when the
    FROM clause gave one, plus ``'source.inclusion': 'data'`` when SyncDelOp=true. Sink:
    ``{'sink': 'iotdb-thrift-sink', 'sink.ip': ..., 'sink.port': ...}``; for a PIPESINK
    whose ``version`` is 1.0/1.1, ``iotdb-legacy-pipe-sink`` with ``sink.version``. The result keeps
    the legacy statement's span and names the PIPESINK in `CreatePipe.pipesink`.

    Raises SqlSemanticError when `pipesink` is not the one the pipe names, or its port is
    not a number.
    """
    if pipesink.name != pipe.pipesink:
        raise SqlSemanticError(
            f"PIPE [{pipe.name}] goes to PIPESINK [{pipe.pipesink}], not [{pipesink.name}]",
            pipe.span.line,
            pipe.span.column,
            subject=pipe.name,
        )
    source = {"source": "iotdb-source"}
    if pipe.start_time is not None:
        source["source.start-time"] = str(pipe.start_time)
    if _sync_deletions(pipe):
        source["source.inclusion"] = "data"
    sink = {
        "sink": "iotdb-thrift-sink",
        "sink.ip": pipesink.ip.strip(),
        "sink.port": str(_port_number(pipesink)),
    }
    legacy = legacy_protocol_version(pipesink)
    if legacy is not None:  # an IoTDB 1.0/1.1 receiver: the sync tool's own protocol
        sink = {**sink, "sink": "iotdb-legacy-pipe-sink", "sink.version": legacy}
    return CreatePipe(
        name=pipe.name,
        source=source,
        sink=sink,
        pipesink=pipesink.name,
        span=pipe.span,
        warnings=pipe.warnings,
    )
