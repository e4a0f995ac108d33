"""LOAD CONFIGURATION reaches the running receivers of a serving node (issue 11): the keys it
reports as applied — ``ip_white_list``, the air-gap receiver's keys — change what the
receivers that already run do, without a restart."""

from __future__ import annotations

from pathlib import Path

from pipecore import Node
from pipecore.rpc import PipeTransferClient
from pipecore_air_gap_sink import AirGapReceiver

HANDSHAKE_V1 = b"\x00\x00\x00\x02ms"  # type 1, precision ms


def _handshake(address: tuple[str, int]) -> tuple[int, str]:
    with PipeTransferClient(*address, timeout=10) as client:
        status = client.transfer(1, 1, HANDSHAKE_V1)
        return status.code, status.message or ""


def test_ip_white_list_and_air_gap_keys_reach_running_receivers(tmp_path: Path) -> None:
    config = tmp_path / "pipecore.toml"
    config.write_text(
        'ip_white_list = "127.0.0.1/32"\n'
        "pipe_air_gap_receiver_enabled = true\npipe_air_gap_receiver_port = 0\n"
        "pipe_air_gap_receiver_max_payload_size_in_bytes = 4096\n"
    )
    with Node.open(tmp_path / "n", config) as node:
        address = node.serve("127.0.0.1", 0)
        assert _handshake(address)[0] == 200
        with PipeTransferClient(*address, timeout=10) as open_before:
            assert open_before.transfer(1, 1, HANDSHAKE_V1).code == 200
            config.write_text(
                'ip_white_list = "10.0.0.0/8"\n'
                "pipe_air_gap_receiver_enabled = true\npipe_air_gap_receiver_port = 0\n"
                "pipe_air_gap_receiver_max_payload_size_in_bytes = 8192\n"
            )
            message = node.execute("LOAD CONFIGURATION").render()
            assert "ip_white_list" in message
            assert "pipe_air_gap_receiver_max_payload_size_in_bytes" in message
            # a new connection, and the next request of one opened before, are refused
            code, text = _handshake(address)
            assert code == 1802 and "ip_white_list (10.0.0.0/8)" in text
            refused = open_before.transfer(1, 1, HANDSHAKE_V1)
            assert refused.code == 1802
        (gap,) = [s for s in node._services if isinstance(s, AirGapReceiver)]
        assert gap.max_payload == 8192


def test_the_receiver_piece_folder_is_reported_as_needing_a_restart(tmp_path: Path) -> None:
    # dn_pipe_receiver_file_dirs is read once, when the node serves: LOAD CONFIGURATION must not
    # call it applied, and the running receiver keeps its folder
    config = tmp_path / "pipecore.toml"
    config.write_text('dn_pipe_receiver_file_dirs = "pieces-a"\n')
    with Node.open(tmp_path / "n", config) as node:
        node.serve("127.0.0.1", 0)
        config.write_text('dn_pipe_receiver_file_dirs = "pieces-b"\n')
        message = node.execute("LOAD CONFIGURATION").render()
        assert "Take effect at the next start: dn_pipe_receiver_file_dirs" in message
        assert "Applied: dn_pipe_receiver_file_dirs" not in message
        assert node.config.as_dict()["dn_pipe_receiver_file_dirs"] == "pieces-a"
        assert (tmp_path / "n" / "pieces-a").is_dir()
        assert not (tmp_path / "n" / "pieces-b").exists()
