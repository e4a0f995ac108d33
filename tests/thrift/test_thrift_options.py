"""The thrift sink's parameters: IoTDB's keys and defaults, and clear errors for bad values."""

from __future__ import annotations

import pytest

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore.rpc import Endpoint
from pipecore_thrift_sink import SinkOptions
from pipecore_thrift_sink.protocol import PipeCompressor


def parse(**params: str) -> SinkOptions:
    return SinkOptions.parse(PipeParameters({k.replace("_", "."): v for k, v in params.items()}))


def test_defaults_follow_iotdb():
    o = SinkOptions.parse(PipeParameters({"sink.ip": "10.0.0.1", "sink.port": "6668"}))
    assert o.endpoints == (Endpoint("10.0.0.1", 6668),)
    assert (o.batch_enable, o.batch_max_delay_seconds, o.batch_size_bytes) == (True, 1.0, 16 << 20)
    assert (o.username, o.password) == ("root", "root")
    assert o.load_balance_strategy == "round-robin"
    assert (o.conflict_strategy, o.conflict_retry_max_seconds) == ("retry", 60.0)
    assert o.others_retry_max_seconds == -1.0 and o.rate_limit_bytes_per_second == -1.0
    assert o.compressors == () and o.tsfile_format_version == "auto"
    assert o.handshake_on_create and o.mark_as_pipe_request and o.convert_on_type_mismatch


@pytest.mark.parametrize("prefix", ["sink.", "connector.", ""])
def test_every_spelling_of_a_key(prefix):
    o = SinkOptions.parse(
        PipeParameters(
            {
                f"{prefix}node-urls": " 127.0.0.1:6667, 127.0.0.1:6668 ,127.0.0.1:6667",
                f"{prefix}batch.max-delay-ms": "20",
                f"{prefix}compressor": "snappy, zstd",
                f"{prefix}user": "ops",
            }
        )
    )
    assert o.endpoints == (Endpoint("127.0.0.1", 6667), Endpoint("127.0.0.1", 6668))
    assert o.batch_max_delay_seconds == pytest.approx(0.02)
    assert o.compressors == (PipeCompressor.SNAPPY, PipeCompressor.ZSTD)
    assert o.username == "ops"


def test_node_urls_and_ip_port_together_and_negative_delay():
    o = parse(
        **{
            "sink.node-urls": "h1:1",
            "sink.ip": "h2",
            "sink.port": "2",
            "sink.batch.max-delay-seconds": "-1",
        }
    )
    assert o.endpoints == (Endpoint("h1", 1), Endpoint("h2", 2))
    assert o.batch_max_delay is None  # no time limit


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({}, "sink.node-urls"),
        ({"sink.node-urls": "nohost"}, "sink.node-urls"),
        ({"sink.node-urls": "h:99999"}, "sink.node-urls"),
        ({"sink.ip": "h"}, "sink.port"),
        ({"sink.port": "1"}, "sink.ip"),
        (
            {"sink.node-urls": "h:1", "sink.load-balance-strategy": "fastest"},
            "sink.load-balance-strategy",
        ),
        ({"sink.node-urls": "h:1", "sink.compressor": "brotli"}, "sink.compressor"),
        (
            {
                "sink.node-urls": "h:1",
                "sink.batch.max-delay-seconds": "1",
                "sink.batch.max-delay-ms": "1",
            },
            "sink.batch.max-delay-seconds",
        ),
        ({"sink.node-urls": "h:1", "sink.user": "a", "sink.username": "b"}, "sink.user"),
        ({"sink.node-urls": "h:1", "sink.batch.size-bytes": "0"}, "sink.batch.size-bytes"),
        ({"sink.node-urls": "h:1", "sink.batch.enable": "maybe"}, "sink.batch.enable"),
        ({"sink.node-urls": "h:1", "sink.skipif": "everything"}, "sink.skipif"),
        (
            {"sink.node-urls": "h:1", "sink.tsfile.format-version": "5"},
            "sink.tsfile.format-version",
        ),
        (
            {"sink.node-urls": "h:1", "sink.exception.conflict.resolve-strategy": "panic"},
            "sink.exception.conflict.resolve-strategy",
        ),
    ],
)
def test_bad_values_name_their_key(params, key):
    with pytest.raises(PipeParameterNotValidError) as info:
        SinkOptions.parse(PipeParameters(params))
    assert info.value.key == key, info.value
    assert key.removeprefix("sink.").split(".")[0] in str(info.value)
