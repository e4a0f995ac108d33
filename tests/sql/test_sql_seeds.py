"""Every SQL example of the user guides in ../shared/seeds (000, 001, 002) parses.

The statements are pulled out of the seed markdown here, not copied by hand:

* a line ``IoTDB> <sql>`` is one statement;
* a run of non-blank lines whose first line starts like a statement (``CREATE PIPE``,
  ``insert into``, ``SHOW PIPEPLUGINS`` ...) is a script (one or more statements).

Syntax templates are instantiated mechanically: ``<Name>`` becomes the identifier ``name``,
an optional part ``[...]`` is tried both with and without its content, the placeholder
``yyyy-mm-dd HH:MM:SS`` becomes a real datetime, and a sentence's final ``.`` is dropped.
One template is a schematic, not a statement (``[<parameter> = <value>,], [<value>,]``);
the test checks it is the only thing that fails.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from pipecore.sql import (
    CreateLegacyPipe,
    CreatePipe,
    CreatePipeSink,
    SqlError,
    parse_script,
    translate_legacy_pipe,
)

_REPO = Path(__file__).resolve().parents[2]
_SEED_DIRS = [
    Path(os.environ.get("PIPECORE_SEEDS", "")),  # an explicit location wins
    _REPO.parent / "shared" / "seeds",  # the issue's ../shared/seeds
    Path("/work/shared/seeds"),
]
SEEDS = next((d for d in _SEED_DIRS if str(d) != "." and d.is_dir()), _SEED_DIRS[-1])
SEED_FILES = {
    "000": "000_487866b45addc462.md",
    "001": "001_5e4439c74a061a19.md",
    "002": "002_2e3ca8457c4850d8.md",
}
SCHEMATIC = ("[<parameter> = <value>,]",)

_STARTS = re.compile(
    r"""(?ix)^\s*(?:
        (?:create|alter)\s+(?:pipe|pipesink|pipeplugin|database|timeseries|aligned)
      | (?:start|stop|drop)\s+(?:pipe|pipesink|pipeplugin)
      | show\s+(?:pipes?|pipesinks?|pipesinktype|pipeplugins|databases|timeseries|devices)
      | insert\s+into | select\s | flush\b | load\s
    )(?=\s|$|<|;|\()"""
)


def _seed_text(key: str) -> str:
    path = SEEDS / SEED_FILES[key]
    if not path.exists():
        pytest.skip(f"seed {path} is not available here (set PIPECORE_SEEDS to its folder)")
    return path.read_text("utf-8")


def extract_candidates(markdown: str) -> list[str]:
    """The SQL examples of one user guide, as written (templates not yet instantiated)."""
    found: list[str] = []
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        prompt = re.match(r"^IoTDB>\s?(.*)$", line)
        if block:
            if line.strip() and not prompt:
                block.append(line)
                continue
            found.append("\n".join(block))
            block = []
        if prompt:
            if prompt.group(1).strip():
                found.append(prompt.group(1).strip())
        elif _STARTS.match(line):
            block = [line]
    return found


def instantiate(template: str) -> list[str]:
    """Concrete statements for a syntax template (itself when it is not one)."""
    text = template.replace("yyyy-mm-dd HH:MM:SS", "2022-03-30 00:00:00")
    text = re.sub(r"<(\w+)>", lambda m: f" {m.group(1).lower()} ", text)
    text = re.sub(r"\.\s*$", "", text)
    options = re.findall(r"\[[^\[\]]*\]", text)
    variants = []
    for keep in itertools.product((True, False), repeat=len(options)):
        variant = text
        for part, kept in zip(options, keep, strict=True):
            variant = variant.replace(part, part[1:-1] if kept else "", 1)
        variants.append(variant)
    return variants


def _examples(key: str) -> list[tuple[str, str]]:
    return [
        (template, sql)
        for template in extract_candidates(_seed_text(key))
        for sql in instantiate(template)
    ]


@pytest.mark.parametrize("key", sorted(SEED_FILES))
def test_every_seed_example_parses(key: str) -> None:
    examples = _examples(key)
    failures = []
    for template, sql in examples:
        try:
            statements = parse_script(sql)
        except SqlError as exc:
            if not any(mark in template for mark in SCHEMATIC):
                failures.append(f"{sql!r}: {exc}")
            continue
        assert statements, sql
        assert not any(mark in template for mark in SCHEMATIC), f"schematic parsed: {sql!r}"
    assert not failures, "\n".join(failures)


def test_the_extractor_finds_the_examples() -> None:
    # Counts of examples per guide; a change means the extractor (or a seed) changed.
    counts = {key: len(_examples(key)) for key in SEED_FILES}
    assert counts["000"] >= 25 and counts["001"] >= 25 and counts["002"] >= 12, counts
    sql_002 = [sql for _, sql in _examples("002")]
    assert any("ssl.trust-store-pwd" in s for s in sql_002)
    assert sum("forwarding-pipe-requests" in s for s in sql_002) == 3
    sql_001 = " ".join(sql for _, sql in _examples("001"))
    assert "insert into root.vehicle.d1(timestamp,s3) values(now(),false);" in sql_001
    schematic = [t for t, _ in _examples("002") if SCHEMATIC[0] in t]
    assert schematic, "the schematic template was not extracted"


def _statements(key: str) -> list:
    return [s for _, sql in _examples(key) for s in _parses_or_empty(sql)]


def _parses_or_empty(sql: str) -> list:
    try:
        return parse_script(sql, zone="+08:00")
    except SqlError:
        return []


def test_seed_002_typos_are_forgiven_with_warnings() -> None:
    pipes = [s for s in _statements("002") if isinstance(s, CreatePipe)]
    unclosed = [p for p in pipes if p.source.get("source.forwarding-pipe-requests")]
    assert len(unclosed) == 3
    for pipe in unclosed:
        assert pipe.sink["sink"] == "iotdb-thrift-sink"
        assert any("not closed" in w for w in pipe.warnings)
    (ssl,) = [p for p in pipes if p.sink.get("sink") == "iotdb-thrift-ssl-sink"]
    assert ssl.sink["ssl.trust-store-path"] == "pki/trusted"
    assert ssl.sink["ssl.trust-store-pwd"] == "root"
    assert any("missing ','" in w for w in ssl.warnings)
    (history,) = [p for p in pipes if "source.history.start-time" in p.source]
    assert history.source["source.history.start-time"] == "2023.08.23T08:00:00+00:00"
    assert history.sink["sink.batch.enable"] == "false"
    assert not history.warnings


def test_seed_001_start_times_are_equivalent() -> None:
    # "The following two SQL statements are equivalent" (the guide runs at +08:00).
    legacy = [s for s in _statements("001") if isinstance(s, CreateLegacyPipe)]
    starts = {p.start_time for p in legacy if p.start_time is not None}
    assert starts == {1648569600000}


def test_seed_pipesinks_translate_to_thrift_sinks() -> None:
    statements = _statements("001")
    sinks = {s.name: s for s in statements if isinstance(s, CreatePipeSink)}
    assert sinks["my_iotdb"].ip == "192.168.0.2" and sinks["my_iotdb"].port == "6667"
    pipe = next(s for s in statements if isinstance(s, CreateLegacyPipe) and s.start_time)
    translated = translate_legacy_pipe(pipe, sinks["my_iotdb"])
    assert translated.sink == {
        "sink": "iotdb-thrift-sink",
        "sink.ip": "192.168.0.2",
        "sink.port": "6667",
    }
    assert translated.source == {"source": "iotdb-source", "source.start-time": "1648569600000"}
    assert translated.pipesink == "my_iotdb"


def test_the_demo_runs_seed_001s_result_verification_script() -> None:
    """`pipecore demo` (and the tests that import its script) write exactly the statements of
    seed 001 §7 "Result Verification", in order."""
    from pipecore.cli.demo import SEED_QUERY, SEED_SCRIPT

    text = _seed_text("001")
    section = text[text.index("### Result Verification") :]
    lines = [line.strip() for line in section.splitlines()]
    statements = [line for line in SEED_SCRIPT.splitlines() if line.strip()]
    start = lines.index(statements[0])
    assert lines[start : start + len(statements)] == statements
    assert f"IoTDB> {SEED_QUERY}" in section
