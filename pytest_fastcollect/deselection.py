"""Where pytest applies -k and -m, and which hook code runs before or after.

pytest deselects by -k/-m in one plain implementation of
``pytest_collection_modifyitems``, the one of its ``mark`` plugin. pluggy calls
plain implementations in reverse order of registration, and ``mark`` is the
first plugin pytest registers: every other plain implementation (plugins,
conftests, including conftests registered while collecting) and every
``tryfirst`` one runs before it, as does the code of hook wrappers before
their ``yield``. After it run only ``trylast`` implementations and the code
of wrappers after ``yield``.

No hook boundary exists at that point, so ``MarkSnapshot`` wraps the mark
plugin's implementation itself (the ``function`` of its pluggy ``HookImpl``,
for the session's plugin manager only, restored when collection ends): the
item list it hands on is exactly what -k and -m see.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, Optional

import pytest

_HOOK = "pytest_collection_modifyitems"


def mark_impl(config: pytest.Config) -> Optional[Any]:
    """The pluggy HookImpl through which pytest applies -k/-m, or None."""
    mark = config.pluginmanager.get_plugin("mark")
    caller = getattr(config.pluginmanager.hook, _HOOK, None)
    if mark is None or caller is None:
        return None
    for impl in caller.get_hookimpls():
        if impl.plugin is mark and not impl.hookwrapper and not getattr(impl, "wrapper", False):
            if "items" in impl.argnames:
                return impl
    return None


def runs_after_deselection(config: pytest.Config, impl: Any) -> bool:
    """Does this (non-wrapper) implementation run after -k/-m deselected?
    pluggy calls the list from its end: what comes before mark's runs after it."""
    mark = mark_impl(config)
    caller = getattr(config.pluginmanager.hook, _HOOK)
    impls = [i for i in caller.get_hookimpls() if not i.hookwrapper and not getattr(i, "wrapper", False)]
    if mark is None or impl not in impls:
        return True  # cannot tell: take the later side
    return impls.index(impl) < impls.index(mark)


class MarkSnapshot:
    """Calls `on_items(items)` right before pytest's -k/-m deselection."""

    def __init__(self, config: pytest.Config, on_items: Callable[[List[pytest.Item]], None]) -> None:
        self.config = config
        self.on_items = on_items
        self._impl: Optional[Any] = None
        self._original: Optional[Callable[..., Any]] = None

    def install(self) -> bool:
        if self._impl is not None:
            return True
        impl = mark_impl(self.config)
        if impl is None:
            return False
        original = impl.function
        position = list(impl.argnames).index("items")
        on_items = self.on_items

        def deselect_by_keyword_and_mark(*args: Any) -> Any:
            # pluggy passes the arguments positionally, in impl.argnames order.
            on_items(args[position])
            return original(*args)

        impl.function = deselect_by_keyword_and_mark
        self._impl, self._original = impl, original
        return True

    def remove(self) -> None:
        if self._impl is not None:
            self._impl.function = self._original
            self._impl = self._original = None


def called_from(tail: str) -> bool:
    """Is the hook being called (through pluggy) from a file ending in `tail`?"""
    frame = sys._getframe(2)
    while frame is not None and ("pluggy" in frame.f_code.co_filename
                                 or frame.f_code.co_filename.startswith(_OWN_DIR)):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.endswith(tail)


_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
