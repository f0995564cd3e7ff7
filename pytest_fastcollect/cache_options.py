"""pytest's options that act on collection through state kept in its cache.

- ``--lf``: pytest's last-failed plugin collects the files that hold recorded
  failures first; once one of them yields a recorded failure, it stops
  collecting every other file. Whether it does depends on those files being
  collected, so they are never skipped. Every other file is skipped on the
  usual proof (its items cannot survive ``-k``/``-m``): if pytest collects it,
  none of its items is selected; if not, it holds none anyway. Items of an
  ``--lf`` session are filtered while collecting: nothing is recorded, and
  decisions come from records learned without it.
- ``--sw`` (``--sw-skip``, ``--sw-reset``): stepwise compares the number of
  items collected (before ``-k``/``-m``) with its last run's, and writes the new
  count into the cache for the next run. A skipped file changes that count,
  so with stepwise on every test file is imported. It deselects items before
  other plugins' and conftests' hooks see them, so nothing is recorded either.
- ``--ff``, ``--nf`` reorder the items ``-k``/``-m`` selected; ``--deselect``
  drops items per node ID just before ``-k``/``-m`` (learned records add them
  back); ``--ignore``/``--ignore-glob`` drop files pytest's own
  ``pytest_ignore_collect`` never collects. They compose as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, FrozenSet, Optional, Tuple

import pytest

LF_REASON = "holds a failure --lf reruns: collected as pytest does"
STEPWISE_REASON = "--sw compares the number of collected tests with its last run: every test file is imported"


def stepwise_active(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False)
                or getattr(option, "stepwise_reset", False))


def recording_blocked(config: pytest.Config) -> Optional[str]:
    """Why this session's items cannot be recorded, or None."""
    if getattr(config.option, "lf", False):
        return "--lf filters items while collecting"
    if stepwise_active(config):
        return "--sw deselects items before other hooks see them"
    return None


def last_failed_files(config: pytest.Config) -> Tuple[Optional[FrozenSet[str]], str]:
    """With --lf: the files pytest's last-failed plugin collects first (they
    hold recorded failures), as it computes them; (None, why) when they cannot
    be known. Without --lf: an empty set."""
    if not getattr(config.option, "lf", False):
        return frozenset(), ""
    plugin: Any = config.pluginmanager.get_plugin("lfplugin")
    paths = getattr(plugin, "_last_failed_paths", None)
    if plugin is None or not isinstance(paths, (set, frozenset)):
        return None, "--lf: the last-failed plugin's files are not known"
    return frozenset(str(p) for p in paths if isinstance(p, Path) and p.is_file()), ""
