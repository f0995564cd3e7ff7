"""A docstring is part of a surface only where collection read it.

A function's docstring is visible without running it, through `__doc__`:
ids built from it, inspect.getdoc, a property or a callable object that
copied it. The core's hook (src/doc_reads.c) notes every function whose
`__doc__` collection read; functools.wraps copying it into another function
is not a read, reads of that function's `__doc__` count for the function it
wraps. A module's docstring binds `__doc__` (src/bindings.h), read like any
other name. An edit of a docstring nobody read keeps the learned items; an edit
of one that was read relearns, with a filter that selects only what the edit
brings (stale records would skip the file that holds it).

Every plugin run prints the plugin's report line (test_surfaces._after_edit).
"""

from __future__ import annotations

from typing import Dict

import pytest

from test_bindings import TEST_NEW
from test_hook_inputs import ids_fast
from test_surfaces import PROJECT, _after_edit, _learn

# proj/core.py of test_surfaces with docstrings: the module's, a method's, a
# function wrapped by a functools.wraps decorator, a plain function.
CORE = '\n        """module words"""' + PROJECT["proj/core.py"].replace(
    "def render(self):\n", 'def render(self):\n                """rows joined"""\n') + """

        def traced(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper


        @traced
        def wrapped():
            \"\"\"alpha beta\"\"\"
            return 0


        def plain():
            \"\"\"gamma\"\"\"
            return 0
"""

# name -> proj/reader.py, whose NAMES parametrize tests/test_new.py (None: the
# test module reads nothing of proj.core's docstrings)
READERS = {
    "nothing": None,
    "ids-from-a-docstring": "from proj import core\nNAMES = core.plain.__doc__.split()\n",
    "through-the-functools-wraps-copy": "from proj import core\nNAMES = core.wrapped.__doc__.split()\n",
    "inspect-getdoc-of-a-method": "import inspect\nfrom proj import core\n"
                                  "NAMES = inspect.getdoc(core.Table.render).split()\n",
    "copied-into-a-callable-object": (
        "import functools\nfrom proj import core\n\n\nclass Wrapper:\n    def __init__(self, f):\n"
        "        functools.update_wrapper(self, f)\n\n\nNAMES = Wrapper(core.plain).__doc__.split()\n"),
    "copied-by-a-property": (
        "from proj import core\n\n\nclass Holder:\n    value = property(core.plain)\n\n\n"
        "NAMES = Holder.value.__doc__.split()\n"),
    "the-module-docstring": "from proj import core\nNAMES = core.__doc__.split()\n",
    "calls-the-function": "from proj import core\nNAMES = ['n%d' % core.plain()]\n",
    "calls-it-and-reads-its-docstring": "from proj import core\nNAMES = core.plain.__doc__.split()[core.plain():]\n",
}

# name -> (the docstring edited, its new text, a -k expression only the new text brings)
EDITS = {
    "plain": ('"""gamma"""', '"""gamma delta"""', "delta"),
    "wrapped": ('"""alpha beta"""', '"""alpha beta omega"""', "omega"),
    "method": ('"""rows joined"""', '"""rows joined sigma"""', "sigma"),
    "module": ('"""module words"""', '"""module words kappa"""', "kappa"),
}

# (reader, edit) -> does collection observe the edit?
CASES = [
    ("nothing", "plain", False),
    ("nothing", "wrapped", False),
    ("nothing", "method", False),
    ("ids-from-a-docstring", "wrapped", False),  # it read another function's docstring
    ("ids-from-a-docstring", "plain", True),
    ("through-the-functools-wraps-copy", "wrapped", True),
    ("inspect-getdoc-of-a-method", "method", True),
    ("copied-into-a-callable-object", "plain", True),
    ("copied-by-a-property", "plain", True),
    ("nothing", "module", False),  # a module docstring binds __doc__ (bindings.h)
    ("the-module-docstring", "module", True),
    ("the-module-docstring", "plain", False),
    ("calls-the-function", "plain", False),  # its body ran; its docstring was not read
    ("calls-it-and-reads-its-docstring", "plain", True),
]


def _project(reader: str) -> Dict[str, str]:
    files = dict(PROJECT)
    files["proj/core.py"] = CORE
    if reader:
        files["proj/reader.py"] = reader
        files["tests/test_new.py"] = TEST_NEW
    return files


@pytest.mark.parametrize("reader,edit,observed", CASES, ids=[f"{r}-{e}" for r, e, _ in CASES])
def test_docstring_edit(pytester: pytest.Pytester, reader: str, edit: str, observed: bool) -> None:
    files = _project(READERS[reader] or "")
    old, new, expr = EDITS[edit]
    _learn(pytester, files, ("-k", "case2 or table"))
    args = ("-k", expr) if observed else ("-k", "case2 or table")
    ids_fast(pytester, *args)  # records for this filter's session too
    assert old in CORE
    rep = _after_edit(pytester, {"proj/core.py": CORE.replace(old, new)}, args, relearn=observed,
                      changed="proj/core.py" if observed else None)
    assert rep.imported > 0
