"""The C++ expression parser accepts and rejects exactly what the installed
pytest's Expression.compile does, for random ASCII input. (Non-ASCII input
is refused by the core on purpose: the plugin then imports everything.)"""

from __future__ import annotations

import random

import pytest
from _pytest.mark.expression import Expression

try:  # pytest 8 raises its own ParseError, pytest 9 a SyntaxError
    from _pytest.mark.expression import ParseError as _ParseError

    REJECTED: tuple = (SyntaxError, _ParseError)
except ImportError:
    REJECTED = (SyntaxError,)

from pytest_fastcollect.native import load

native = load()
pytestmark = pytest.mark.skipif(isinstance(native, str), reason=str(native))

TOKENS = ["a", "b1", "test_x", "x[1-2]", "not", "and", "or", "(", ")", " ", "  ", "\t", "True", "None", "m(",
          "k=1", "k='v'", 'k="v"', "k=-3", "k=True", ",", "=", "'", '"', "\\", ":", "/", ".", "-", "+", "$",
          "if", "if=1", "1k=1", "[", "]", "nota", "orb", "x.y::z", "k=v", "k=", ")(", "@", "#", "!", ",k=2"]


def pytest_compiles(s: str) -> bool:
    try:
        Expression.compile(s)
    except REJECTED:
        return False
    return True


@pytest.mark.parametrize("seed", range(20))
def test_random_expressions_parse_like_pytest(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        s = "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 8)))
        ours, error = native.core.parse_expression(s)
        assert ours == pytest_compiles(s), f"{s!r}: core {'accepts' if ours else 'rejects (' + error + ')'}"


def test_random_printable_strings(seed: int = 1234) -> None:
    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(32, 127)] + ["\t"]
    for _ in range(5000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        ours, _ = native.core.parse_expression(s)
        assert ours == pytest_compiles(s), repr(s)
