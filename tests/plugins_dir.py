"""Where `make` puts plugins that only some tests load (outside every venv)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "build" / "test-plugins"


def env_with_plugins() -> Dict[str, str]:
    """An environment for a pytest subprocess that autoloads the extra plugins."""
    assert (PLUGINS_DIR / ".ready").exists(), f"run `make {PLUGINS_DIR.relative_to(PLUGINS_DIR.parent.parent)}/.ready` first"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGINS_DIR), env.get("PYTHONPATH", "")) if p)
    return env
