"""pytest-fastcollect: filtered pytest runs import only the files that can match."""

import sys

# Above 0.5.2, the last release of an earlier, unrelated project that used
# the same PyPI name. pyproject.toml reads the version from here.
__version__ = "0.6.0"


def _leave_own_modules_unrewritten() -> None:
    """pytest marks every module of a distribution that registers a pytest11
    entry point for assertion rewriting: its import hook then parses and
    compiles each of them on every start where bytecode is not written
    (PYTHONDONTWRITEBYTECODE, common in containers): 0.4 s a run on a slow
    machine for this package, whose asserts are internal checks that need no
    rewriting. This package, imported first, takes its name off the hook's
    list before its other modules load. Private to pytest: where the hook
    differs, nothing changes."""
    for finder in sys.meta_path:
        if type(finder).__name__ != "AssertionRewritingHook":
            continue
        marked = getattr(finder, "_must_rewrite", None)
        cache = getattr(finder, "_marked_for_rewrite_cache", None)
        if isinstance(marked, set) and isinstance(cache, dict):
            marked.discard(__name__)
            cache.clear()


_leave_own_modules_unrewritten()
