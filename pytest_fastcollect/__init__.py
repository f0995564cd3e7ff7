"""pytest-fastcollect: filtered pytest runs import only the files that can match."""

__version__ = "0.1.0"
