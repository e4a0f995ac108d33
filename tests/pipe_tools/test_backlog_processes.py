"""A bounded backlog between real `pipecore serve` processes: the receiver is down, writes go
on, and the pipe's pinned files stay under ``sink.backlog.max-bytes`` (plus one file of slack:
a file sealed between two checks) by each overflow policy — ``drop-oldest`` drops the oldest
files and counts them, ```downsample`` replaces them by a down-sampled copy, ``block`` refuses
writes with 606 and loses nothing it acknowledged — and the pipe resumes when the receiver is
back."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

ROWS = 1000  # rows a batch, two series: one sealed file of some 20 KB
CAP = 96 * 1024
STEP = 10  # ms between rows: a batch spans 10 s


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory):
    """A sender whose sink queue holds one event (few files in the sink's hands, which the
    cap cannot take back) and a receiver."""
    tmp = tmp_path_factory.mktemp("backlog")
    made = start_all(
        Serve(tmp, "sender", {"pipe_sink_pending_queue_max_events": 1}), Serve(tmp, "receiver")
    )
    yield made
    for node in made:
        node.stop()


@pytest.fixture(autouse=True)
def both_running(nodes):
    """Each test starts with both nodes serving (a failed test may have left the receiver
    stopped; the next test must not fail for it)."""
    for node in nodes:
        if node.proc is None or node.proc.poll() is not None:
            node.start()


def batch(node: Serve, device: str, k: int) -> None:
    """Batch `k`: ROWS rows of random values from time k·ROWS·STEP on, sealed by FLUSH."""
    rng = np.random.default_rng(k)
    ints, floats = rng.integers(0, 1 << 40, ROWS).tolist(), rng.random(ROWS).tolist()
    t0 = k * ROWS * STEP
    values = ", ".join(f"({t0 + i * STEP}, {ints[i]}, {floats[i]!r})" for i in range(ROWS))
    node.sql(f"INSERT INTO {device}(timestamp, s1, s2) VALUES {values}")
    node.sql("FLUSH")


def backlog_bytes(node: Serve, pipe: str) -> int:
    """What the pipe keeps on disk: its pins and its down-sampled replacements."""
    roots = [node.data_dir / "store" / "pipe" / pipe]
    roots += [p.parent for p in node.data_dir.rglob("backlog/state.json") if pipe in str(p)]
    return sum(_size(p) for root in roots if root.is_dir() for p in root.rglob("*"))


def _size(p: Path) -> int:
    """The size of file `p`; 0 for a folder or a file the node removed meanwhile (a pin
    released or a file dropped between the listing and the stat)."""
    try:
        return p.stat().st_size if p.is_file() else 0
    except FileNotFoundError:
        return 0


def largest_file(node: Serve, database: str) -> int:
    """The largest sealed file of `database` with its side files (.resource, .mods, .meta)."""
    files = list((node.data_dir / "store" / "data").rglob(f"{database}/**/*.tsfile"))
    return max(_with_sides(p) for p in files)


def _with_sides(p: Path) -> int:
    return sum(_size(q) for q in p.parent.glob(p.name + "*"))


def note(node: Serve, pipe: str) -> str:
    [row] = [r for r in node.rows("SHOW PIPES") if r[0] == pipe]
    return str(row[6])


def create(sender: Serve, receiver: Serve, pipe: str, path: str, extra: str) -> None:
    sender.sql(
        f"CREATE PIPE {pipe} WITH SOURCE ('source.path'='{path}', 'source.realtime.mode'='batch') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{receiver.url}', "
        f"'sink.backlog.max-bytes'='{CAP}'{extra})"
    )


def counts(note_text: str, words: str) -> int:
    """The number before `words` in SHOW PIPES' backlog note."""
    found = re.search(rf"(\d+) {words}", note_text)
    assert found, (words, note_text)
    return int(found[1])


def lost(note_text: str) -> int:
    """Points the backlog policy dropped or thinned away, from SHOW PIPES' note."""
    found = re.findall(r"dropped \d+ files, (\d+) points|(\d+) points thinned", note_text)
    return sum(int(a or b) for a, b in found)


def test_drop_oldest_keeps_the_cap_and_counts_what_it_dropped(nodes):
    sender, receiver = nodes
    create(
        sender, receiver, "bdrop", "root.bd.**", ", 'sink.backlog.overflow-policy'='drop-oldest'"
    )
    batch(sender, "root.bd.d1", 0)
    wait_for(lambda: receiver.count("root.bd.**") == 2 * ROWS, 60, "the first batch", nodes)
    receiver.stop()
    for k in range(1, 15):
        batch(sender, "root.bd.d1", k)
        within_cap(sender, "bdrop", "root.bd")
        if k == 8:  # a restart of the sender keeps what was dropped dropped, and the counts
            wait_for(lambda: "dropped" in note(sender, "bdrop"), 10, "a file dropped")
            before = counts(note(sender, "bdrop"), "points")
            sender.stop()
            sender.start()
            assert counts(note(sender, "bdrop"), "points") >= before > 0  # kept, maybe more
    text = note(sender, "bdrop")
    dropped = counts(text, "points")
    assert counts(text, "files") >= 1 and dropped > 0, text
    total = 15 * 2 * ROWS
    receiver.start()
    # the receiver gets everything but what was dropped (counted up to the end: a file sealed
    # just before the receiver came back may still have been dropped)
    wait_for(
        lambda: receiver.count("root.bd.**") == total - lost(note(sender, "bdrop")),
        90,
        "the resumed pipe",
        nodes,
    )
    # the newest batch arrived whole; what is missing is the oldest data, nothing newer
    last = 14 * ROWS * STEP
    [row] = receiver.rows(f"select count(s1), count(s2) from root.bd.d1 where time >= {last}")
    assert [int(v) for v in row] == [ROWS, ROWS]
    assert sender.count("root.bd.**") == total  # the sender's own data is untouched


def test_downsample_replaces_the_oldest_files_by_a_point_a_second(nodes):
    sender, receiver = nodes
    create(
        sender, receiver, "bds", "root.ds.**",
        ", 'sink.backlog.overflow-policy'='downsample', "
        "'sink.backlog.downsample-interval-seconds'='1'",
    )  # fmt: skip
    batch(sender, "root.ds.d1", 0)
    wait_for(lambda: receiver.count("root.ds.**") == 2 * ROWS, 60, "the first batch", nodes)
    receiver.stop()
    for k in range(1, 15):
        batch(sender, "root.ds.d1", k)
        within_cap(sender, "bds", "root.ds")
    # fourteen batches are far over the cap; the guard thins them at its next check (the
    # writes may all have come between two checks: nothing sealed since was pinned yet)
    wait_for(lambda: "points thinned" in note(sender, "bds"), 30, "a file thinned", nodes)
    within_cap(sender, "bds", "root.ds")  # every file pinned now: the cap holds
    text = note(sender, "bds")
    thinned = counts(text, "points thinned")
    assert counts(text, "files") >= 1 and thinned > 0, text
    total = 15 * 2 * ROWS
    receiver.start()
    wait_for(
        lambda: (
            receiver.count("root.ds.**") == total - counts(note(sender, "bds"), "points thinned")
        ),
        90,
        "the resumed pipe",
        nodes,
    )
    shown = [str(r[0]).rstrip("Z") for r in receiver.rows("select s1 from root.ds.d1")]
    times = np.array(shown, dtype="datetime64[ms]").astype(np.int64)  # ISO times, UTC
    per_window = np.bincount(times // 1000)
    per_window = per_window[per_window > 0]
    # a second is whole (100 rows) or down-sampled to one point (its first: rows are 10 ms
    # apart from a whole second, the rule keeps one a second)
    assert set(per_window.tolist()) == {1, 100}, sorted(set(per_window.tolist()))
    thin = np.flatnonzero(np.bincount(times // 1000) == 1)
    assert np.isin(thin * 1000, times).all()


def test_block_refuses_writes_with_606_and_loses_nothing(nodes):
    sender, receiver = nodes
    sender.sql(
        "CREATE PIPE bblk WITH SOURCE ('source.path'='root.bk.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{receiver.url}', "
        f"'sink.backlog.max-bytes'='{CAP}')"  # block is the default policy
    )
    receiver.stop()
    accepted, refusal = 0, None
    for k in range(40):
        try:
            batch(sender, "root.bk.d1", k)
        except ServerError as exc:
            refusal = exc
            break
        accepted += 1
        within_cap(sender, "bblk", "root.bk")
    assert refusal is not None, "writes were never back-pressured"
    assert refusal.status_code == 606 and "bblk" in str(refusal) and "backlog" in str(refusal)
    within_cap(sender, "bblk", "root.bk")
    assert "writes refused" in note(sender, "bblk")
    receiver.start()
    want = accepted * 2 * ROWS
    wait_for(lambda: receiver.count("root.bk.**") == want, 90, "every accepted point", nodes)
    # the backlog drained: writes are taken again
    wait_for(lambda: "writes refused" not in note(sender, "bblk"), 30, "the block lifted")
    batch(sender, "root.bk.d1", 100)
    wait_for(lambda: receiver.count("root.bk.**") == want + 2 * ROWS, 60, "a new write", nodes)


def within_cap(node: Serve, pipe: str, database: str) -> None:
    """The backlog is back under the cap plus one file (the slack: a file sealed since the last
    check) within two seconds of a write — ten of the guard's checks."""
    limit = CAP + largest_file(node, database)
    deadline = time.monotonic() + 2.0
    while (size := backlog_bytes(node, pipe)) > limit and time.monotonic() < deadline:
        time.sleep(0.05)
    assert size <= limit, f"the backlog of {pipe} is {size} bytes, over {limit}"


def test_bad_backlog_keys_fail_create(nodes):
    sender, receiver = nodes
    for extra, words in (
        ("'sink.backlog.max-bytes'='lots'", "not a number"),
        ("'sink.backlog.max-bytes'='10', 'sink.backlog.overflow-policy'='spill'", "spill"),
    ):
        with pytest.raises(ServerError, match=words) as refused:
            sender.sql(
                "CREATE PIPE bad WITH SINK ('sink'='iotdb-thrift-sink', "
                f"'sink.node-urls'='{receiver.url}', {extra})"
            )
        assert refused.value.status_code == 1107
    assert not [r for r in sender.rows("SHOW PIPES") if r[0] == "bad"]
