"""Hypothesis strategies shared by the whole test suite (one module, as STYLE.md asks)."""

from __future__ import annotations

# ---------------------------------------------------------------- SQL (pipecore.sql)
# Sentences derived from pipecore's lark grammar, and garbage made from them. The
# derivation runs on a `random.Random` seeded by hypothesis: thousands of examples stay
# cheap (a draw per grammar choice would cost ~5 ms per sentence), and a failure is
# reproduced from its seed and printed in full.
import datetime as _dt
import functools
import random
import re

from hypothesis import strategies as st

_SQL_CHARS = "abcXYZ019 ._-:/'\"`,()*;\n测"
_SQL_UNITS = ("y", "mo", "w", "d", "h", "m", "s", "ms", "us", "ns")


def _sql_text(rng: random.Random) -> str:
    return "".join(rng.choice(_SQL_CHARS) for _ in range(rng.randint(0, 8)))


def _sql_quoted(rng: random.Random, quote: str) -> str:
    text = _sql_text(rng)
    if quote == "`":
        text = text.replace("*", "") or "q"
    return quote + text.replace(quote, quote * 2) + quote


def _sql_datetime(rng: random.Random) -> str:
    moment = _dt.datetime(1900, 1, 1) + _dt.timedelta(seconds=rng.randint(0, 6 * 10**9))
    sep = rng.choice("-/.")
    text = f"{moment.year:04d}{sep}{moment.month:02d}{sep}{moment.day:02d}"
    if rng.random() < 0.5:
        text += rng.choice("T ") + moment.strftime("%H:%M:%S")
        text += rng.choice(["", ".123", ".5", ".123456789"])
        text += rng.choice(["", "+08:00", "-05:30", "+00:00"])
    return text


def _sql_id(rng: random.Random) -> str:
    # always ends with a digit, so it is never a keyword
    first = rng.choice("abcdxyz_\u4e00\u4e01")
    return (
        first
        + "".join(rng.choice("abz09_") for _ in range(rng.randint(0, 3)))
        + str(rng.randint(0, 9))
    )


_SQL_TERMINALS = {
    "STRING": lambda rng: _sql_quoted(rng, rng.choice("'\"")),
    "QUOTED_ID": lambda rng: _sql_quoted(rng, "`"),
    "ID": _sql_id,
    "DURATION": lambda rng: "".join(
        f"{rng.randint(1, 999)}{rng.choice(_SQL_UNITS)}" for _ in range(rng.randint(1, 2))
    ),
    "INT": lambda rng: str(rng.choice([rng.randint(0, 10**6), rng.randint(0, 2**70)])),
    "REAL": lambda rng: repr(rng.choice([rng.random() * 10 ** rng.randint(-8, 20), 0.5])),
    "DATETIME": _sql_datetime,
    "BINARY": lambda rng: "X'" + rng.randbytes(rng.randint(0, 4)).hex() + "'",
    "NE": lambda rng: rng.choice(["!=", "<>"]),
}


@functools.lru_cache(maxsize=1)
def _sql_grammar() -> tuple[dict, dict, dict]:
    from lark import Lark

    from pipecore.sql import grammar_text

    parser = Lark(grammar_text(), parser="lalr")
    rules: dict[str, list[list]] = {}
    for rule in parser.rules:
        rules.setdefault(rule.origin.name, []).append(list(rule.expansion))
    terminals = {t.name: t.pattern for t in parser.terminals}
    cost = {name: 10**6 for name in rules}  # depth of the shallowest derivation
    changed = True
    while changed:
        changed = False
        for name, expansions in rules.items():
            best = min(_sql_cost(e, cost) + 1 for e in expansions)
            if best < cost[name]:
                cost[name], changed = best, True
    return rules, terminals, cost


def _sql_cost(expansion: list, cost: dict) -> int:
    return max([0] + [cost[s.name] for s in expansion if not s.is_term])


def _sql_terminal(rng: random.Random, name: str, pattern: object) -> str:
    if name in _SQL_TERMINALS:
        return _SQL_TERMINALS[name](rng)
    keyword = re.match(r"\(\?i:(\w+)\)", str(getattr(pattern, "value", "")))
    if keyword:
        return rng.choice([str.lower, str.upper, str.title])(keyword.group(1))
    return str(pattern.value)  # type: ignore[attr-defined]


def sql_derivation(seed: int, max_depth: int = 12) -> list[tuple[str, str]]:
    """A random derivation of pipecore's SQL grammar as (terminal name, text) pairs."""
    rules, terminals, cost = _sql_grammar()
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []

    def expand(symbol: str, depth: int) -> None:
        expansions = rules[symbol]
        if depth >= max_depth:
            floor = min(_sql_cost(e, cost) for e in expansions)
            expansions = [e for e in expansions if _sql_cost(e, cost) == floor]
        for part in rng.choice(expansions):
            if part.is_term:
                out.append((part.name, _sql_terminal(rng, part.name, terminals[part.name])))
            else:
                expand(part.name, depth + 1)

    expand("start", 0)
    return out


def sql_token_lists() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Derivations of pipecore's SQL grammar: (terminal name, text) lists."""
    return st.integers(0, 2**64).map(sql_derivation)


def sql_sentences() -> st.SearchStrategy[str]:
    """Text derived from the grammar (tokens joined by white space)."""
    return sql_token_lists().map(lambda tokens: " ".join(text for _, text in tokens))


_SQL_NOISE = "SELECTfromWHEREpipe()'\"`,;.*=<>!-+09 \n:T\\\x00é测"


def _sql_mutate(seed: int) -> str:
    rng = random.Random(seed)
    if rng.random() < 0.2:
        base = "".join(rng.choice(_SQL_NOISE) for _ in range(rng.randint(0, 30)))
    else:
        base = " ".join(text for _, text in sql_derivation(rng.randrange(2**64)))
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(base))
        j = rng.randint(i, min(len(base), i + 20))
        noise = "".join(rng.choice(_SQL_NOISE) for _ in range(rng.randint(1, 6)))
        base = rng.choice(
            [
                base[:i] + base[j:],  # cut
                base[:i] + noise + base[i:],  # insert
                base[:i] + noise + base[j:],  # replace
                base[:i],  # truncate
                base[:j] + base[i:j] + base[j:],  # repeat
            ]
        )
    return base


def sql_garbage() -> st.SearchStrategy[str]:
    """Broken SQL: grammar sentences cut, spliced, or sprinkled with noise; noise alone."""
    return st.one_of(
        st.integers(0, 2**64).map(_sql_mutate),
        st.text(alphabet=st.sampled_from(list(_SQL_NOISE)), max_size=40),
    )
