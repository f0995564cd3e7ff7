"""Cases a review of links, hook phases and in-place writes found (each missed
or added tests before its fix): plain pytest and the plugin compared cold
(--cache-clear), then after a learning run, and with the run's outcomes
where a hook acts after collection."""

from __future__ import annotations

from typing import Dict, List

import pytest

from differential import compare, write

CASES: Dict[str, Dict[str, str]] = {
    # Code after deselection writes session.items (the list pytest runs).
    "session-items": {
        "conftest.py": """
            import pytest
            _deselected = []
            def pytest_deselected(items):
                _deselected.extend(items)
            @pytest.hookimpl(trylast=True)
            def pytest_collection_modifyitems(session):
                session.items.extend(i for i in _deselected if "always" in i.name)
        """,
        "tests/test_a.py": "def test_foo(): pass\ndef test_always_a(): pass\n",
        "tests/test_b.py": "def test_bar(): pass\n",
    },
    # pytest_collection_finish adds to the items -k/-m selected.
    "collection-finish": {
        "conftest.py": """
            _deselected = []
            def pytest_deselected(items):
                _deselected.extend(items)
            def pytest_collection_finish(session):
                session.items.extend(i for i in _deselected if "always" in i.name)
        """,
        "tests/test_a.py": "def test_foo(): pass\ndef test_always_a(): pass\n",
        "tests/test_b.py": "def test_bar(): pass\n",
    },
    # A conftest's hook imported from another module (not read from the conftest's file).
    "imported-hook": {
        "pytest.ini": "[pytest]\npythonpath = .\nmarkers = slow\n",
        "shared_hooks.py": """
            import pytest
            def pytest_collection_modifyitems(items):
                for item in items[1:]:
                    item.add_marker(pytest.mark.slow)
        """,
        "conftest.py": """
            from shared_hooks import pytest_collection_modifyitems
            def pytest_generate_tests(metafunc):
                pass
        """,
        "tests/test_a.py": "def test_foo(): pass\n",
        "tests/test_b.py": "def test_bar(): pass\n",
    },
    # A conftest's hook defined under an `if`.
    "conditional-hook": {
        "pytest.ini": "[pytest]\nmarkers = slow\n",
        "conftest.py": """
            import sys
            import pytest
            if sys.version_info >= (3, 8):
                def pytest_collection_modifyitems(items):
                    for item in items[1:]:
                        item.add_marker(pytest.mark.slow)
        """,
        "tests/test_a.py": "def test_foo(): pass\n",
        "tests/test_b.py": "def test_bar(): pass\n",
    },
    # Code after deselection decides on a name other modules' imports fill.
    "after-global": {
        "pytest.ini": "[pytest]\npythonpath = tests\n",
        "conftest.py": """
            import pytest
            import helpers
            @pytest.hookimpl(trylast=True)
            def pytest_collection_modifyitems(items):
                items[:] = [i for i in items if not i.name.startswith("test_optional") or i.name in helpers.ENABLED]
        """,
        "tests/helpers.py": """
            ENABLED = set()
            def enables(name):
                def deco(func):
                    ENABLED.add(name)
                    return func
                return deco
        """,
        "tests/test_a.py": "from helpers import enables\n@enables('test_optional_b')\ndef test_a(): pass\n",
        "tests/test_b.py": "def test_optional_b(): pass\n",
    },
    # Before deselection, a decision on state another hook fills (modules collected).
    "collect-events": {
        "conftest.py": """
            collected_modules = []
            def pytest_collectreport(report):
                if report.nodeid.endswith(".py"):
                    collected_modules.append(report.nodeid)
            def pytest_collection_modifyitems(items):
                if len(collected_modules) < 3:
                    items[:] = [i for i in items if "quick" in i.name]
        """,
        "tests/test_a.py": "def test_a(): pass\n",
        "tests/test_b.py": "def test_b(): pass\n",
        "tests/test_c.py": "def test_c_quick(): pass\ndef test_c_full(): pass\n",
    },
    # A shallow copy whose dicts are the helper's: a change reached through it.
    "shallow-copy": {
        "tests/helpers.py": 'BASE_CASES = [{"name": "plain"}, {"name": "other"}]\n',
        "tests/test_a.py": """
            from helpers import BASE_CASES
            cases = list(BASE_CASES)
            cases[0]["name"] = "fancy"
            def test_a(): pass
        """,
        "tests/test_b.py": """
            import pytest
            from helpers import BASE_CASES
            @pytest.mark.parametrize("case", BASE_CASES, ids=lambda c: c["name"])
            def test_b(case): pass
        """,
    },
    # A change made in a class body, through a module-level display holding a helper's dict.
    "class-body-store": {
        "tests/helpers.py": 'CONFIG = {"mode": "plain"}\n',
        "tests/test_a.py": """
            import helpers
            BOX = [helpers.CONFIG]
            class TestA:
                BOX[0]["mode"] = "fancy"
                def test_a(self): pass
        """,
        "tests/test_b.py": """
            import pytest
            from helpers import CONFIG
            @pytest.mark.parametrize("mode", [CONFIG["mode"]])
            def test_b(mode): pass
        """,
    },
    # An in-place method of a helper's list, the helper first imported by the changer.
    "first-import-append": {
        "tests/helpers.py": 'BACKENDS = ["memory", "disk"]\n',
        "tests/test_a.py": "import helpers\nhelpers.BACKENDS.append('fancy')\ndef test_a(): pass\n",
        "tests/test_b.py": """
            import pytest
            from helpers import BACKENDS
            @pytest.mark.parametrize("backend", BACKENDS)
            def test_b(backend): pass
        """,
    },
    # A helper's function changes the dicts inside a shared list (a nested change).
    "nested-change": {
        "pytest.ini": "[pytest]\npythonpath = tests\n",
        "conftest.py": "import helpers\n",
        "tests/helpers.py": """
            CASES = [{"name": "plain"}]
            def use_fancy_names():
                for case in CASES:
                    case["name"] = "fancy"
        """,
        "tests/test_a.py": "from helpers import CASES, use_fancy_names\nuse_fancy_names()\ndef test_a(): pass\n",
        "tests/test_b.py": """
            import pytest
            from helpers import CASES
            @pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
            def test_b(case): pass
        """,
    },
    # A property setter that writes a helper's global.
    "setter": {
        "tests/helpers.py": """
            MODES = {"default": "plain"}
            class Settings:
                @property
                def mode(self):
                    return MODES["default"]
                @mode.setter
                def mode(self, value):
                    MODES["default"] = value
        """,
        "tests/test_a.py": "from helpers import Settings\nsettings = Settings()\nsettings.mode = 'fancy'\ndef test_a(): pass\n",
        "tests/test_b.py": """
            import pytest
            from helpers import MODES
            @pytest.mark.parametrize("mode", list(MODES.values()))
            def test_b(mode): pass
        """,
    },
    # A name rebound after the change: its final value is not what was changed.
    "rebound": {
        "tests/helpers.py": 'BACKENDS = ["memory", "disk"]\n',
        "tests/test_a.py": """
            import helpers
            backends = helpers.BACKENDS
            backends[1] = "fancy_disk"
            backends = None
            def test_a(): pass
        """,
        "tests/test_b.py": """
            import pytest
            from helpers import BACKENDS
            @pytest.mark.parametrize("backend", BACKENDS)
            def test_b(backend): pass
        """,
    },
    # A registry of strings a decorator fills, its module first imported by the filler.
    "string-registry": {
        "tests/helpers.py": """
            REGISTERED = []
            def register(func):
                REGISTERED.append(func.__name__ + "_fancy")
                return func
        """,
        "tests/test_a.py": "from helpers import register\n@register\ndef test_a(): pass\n",
        "tests/test_b.py": """
            import pytest
            from helpers import REGISTERED
            @pytest.mark.parametrize("name", REGISTERED or ["none"])
            def test_b(name): pass
        """,
    },
    # A registry object (not a container) whose list a decorator fills.
    "registry-object": {
        "tests/conftest.py": "import helpers\n",
        "tests/helpers.py": """
            class Registry:
                def __init__(self):
                    self.names = []
                def register(self, func):
                    self.names.append(func.__name__ + "_fancy")
                    return func
            REG = Registry()
        """,
        "tests/test_a.py": "from helpers import REG\n@REG.register\ndef test_a(): pass\n",
        "tests/test_b.py": """
            import pytest
            from helpers import REG
            @pytest.mark.parametrize("name", REG.names or ["none"])
            def test_b(name): pass
        """,
    },
}

# Found while measuring (pandas): an object a call made at import, changed in place.
CASES["made-by-a-call"] = {
    "tests/helpers.py": """
        CONFIG = {"mode": "plain"}
        def shared_config():
            return CONFIG
        def fresh_config():
            return {"mode": "plain"}
    """,
    "tests/test_a.py": "import helpers\ncfg = helpers.shared_config()\ncfg['mode'] = 'fancy'\ndef test_a(): pass\n",
    "tests/test_a_own.py": "import helpers\nmine = helpers.fresh_config()\nmine['mode'] = 'own'\ndef test_own(): pass\n",
    "tests/test_b.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("mode", [helpers.CONFIG["mode"]])
        def test_b(mode): pass
    """,
}

# Helpers in tests/ on sys.path, and (for the cases below that need it)
# loaded by the conftest before any test module's window (docs/compatibility.md).
IN_TESTS = {"pytest.ini": "[pytest]\npythonpath = tests\n"}
LOADED = {**IN_TESTS, "conftest.py": "import helpers\n"}

# A second review: a setter writing a module global, reached through an
# object the module made (no resolved skip may stand without it).
CASES["setter-global"] = {
    **LOADED,
    "tests/helpers.py": """
        MODE = "plain"
        class Settings:
            @property
            def mode(self):
                return MODE
            @mode.setter
            def mode(self, value):
                global MODE
                MODE = value
    """,
    "tests/test_a.py": "from helpers import Settings\nsettings = Settings()\nsettings.mode = 'fancy'\ndef test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("mode", [helpers.MODE])
        def test_b(mode): pass
    """,
}
# A module object a call returned, changed through its attribute.
CASES["imported-by-a-call"] = {
    **LOADED,
    "tests/helpers.py": 'MODE = "plain"\n',
    "tests/test_a.py": "import importlib\nsettings = importlib.import_module('helpers')\nsettings.MODE = 'fancy'\ndef test_a(): pass\n",
    "tests/test_b.py": CASES["setter-global"]["tests/test_b.py"],
}
# A changing call nested in a pure builtin's argument.
CASES["nested-call"] = {
    **IN_TESTS,
    "tests/helpers.py": """
        BACKENDS = ["memory"]
        def with_backend(name):
            BACKENDS.append(name)
            return BACKENDS
    """,
    "tests/test_a.py": "import helpers\nSUPPORTED = list(helpers.with_backend('fancy'))\ndef test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("backend", helpers.BACKENDS)
        def test_b(backend): pass
    """,
}

# A hook given every module's items changes what they all hold: the markers
# of the last module depend on the others being collected.
CASES["hook-changes-after-collection"] = {
    "pytest.ini": "[pytest]\nmarkers = slow\npythonpath = tests\n",
    "conftest.py": """
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                if len(item.module.SEEN) >= 2:
                    item.add_marker(pytest.mark.slow)
                item.module.SEEN.append(item.name)
    """,
    "tests/helpers.py": "SEEN = []\n",
    **{f"tests/test_{m}.py": f"from helpers import SEEN\ndef test_{m}(): pass\n" for m in "abc"},
}

# The session reached through a local name after deselection.
CASES["session-alias"] = {
    "conftest.py": """
        _deselected = []
        def pytest_deselected(items):
            _deselected.extend(items)
        def pytest_collection_finish(session):
            s = session
            s.items.extend(i for i in _deselected if "always" in i.name)
    """,
    "tests/test_a.py": "def test_foo(): pass\ndef test_always_a(): pass\n",
    "tests/test_b.py": "def test_bar(): pass\n",
}

# A project module's state a test module changes at import, which the reader
# holds no container of: a global rebound, a class attribute set by a
# decorator, a registry reached through a function, a dict held by a class.
CASES["global-rebound"] = {
    **LOADED,
    "tests/helpers.py": """
        MODE = "plain"
        def set_mode(m):
            global MODE
            MODE = m
    """,
    "tests/test_a.py": "import helpers\nhelpers.set_mode('fancy')\ndef test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("m", [helpers.MODE])
        def test_b(m): pass
    """,
}
CASES["class-attribute"] = {
    **LOADED,
    "tests/helpers.py": """
        class Settings:
            mode = "plain"
        def fancy(func):
            Settings.mode = "fancy"
            return func
    """,
    "tests/test_a.py": "from helpers import fancy\n@fancy\ndef test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        from helpers import Settings
        @pytest.mark.parametrize("m", [Settings.mode])
        def test_b(m): pass
    """,
}
CASES["registry-through-a-function"] = {
    **LOADED,
    "tests/helpers.py": """
        _BACKENDS = ["memory"]
        def register(name):
            _BACKENDS.append(name)
        def backends():
            return list(_BACKENDS)
    """,
    "tests/test_a.py": "from helpers import register\nregister('fancy')\ndef test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        from helpers import backends
        @pytest.mark.parametrize("backend", backends())
        def test_b(backend): pass
    """,
}
CASES["dict-held-by-a-class"] = {
    **LOADED,
    "tests/helpers.py": """
        class _Defaults:
            settings = {"mode": "plain"}
        def get_settings():
            return _Defaults.settings
    """,
    "tests/test_a.py": "from helpers import get_settings\nsettings = get_settings()\nsettings['mode'] = 'fancy'\n"
                       "def test_a(): pass\n",
    "tests/test_b.py": """
        import pytest
        from helpers import get_settings
        @pytest.mark.parametrize("mode", [get_settings()["mode"]])
        def test_b(mode): pass
    """,
}

EXPRESSIONS: Dict[str, List[str]] = {
    "session-items": ["bar", "foo"],
    "collection-finish": ["bar", "foo"],
    "session-alias": ["bar", "foo"],
    "imported-hook": ["-m slow", "-m not slow"],
    "conditional-hook": ["-m slow", "-m not slow"],
    "after-global": ["optional", "test_a"],
    "collect-events": ["test_c", "quick"],
    "hook-changes-after-collection": ["-m slow", "-m not slow"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_reviewed_case(pytester: pytest.Pytester, case: str) -> None:
    write(pytester.path, CASES[case])
    run = case in ("session-items", "collection-finish", "session-alias")  # the items pytest runs
    for expr in EXPRESSIONS.get(case, ["fancy", "test_b", "not fancy"]):
        args = ["-m", expr[3:]] if expr.startswith("-m") else ["-k", expr]
        compare(pytester, ["--cache-clear", *args], run=run)
        compare(pytester, ["-k", "zzz_learn"])
        compare(pytester, args, run=run)


def test_an_own_object_made_by_a_call_is_learned(pytester: pytest.Pytester) -> None:
    """test_a_own.py changes a dict a call made for it: imported cold (the
    static model cannot tell it is its own), recorded when learning shows it
    is, and skipped afterwards; test_a.py changes the helper's shared dict
    and is imported whenever test_b.py is."""
    write(pytester.path, CASES["made-by-a-call"])
    compare(pytester, ["-k", "zzz_learn"])
    fast = compare(pytester, ["-k", "test_b and fancy"])
    assert fast.ids == ["tests/test_b.py::test_b[fancy]"]
    assert "tests/test_a_own.py" not in fast.modules and "tests/test_a.py" in fast.modules, fast.report


def test_a_reader_without_a_record_is_collected_with_the_changer(pytester: pytest.Pytester) -> None:
    """The link is the reader's record's: once the reader is edited (or a new
    reader appears), only the changer's record says it changes what others
    read, and the changer is imported with any module that has no current
    record."""
    reader = (
        "import pytest\n"
        "from helpers import BACKENDS\n"
        "@pytest.mark.parametrize('backend', BACKENDS)\n"
        "def test_{name}(backend): pass\n"
    )
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = tests\n",
        "conftest.py": "import helpers\n",
        "tests/helpers.py": 'BACKENDS = ["memory"]\ndef add_backend(name):\n    BACKENDS.append(name)\n',
        "tests/test_a.py": "import helpers\nhelpers.add_backend('fancy')\ndef test_a(): pass\n",
        "tests/test_b.py": reader.format(name="b"),
    })
    compare(pytester, ["-k", "zzz_learn"])
    compare(pytester, ["-k", "fancy"])
    write(pytester.path, {"tests/test_b.py": reader.format(name="b") + "\n# edited\n"})
    fast = compare(pytester, ["-k", "fancy"])
    assert fast.ids == ["tests/test_b.py::test_b[fancy]"], fast.report
    write(pytester.path, {"tests/test_c.py": reader.format(name="c")})
    fast = compare(pytester, ["-k", "test_c and fancy"])
    assert fast.ids == ["tests/test_c.py::test_c[fancy]"], fast.report
    fast = compare(pytester, ["-k", "test_a"])  # every module recorded: the changer alone
    assert fast.modules == {"tests/test_a.py"}, fast.report
