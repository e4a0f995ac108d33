"""ResultTable renders the way IoTDB's CLI prints; checked against the seeds' own tables.

The seed markdown collapsed runs of spaces inside table cells, but kept the ``+----+``
borders intact; so borders must match exactly and rows after collapsing spaces.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_sql_seeds import SEED_FILES, _seed_text

from pipecore.sql import SUCCESS_MESSAGE, ResultTable
from pipecore.sql.result import (
    SHOW_PIPEPLUGINS_COLUMNS,
    SHOW_PIPES_COLUMNS,
    SHOW_PIPESINK_COLUMNS,
    SHOW_PIPESINKTYPE_COLUMNS,
    cell_text,
    display_width,
)


def seed_tables(key: str) -> list[list[str]]:
    """Runs of lines starting with + or | in one seed."""
    tables, current = [], []
    for line in [*_seed_text(key).splitlines(), ""]:
        if line.startswith(("+", "|")):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def collapse(line: str) -> str:
    return re.sub(" +", " ", line)


# the tables of IoTDB's 1.x CLI in the seeds (the sync tool's SHOW PIPES table comes from a
# 0.13 CLI that drew a border under every row; it is not the shape we print)
WANTED_HEADERS = {"Time", "type", "name", "PluginName"}


def cli_tables():
    for key in sorted(SEED_FILES):
        for table in seed_tables(key):
            header = cells(table[1])
            if header[0] in WANTED_HEADERS:
                yield pytest.param(table, id=f"{key}-{header[0]}")


@pytest.mark.parametrize("table", list(cli_tables()))
def test_render_matches_the_seed_tables(table: list[str]) -> None:
    header = cells(table[1])
    rows = [cells(line) for line in table[3:] if line.startswith("|")]
    rendered = ResultTable.of(header, rows).render().splitlines()
    assert rendered[0] == table[0]  # the top border, exactly
    assert rendered[-2] == table[-1]  # the bottom border, exactly
    assert [collapse(line) for line in rendered[1:2]] == [collapse(table[1])]
    body = [collapse(line) for line in rendered[3:-2]]
    assert body == [collapse(line) for line in table[3:-1]]
    assert rendered[-1] == f"Total line number = {len(rows)}"


def test_seed_select_result_with_timing_line() -> None:
    text = _seed_text("001")
    start = text.index("IoTDB> select ** from root.vehicle")
    lines = text[start:].splitlines()[1:13]
    table = [line for line in lines if line.startswith(("+", "|"))]
    header, *rows = [cells(line) for line in table if line.startswith("|")]
    out = ResultTable.of(header, rows).with_elapsed(0.134).render().splitlines()
    assert out[-2:] == ["Total line number = 6", "It costs 0.134s"]
    assert lines[len(table) : len(table) + 2] == out[-2:]
    assert out[1] == "|" + " " * 25 + "Time|root.vehicle.d0.s0|root.vehicle.d0.s1|" + (
        "root.vehicle.d1.s3|root.vehicle.d1.s2|"
    )
    assert out[3] == "|2022-04-03T20:08:17.127+08:00|" + " " * 16 + "10|" + "".join(
        " " * 14 + "null|" for _ in range(3)
    )


def test_empty_result_and_messages() -> None:
    empty = ResultTable.of(SHOW_PIPES_COLUMNS, []).render().splitlines()
    assert empty[0] == "+" + "+".join("-" * len(c) for c in SHOW_PIPES_COLUMNS) + "+"
    assert empty[1] == "|" + "|".join(SHOW_PIPES_COLUMNS) + "|"
    assert empty[2] == empty[3] == empty[0] and empty[4] == "Empty set."
    ok = ResultTable.success()
    assert not ok.is_query and ok.render() == f"Msg: {SUCCESS_MESSAGE}"
    assert ok.with_elapsed(0.0123).render().endswith("\nIt costs 0.012s")


def test_cells_are_text_and_wide_characters_count_twice() -> None:
    table = ResultTable.of(["名称", "v"], [["接收端", None], ["ab", True]])
    assert table.rows == (("接收端", "null"), ("ab", "true"))
    lines = table.render().splitlines()
    assert lines[0] == "+------+----+"
    assert lines[1] == "|  名称|   v|"
    assert lines[3] == "|接收端|null|"
    assert display_width("接收端") == 6
    assert table.as_dicts()[1] == {"名称": "ab", "v": "true"}
    assert table.column("v") == ["null", "true"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (16.0, "16.0"),
        (np.float32(0.1), "0.1"),
        (0.1, "0.1"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (-2.5e-5, "-2.5E-5"),
        (np.float32(3.4e38), "3.4E38"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (-0.0, "-0.0"),
        (np.int64(7), "7"),
        (np.bool_(False), "false"),
        (b"\x01\xff", "0x01ff"),
        ("text", "text"),
    ],
)
def test_cell_text_is_javas(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_row_width_must_match_columns() -> None:
    with pytest.raises(ValueError, match="row 0 has 1 cells but the table has 2 columns"):
        ResultTable.of(["a", "b"], [["x"]])


def test_column_constants() -> None:
    assert SHOW_PIPES_COLUMNS[-2:] == ("RemainingEventCount", "EstimatedRemainingSeconds")
    assert SHOW_PIPEPLUGINS_COLUMNS == ("PluginName", "PluginType", "ClassName", "PluginJar")
    assert SHOW_PIPESINK_COLUMNS == ("name", "type", "attributes")
    assert SHOW_PIPESINKTYPE_COLUMNS == ("type",)
