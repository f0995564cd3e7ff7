"""Loading the native core and the tree-sitter grammar, with reasons on failure."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, NamedTuple, Union


class Native(NamedTuple):
    core: ModuleType
    language: Any  # the grammar's tree_sitter.Language capsule
    abi: int


def load() -> Union[Native, str]:
    """The native core and grammar, or a one-line reason why they cannot be used."""
    try:
        _core = importlib.import_module("pytest_fastcollect._core")
    except ImportError as exc:
        return f"native core could not be loaded ({exc})"
    try:
        import tree_sitter_python

        language = tree_sitter_python.language()
    except Exception as exc:  # noqa: BLE001 - any failure means: plain pytest
        return f"tree-sitter-python grammar could not be loaded ({exc})"
    try:
        abi, lowest, highest = _core.language_abi(language)
    except Exception as exc:  # noqa: BLE001
        return f"tree-sitter-python grammar is not usable ({exc})"
    if not lowest <= abi <= highest:
        return (
            f"tree-sitter-python grammar has ABI {abi}, the core reads {lowest}-{highest}; "
            "install tree-sitter-python<0.24"
        )
    return Native(_core, language, abi)
