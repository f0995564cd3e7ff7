"""pytest-fastcollect: filtered pytest runs import only the files that can match."""

# Above 0.5.2, the last release of an earlier, unrelated project that used
# the same PyPI name. pyproject.toml reads the version from here.
__version__ = "0.6.0"
