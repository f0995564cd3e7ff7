"""Library code that iterates the environment for one prefix of names.

Iterating ``os.environ`` reads which variables exist, so by default the names
of the whole environment are an input (``inputs.ENVIRONMENT_NAMES``): a
variable added anywhere, a venv activated, ``PYTHONDONTWRITEBYTECODE`` set in
one shell and not in another, and every learned record is relearned. Common
libraries do this at import, under collection of real suites: fsspec's config
(pandas, statsmodels), dask's config (scikit-learn, astropy), networkx's
backend configuration. Each of them keeps only the variables whose name
starts with its prefix. Where one of the functions below iterates, the input
is the names with that prefix (``env:*names:PREFIX``) and the values of those
names, not the whole environment.

A function is known by the sha256 of its source text (its block, as
``inspect.getblock`` reads it from the file), one digest per text read here
in the releases listed; any other text iterates as any code does.
"""

from __future__ import annotations

import _collections_abc
import hashlib
import inspect
import os
import sys
from types import CodeType, FrameType
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

# (file suffix, function) -> (prefix, digests of the texts read)
PREFIX_READERS: Dict[Tuple[str, str], Tuple[str, FrozenSet[str]]] = {
    # `for key in envdict: if key.startswith("FSSPEC...")`; 2026.9 copies
    # the mapping first (dict(envdict)). 2023.1.0; 2023.12.2 to 2026.1.0; 2026.9.0.
    (os.path.join("fsspec", "config.py"), "set_conf_env"): ("FSSPEC", frozenset({
        "dd6c817551c6d0e67c95f4369a50b7cf8c4fdad9375c078e6d1a3f6b683f623c",
        "d1fcd9371c5d5a1cdd3abafa7c652ac1341619a0cd6af1074ca8ebd8eb4f3c1e",
        "0d006214618141bea5cad8b7888dc386c13cd0de65ebd9a1093e1dc396a99dde",
    })),
    # `for name, value in env.items(): if name.startswith("DASK_")` (the one
    # other variable it reads is looked up by name). 2024.12.1 to 2026.11.0.
    (os.path.join("dask", "config.py"), "collect_env"): ("DASK_", frozenset({
        "29a38d40b214ab4ec94d73f598d56b20c1f81060b9520de6d5e00598860c1409",
    })),
    # A dict comprehension over os.environ.items() keeping
    # NETWORKX_BACKEND_PRIORITY_*; its other variables are looked up by name.
    # 3.4.2; 3.5; 3.6 and 3.6.1.
    (os.path.join("networkx", "utils", "backends.py"), "_set_configs_from_environment"): (
        "NETWORKX_BACKEND_PRIORITY_", frozenset({
            "07f3ad7dbe5664b323b460958e662274ad369c33589f6cdfb1434c52e5b6ae1c",
            "b7defe01d8cb618dce5cac28b1696984fd23aaf899235a3074013db9b662ad7d",
            "8262144c472e71d722cc5a4e89a91bb34494ea851160dee35967e353ba780665",
        })),
}
PREFIXES: Tuple[str, ...] = tuple(sorted({prefix for prefix, _ in PREFIX_READERS.values()}))

# Frames between the iterating function and os.environ's own methods: the
# mapping views and mixins (KeysView.__iter__, ItemsView.__iter__, Mapping's
# get/__contains__, dict(mapping) through keys()), os's copy(), and
# comprehensions, which run in frames of their own up to Python 3.11.
# The standard library's own files only (a project's mypkg/os.py is code like any).
_PASS_THROUGH_FILES = frozenset({"<frozen _collections_abc>", "<frozen os>", getattr(os, "__file__", "<frozen os>"),
                                 getattr(_collections_abc, "__file__", "<frozen _collections_abc>")})
_COMPREHENSIONS = frozenset({"<dictcomp>", "<listcomp>", "<setcomp>", "<genexpr>"})


def names_input(prefix: str) -> str:
    """The input name of the environment's names that start with `prefix`."""
    return f"env:*names:{prefix}"


def names_values(env: Iterable[str]) -> Dict[str, str]:
    """Every known prefix's input, as a snapshot holds it (sorted names)."""
    names = sorted(env)
    return {names_input(p): repr([n for n in names if n.startswith(p)]) for p in PREFIXES}


def reader_frame(frame: Optional[FrameType]) -> Optional[FrameType]:
    """The frame of the function that iterates (or sizes) the environment,
    from the frame below os.environ's method."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename in _PASS_THROUGH_FILES:
            frame = frame.f_back
            continue
        outer = frame.f_back
        if code.co_name in _COMPREHENSIONS and outer is not None and code in outer.f_code.co_consts:
            frame = outer  # run by the function it is written in (not a generator resumed elsewhere)
            continue
        return frame
    return None


def source_digest(code: CodeType) -> Optional[str]:
    """sha256 of a function's source block, read from its file (None: unreadable)."""
    try:
        with open(code.co_filename, encoding="utf-8") as f:
            lines = f.read().splitlines(True)
        block = inspect.getblock(lines[code.co_firstlineno - 1:])
    except Exception:  # noqa: BLE001 - a file changed or half-written since: not the known text
        return None
    return hashlib.sha256("".join(block).encode()).hexdigest()


# Where a function is written: code objects compare equal across files.
Where = Tuple[str, int, str]


def known_prefix(code: CodeType, seen: Dict[Where, Optional[str]]) -> Optional[str]:
    """The prefix a known function's iteration keeps, or None (any other
    code, or a text not read here). `seen` caches the answer per function."""
    where = (code.co_filename, code.co_firstlineno, code.co_name)
    if where in seen:
        return seen[where]
    prefix = None
    for (suffix, name), (candidate, digests) in PREFIX_READERS.items():
        if code.co_name == name and code.co_filename.endswith(os.sep + suffix):
            if source_digest(code) in digests:
                prefix = candidate
            break
    seen[where] = prefix
    return prefix


def caller(depth: int) -> Optional[FrameType]:
    """sys._getframe(depth + 1), or None where the stack is not that deep
    (a lookup made from C with no Python caller)."""
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None


def position(frame: Optional[FrameType]) -> Optional[Tuple[int, int]]:
    """Where the reader of `frame` is now (its frame and instruction): the
    names dict(os.environ) lists and the values it then looks up come from
    one instruction of one frame."""
    reader = reader_frame(frame)
    return None if reader is None else (id(reader), reader.f_lasti)


def reader_code(frame: Optional[FrameType]) -> Optional[CodeType]:
    """The code of the function that reads the environment, from the frame
    that called os.environ's method (None: none found)."""
    reader = reader_frame(frame)
    return None if reader is None else reader.f_code


def differing_on_workers(worker_names: Iterable[str]) -> List[str]:
    """The prefix inputs an xdist worker's own variables change."""
    names = list(worker_names)
    return [names_input(p) for p in PREFIXES if any(n.startswith(p) for n in names)]
