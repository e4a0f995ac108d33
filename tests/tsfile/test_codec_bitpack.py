"""MSB-first bit packing on 64-bit words (scatter/gather/pack/bit_length) against bit-string
references, including widths 0 and 64, word boundaries and concurrent use of the per-thread
work arrays."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_storage.tsfile.encoding import (
    bit_length,
    gather_bits,
    pack_fixed,
    padded,
    scatter_bits,
    unpack_fixed,
)

# (width, value, gap before the field): widths include 0 and 64, values their extremes
fields = st.lists(
    st.integers(0, 64).flatmap(
        lambda w: st.tuples(
            st.just(w),
            st.one_of(st.integers(0, (1 << w) - 1), st.sampled_from([0, (1 << w) - 1])),
            st.integers(0, 70),
        )
    ),
    max_size=60,
)


def _layout(spec: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Positions, widths, values and the reference bit string (gaps are zeros)."""
    bits, positions = [], []
    at = 0
    for width, value, gap in spec:
        bits.append("0" * gap)
        at += gap
        positions.append(at)
        bits.append(format(value, f"0{width}b") if width else "")
        at += width
    widths = np.array([w for w, _, _ in spec], dtype=np.int64)
    values = np.array([v for _, v, _ in spec], dtype=np.uint64)
    return np.array(positions, dtype=np.int64), widths, values, "".join(bits)


def _bytes_of(bit_string: str, nbytes: int) -> bytes:
    padded_bits = bit_string.ljust(nbytes * 8, "0")
    return int(padded_bits, 2).to_bytes(nbytes, "big") if nbytes else b""


@given(fields, st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_scatter_and_gather_match_a_bit_string(spec, rnd) -> None:
    positions, widths, values, reference = _layout(spec)
    nbytes = (len(reference) + 7) // 8 + rnd.randint(0, 9)
    order = list(range(len(spec)))
    rnd.shuffle(order)  # fields may come in any order
    out = scatter_bits(positions[order], widths[order], values[order], nbytes)
    assert out.tobytes() == _bytes_of(reference, nbytes)
    back = gather_bits(padded(out), positions, widths)
    assert back.tolist() == values.tolist()


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
@settings(max_examples=100, deadline=None)
def test_bit_length_is_exact(xs: list[int]) -> None:
    edges = [0, 1] + [(1 << k) + d for k in range(1, 64) for d in (-1, 0, 1)] + [2**64 - 1]
    values = xs + edges
    got = bit_length(np.array(values, dtype=np.uint64))
    assert got.tolist() == [v.bit_length() for v in values]


@given(st.integers(0, 64), st.lists(st.integers(0, 2**64 - 1), max_size=200))
@settings(max_examples=120, deadline=None)
def test_pack_fixed_round_trips(width: int, xs: list[int]) -> None:
    values = [x & ((1 << width) - 1) for x in xs]
    packed = pack_fixed(np.array(values, dtype=np.uint64), width)
    reference = "".join(format(v, f"0{width}b") for v in values) if width else ""
    assert packed == _bytes_of(reference, (len(values) * width + 7) // 8)
    back = unpack_fixed(padded(packed), 0, width, len(values))
    assert back.tolist() == values


def test_work_arrays_are_per_thread_and_do_not_leak_between_calls() -> None:
    rng = np.random.default_rng(4)
    cases = []
    for n in (5000, 3, 700, 1, 12000):  # large, then small: stale work-array contents unused
        widths = rng.integers(0, 65, n)
        values = rng.integers(0, 2**63, n, dtype=np.uint64) >> (64 - widths).astype(np.uint64)
        values[widths == 0] = 0
        positions = np.cumsum(widths) - widths
        nbytes = int(widths.sum() + 7) // 8
        cases.append((positions, widths, values, nbytes))
    expected = [scatter_bits(*c).tobytes() for c in cases]

    def run(k: int) -> bool:
        ok = True
        for i in range(40):
            c = cases[(k + i) % len(cases)]
            ok &= scatter_bits(*c).tobytes() == expected[(k + i) % len(cases)]
            ok &= gather_bits(padded(expected[(k + i) % len(cases)]), c[0], c[1]).tolist() == (
                c[2].tolist()
            )
        return ok

    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(run, range(12)))
