"""The thrift sink's parameters (reference §7, seed 002), parsed and checked once.

Every key may be written ``sink.<key>``, ``connector.<key>`` or bare ``<key>``.
`SinkOptions.parse(parameters)` raises `PipeParameterNotValidError` naming the key for any
bad value; `validate` (CREATE PIPE) and `customize` both call it.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore.rpc import Endpoint

from .protocol import PipeCompressor, UnknownCompressorError, parse_compressors

__all__ = ["DEFAULT_BATCH_DELAY_SECONDS", "DEFAULT_BATCH_SIZE_BYTES", "SinkOptions", "keys"]

DEFAULT_BATCH_DELAY_SECONDS = 1.0  # seed 002: batch.max-delay-seconds = 1
DEFAULT_BATCH_SIZE_BYTES = 16 * 1024 * 1024  # reference §7.5 (1.3.0–1.3.4)
DEFAULT_USER = "root"
DEFAULT_PASSWORD = "root"

LOAD_BALANCE_STRATEGIES = ("round-robin", "random", "priority")
FORMATS = ("hybrid", "tablet", "tsfile")
CONFLICT_STRATEGIES = ("retry", "ignore")
TSFILE_FORMAT_VERSIONS = ("auto", "3", "4")
SEND_PORT_STRATEGIES = ("range", "candidate")
SEND_PORT_KEYS = (
    "send-port.restriction-strategy",
    "send-port.range.min",
    "send-port.range.max",
    "send-port.candidate",
)


def keys(key: str) -> list[str]:
    """The spellings of sink key `key`: ``sink.key``, ``connector.key`` (bare `key` is found
    through either)."""
    return [f"sink.{key}", f"connector.{key}"]


def _string(p: PipeParameters, key: str, default: str) -> str:
    return p.get_string_or_default(keys(key), default).strip()


def _choice(p: PipeParameters, key: str, default: str, choices: Sequence[str]) -> str:
    value = _string(p, key, default).lower()
    if value not in choices:
        raise PipeParameterNotValidError(
            f"Invalid value {value!r} of sink.{key}: expected one of {list(choices)}",
            key=f"sink.{key}",
            expected=f"one of {list(choices)}",
        )
    return value


def _exclusive(p: PipeParameters, a: str, b: str) -> None:
    if p.has_any_attributes(*keys(a)) and p.has_any_attributes(*keys(b)):
        raise PipeParameterNotValidError(
            f"Cannot specify both sink.{a} and sink.{b} at the same time",
            key=f"sink.{a}",
            expected=f"only one of sink.{a}, sink.{b}",
        )


def _number_at_least(value: float, minimum: float, key: str) -> None:
    if value < minimum:
        raise PipeParameterNotValidError(
            f"Invalid value {value} of sink.{key}: must be at least {minimum}",
            key=f"sink.{key}",
            expected=f">= {minimum}",
        )


def _port(text: str, key: str) -> int:
    try:
        port = int(text.strip())
    except ValueError:
        port = -1
    if not 0 < port <= 65535:
        raise PipeParameterNotValidError(
            f"Invalid port {text!r} in {key}: expected 1..65535", key=key, expected="a port"
        )
    return port


def parse_endpoints(p: PipeParameters) -> tuple[Endpoint, ...]:
    """`node-urls` (``h1:p1,h2:p2``, blanks ignored) and/or `ip`/`host` + `port`, duplicates
    removed in order (reference §7.3)."""
    found: list[Endpoint] = []
    urls = p.get_string_by_keys(*keys("node-urls"))
    if urls is not None:
        for item in urls.replace(" ", "").split(","):
            if not item:
                continue
            url_host, sep, url_port = item.rpartition(":")
            if not sep or not url_host:
                raise PipeParameterNotValidError(
                    f"Invalid node url {item!r} in sink.node-urls: expected host:port",
                    key="sink.node-urls",
                    expected="host:port[,host:port...]",
                )
            found.append(Endpoint(url_host.strip("[]"), _port(url_port, "sink.node-urls")))
    host = p.get_string_by_keys(*keys("ip"), *keys("host"))
    port = p.get_string_by_keys(*keys("port"))
    if (host is None) != (port is None):
        missing = "sink.port" if port is None else "sink.ip"
        raise PipeParameterNotValidError(
            f"sink.ip and sink.port must be given together ({missing} is missing)",
            key=missing,
            expected="a value",
        )
    if host is not None and port is not None:
        found.append(Endpoint(host.strip(), _port(port, "sink.port")))
    if not found:
        raise PipeParameterNotValidError(
            "sink.node-urls or sink.ip and sink.port must be given (where is the receiver?)",
            key="sink.node-urls",
            expected="host:port[,host:port...]",
        )
    return tuple(dict.fromkeys(found))


@attrs.frozen
class SinkOptions:
    """The parsed parameters (defaults: reference §7 and seed 002)."""

    endpoints: tuple[Endpoint, ...]
    load_balance_strategy: str = "round-robin"
    batch_enable: bool = True
    batch_max_delay_seconds: float = DEFAULT_BATCH_DELAY_SECONDS  # < 0: no time limit
    batch_size_bytes: int = DEFAULT_BATCH_SIZE_BYTES
    compressors: tuple[PipeCompressor, ...] = ()
    zstd_level: int = 3
    rate_limit_bytes_per_second: float = -1.0
    username: str = DEFAULT_USER
    password: str = attrs.field(default=DEFAULT_PASSWORD, repr=False)
    conflict_strategy: str = "retry"
    conflict_retry_max_seconds: float = 60.0
    conflict_record_ignored: bool = True
    others_retry_max_seconds: float = -1.0
    others_retry_max_times: int = -1  # the sync tool's max_number_of_sync_file_retry
    others_record_ignored: bool = True
    convert_on_type_mismatch: bool = True
    load_tsfile_strategy: str = "sync"
    load_tsfile_validation: bool = True
    mark_as_pipe_request: bool = True
    skip_if_no_privileges: bool = False
    format: str = "hybrid"
    tsfile_format_version: str = "auto"
    handshake_on_create: bool = True
    leader_cache: bool = True
    quarantine_max_tries: int = 0  # > 0: a request given up raises (the runtime quarantines)
    send_ports: Sequence[int] = ()  # local ports to connect from; () = any (ephemeral)

    @property
    def batch_max_delay(self) -> float | None:
        """Seconds a batch may wait, or None for no time limit."""
        return None if self.batch_max_delay_seconds < 0 else self.batch_max_delay_seconds

    @classmethod
    def parse(cls, p: PipeParameters) -> SinkOptions:
        _exclusive(p, "batch.max-delay-seconds", "batch.max-delay-ms")
        _exclusive(p, "user", "username")
        _exclusive(p, "mark-as-pipe-request", "mark-as-general-write-request")
        delay = p.get_float_or_default(keys("batch.max-delay-seconds"), DEFAULT_BATCH_DELAY_SECONDS)
        if p.has_any_attributes(*keys("batch.max-delay-ms")):
            delay = p.get_float_or_default(keys("batch.max-delay-ms"), 0.0) / 1000.0
        size = p.get_int_or_default(keys("batch.size-bytes"), DEFAULT_BATCH_SIZE_BYTES)
        _number_at_least(size, 1, "batch.size-bytes")
        mark = p.get_boolean_or_default(keys("mark-as-pipe-request"), True)
        if p.has_any_attributes(*keys("mark-as-general-write-request")):
            mark = not p.get_boolean_or_default(keys("mark-as-general-write-request"), False)
        skipif = _string(p, "skipif", "").lower()
        if skipif not in ("", "no-privileges"):
            raise PipeParameterNotValidError(
                f"Invalid value {skipif!r} of sink.skipif: only 'no-privileges' is allowed",
                key="sink.skipif",
                expected="no-privileges",
            )
        zstd = p.get_int_or_default(keys("compressor.zstd.level"), 3)
        if not -131072 <= zstd <= 22:
            raise PipeParameterNotValidError(
                # IoTDB's text (IoTDBConnector.validate), which its IT checks for
                f"Zstd compression level should be in the range [-131072, 22], but got {zstd}.",
                key="sink.compressor.zstd.level",
                expected="-131072..22",
            )
        return cls(
            endpoints=parse_endpoints(p),
            load_balance_strategy=_choice(
                p, "load-balance-strategy", "round-robin", LOAD_BALANCE_STRATEGIES
            ),
            batch_enable=p.get_boolean_or_default(keys("batch.enable"), True),
            batch_max_delay_seconds=delay,
            batch_size_bytes=size,
            compressors=_compressors(p),
            zstd_level=zstd,
            rate_limit_bytes_per_second=p.get_float_or_default(
                keys("rate-limit-bytes-per-second"), -1.0
            ),
            username=p.get_string_by_keys(*keys("username"), *keys("user")) or DEFAULT_USER,
            password=p.get_string_or_default(keys("password"), DEFAULT_PASSWORD),
            conflict_strategy=_choice(
                p, "exception.conflict.resolve-strategy", "retry", CONFLICT_STRATEGIES
            ),
            conflict_retry_max_seconds=p.get_float_or_default(
                keys("exception.conflict.retry-max-time-seconds"), 60.0
            ),
            conflict_record_ignored=p.get_boolean_or_default(
                keys("exception.conflict.record-ignored-data"), True
            ),
            others_retry_max_seconds=p.get_float_or_default(
                keys("exception.others.retry-max-time-seconds"), -1.0
            ),
            others_record_ignored=p.get_boolean_or_default(
                keys("exception.others.record-ignored-data"), True
            ),
            others_retry_max_times=p.get_int_or_default(
                keys("exception.others.retry-max-times"), -1
            ),
            convert_on_type_mismatch=p.get_boolean_or_default(
                keys("exception.data.convert-on-type-mismatch"), True
            ),
            load_tsfile_strategy=_choice(p, "load-tsfile-strategy", "sync", ("sync", "async")),
            load_tsfile_validation=p.get_boolean_or_default(keys("load-tsfile-validation"), True),
            mark_as_pipe_request=mark,
            skip_if_no_privileges=skipif == "no-privileges",
            format=_choice(p, "format", "hybrid", FORMATS),
            tsfile_format_version=_choice(
                p, "tsfile.format-version", "auto", TSFILE_FORMAT_VERSIONS
            ),
            handshake_on_create=p.get_boolean_or_default(keys("handshake-on-create"), True),
            leader_cache=p.get_boolean_or_default(keys("leader-cache.enable"), True),
            quarantine_max_tries=p.get_int_or_default(keys("quarantine.max-tries"), 0),
            send_ports=_send_ports(p),
        )


def _send_ports(p: PipeParameters) -> Sequence[int]:
    """``send-port.restriction-strategy`` (``range``, the default, or ``candidate``) with
    ``send-port.range.min`` / ``.max`` (1024 / 65535) or ``send-port.candidate`` (a comma
    list): the local ports the sink's connections use. None of the keys: any port."""
    if not any(p.has_any_attributes(*keys(k)) for k in SEND_PORT_KEYS):
        return ()
    strategy = _choice(p, "send-port.restriction-strategy", "range", SEND_PORT_STRATEGIES)
    if strategy == "range":
        low = p.get_int_or_default(keys("send-port.range.min"), 1024)
        high = p.get_int_or_default(keys("send-port.range.max"), 65535)
        if not 0 < low <= high <= 65535:
            raise PipeParameterNotValidError(
                f"Invalid send port range [{low}, {high}]: expected 0 < min <= max <= 65535",
                key="sink.send-port.range.min",
                expected="0 < sink.send-port.range.min <= sink.send-port.range.max <= 65535",
            )
        return range(low, high + 1)
    text = _string(p, "send-port.candidate", "")
    try:
        ports = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        ports = (-1,)
    if not ports or not all(0 < port <= 65535 for port in ports):
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of sink.send-port.candidate: expected a comma list of "
            "ports 1..65535",
            key="sink.send-port.candidate",
            expected="port[,port...]",
        )
    return ports


def _compressors(p: PipeParameters) -> tuple[PipeCompressor, ...]:
    text = _string(p, "compressor", "")
    if not text:
        return ()
    try:
        return parse_compressors(text)
    except (UnknownCompressorError, ValueError) as exc:
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of sink.compressor: {exc}",
            key="sink.compressor",
            expected="a comma list of snappy, gzip, lz4, zstd, lzma2",
        ) from exc
