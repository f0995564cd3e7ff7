"""Which test modules are collected together (pytest_fastcollect/links.py):
only where collecting one can change what another sees. A library-owned
list that several test modules parametrize over, and that nothing changes,
links none of them (scikit-learn's CSR_CONTAINERS); a list a test module
changes, a registry its classes or decorators fill, a module attribute it
sets, link it with their readers. Every case: a learning run, then plain
pytest and the plugin compared (differential.compare)."""

from __future__ import annotations

import json
from typing import Dict, List

import pytest

from differential import Report, compare, skipped, write

LIB = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "lib/__init__.py": "",
    "lib/fixes.py": """
        CONTAINERS = ["csr", "csc", "coo"]
        MODE = "slow"
    """,
    "lib/registry.py": """
        REG = []
        FUNCS = []

        class Base:
            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                REG.append(cls.__name__)

        def register(func):
            FUNCS.append(func)
            return func
    """,
    # The package under test, imported at start-up (as a real suite's conftest does).
    "conftest.py": "import lib.fixes\nimport lib.registry\n",
}


def shared_list_modules(n: int) -> Dict[str, str]:
    return {f"tests/test_m{i}.py": f"""
        import pytest
        from lib.fixes import CONTAINERS

        @pytest.mark.parametrize("c", CONTAINERS)
        def test_m{i}(c):
            pass
    """ for i in range(n)}


def learn_and_compare(pytester: pytest.Pytester, files: Dict[str, str], expressions: List[str]) -> List[int]:
    write(pytester.path, {**LIB, **files})
    compare(pytester, ["-k", "zzz_learn"])
    out = []
    for expr in expressions:
        fast = compare(pytester, ["-k", expr])
        out.append(skipped(fast))
    return out


def relearn_after_writer_edit(pytester: pytest.Pytester, files: Dict[str, str], edited: str) -> Report:
    """Learns the project, rewrites tests/test_a_sets.py (the writer) as
    `edited`, compares `-k quick`: the run's report."""
    write(pytester.path, {**LIB, **files})
    compare(pytester, ["-k", "zzz_learn"])
    (pytester.path / "tests" / "test_a_sets.py").write_text(edited)
    fast = compare(pytester, ["-k", "quick"])
    assert fast.report is not None, fast.lines
    return fast.report


def test_a_shared_list_nothing_changes_links_nothing(pytester: pytest.Pytester) -> None:
    skips = learn_and_compare(pytester, shared_list_modules(6), ["test_m3", "csc", "test_m1 and coo", "not csr"])
    assert skips[0] == 5, skips  # decided by learned items, one module imported


@pytest.mark.parametrize("change", [
    "CONTAINERS.append('bsr')",
    "CONTAINERS.remove('csr')",
    "CONTAINERS[0] = 'dok'",
    "CONTAINERS += ['lil']",
    "list.append(CONTAINERS, 'dia')",
    "alias = [CONTAINERS]\nalias[0].pop()",
])
def test_a_module_that_changes_a_shared_list_links_it(pytester: pytest.Pytester, change: str) -> None:
    files = shared_list_modules(4)
    files["tests/test_a_changer.py"] = f"""
        from lib.fixes import CONTAINERS
        {change}

        def test_changer():
            pass
    """
    learn_and_compare(pytester, files, ["test_m2", "bsr or dok or lil or dia", "csr", "changer", "not changer",
                                        "test_m1 and coo"])


def test_a_change_during_collection_links_it(pytester: pytest.Pytester) -> None:
    """A module's own pytest_generate_tests drops an entry while it is
    collected: only the watch (not the source) sees it."""
    files = shared_list_modules(3)
    files["tests/test_a_gen.py"] = """
        from lib.fixes import CONTAINERS

        def pytest_generate_tests(metafunc):
            if "x" in metafunc.fixturenames:
                CONTAINERS.pop()
                metafunc.parametrize("x", [1])

        def test_gen(x):
            pass
    """
    learn_and_compare(pytester, files, ["test_m1", "coo", "test_m0 and not csr", "gen"])


def test_a_registry_filled_by_test_classes(pytester: pytest.Pytester) -> None:
    files = {
        "tests/test_a_defs.py": """
            from lib.registry import Base

            class TestThing(Base):
                def test_thing(self):
                    pass

            class TestOther(Base):
                def test_other(self):
                    pass
        """,
        "tests/test_b_reads.py": """
            import pytest
            from lib.registry import REG

            @pytest.mark.parametrize("name", list(REG) or ["none"])
            def test_reg(name):
                pass
        """,
        "tests/test_c_plain.py": "def test_plain():\n    pass\n",
    }
    skips = learn_and_compare(pytester, files, ["test_reg", "test_reg and TestThing", "none", "plain", "not defs"])
    assert skips[3] == 2, skips  # the pair is skipped together


def test_a_registry_filled_by_a_decorator(pytester: pytest.Pytester) -> None:
    files = {
        "tests/test_a_funcs.py": """
            from lib.registry import register

            @register
            def make_alpha():
                return 1

            def test_funcs():
                pass
        """,
        "tests/test_b_uses.py": """
            import pytest
            from lib.registry import FUNCS

            @pytest.mark.parametrize("f", FUNCS or [None])
            def test_uses(f):
                pass
        """,
    }
    learn_and_compare(pytester, files, ["test_uses", "make_alpha", "f0", "None", "funcs"])


def test_a_module_attribute_set_at_import(pytester: pytest.Pytester) -> None:
    files = {
        "tests/test_a_sets.py": """
            import lib.fixes
            lib.fixes.MODE = "fast"

            def test_sets():
                pass
        """,
        "tests/test_b_mode.py": """
            import pytest
            import lib.fixes

            @pytest.mark.parametrize("mode", [lib.fixes.MODE])
            def test_mode(mode):
                pass
        """,
        "tests/test_c_from.py": """
            import pytest
            from lib.fixes import MODE

            @pytest.mark.parametrize("mode", [MODE])
            def test_from(mode):
                pass
        """,
    }
    learn_and_compare(pytester, files, ["test_mode", "slow", "fast", "test_from and fast", "test_from and slow"])


# Module-level writes of another module's attribute in every shape the
# writer's source may take; "{v}" is the value, edited after learning.
ATTRIBUTE_WRITERS = {
    "plain": "import lib.fixes\nlib.fixes.MODE = \"{v}\"\n",
    "in a block": "import os\nimport lib.fixes\nif os.sep:\n    lib.fixes.MODE = \"{v}\"\n",
    "from-imported module": "from lib import fixes\nfixes.MODE = \"{v}\"\n",
    "module bound otherwise": "import importlib\nfx = importlib.import_module(\"lib.fixes\")\nfx.MODE = \"{v}\"\n",
    "unpacked": "from lib import fixes\n_n, fixes.MODE = 1, \"{v}\"\n",
    "loop target": "from lib import fixes\nfor fixes.MODE in [\"{v}\"]:\n    pass\n",
    "with target": "import contextlib\nfrom lib import fixes\nwith contextlib.nullcontext(\"{v}\") as fixes.MODE:\n    pass\n",
    "in a class body": "from lib import fixes\nclass Setter:\n    fixes.MODE = \"{v}\"\n",
    "setattr": "from lib import fixes\nsetattr(fixes, \"MODE\", \"{v}\")\n",
}


@pytest.mark.parametrize("shape", sorted(ATTRIBUTE_WRITERS))
def test_an_edited_attribute_writer_relearns_its_readers(pytester: pytest.Pytester, shape: str) -> None:
    """A module setting another module's attribute at import, edited after
    learning: the modules collected after it that read the attribute must not
    keep their records (a missed test when the writer's source was read only
    for unindented `import`ed names)."""
    writer = ATTRIBUTE_WRITERS[shape] + "\ndef test_sets():\n    pass\n"
    files = {
        "tests/test_a_sets.py": writer.format(v="fast"),
        "tests/test_b_mode.py": """
            import pytest
            from lib import fixes

            @pytest.mark.parametrize("mode", [fixes.MODE])
            def test_mode(mode):
                pass
        """,
        "tests/test_c_other.py": "def test_other():\n    pass\n",
    }
    report = relearn_after_writer_edit(pytester, files, writer.format(v="quick"))
    # The writer (it changes process state) and its reader are imported.
    assert (report.imported, report.total) == (2, 3), report.line


CONFIG = {
    "lib/config.py": """
        MODE = "slow"

        class Settings:
            level = "low"

        def configure(mode, level):
            global MODE
            MODE = mode
            Settings.level = level

        def mode():
            return MODE
    """,
    "lib/setup.py": """
        from lib import config

        def run(mode, level):
            config.configure(mode, level)
    """,
}
CONFIG_READERS = {
    "tests/test_b_attribute.py": """
        import pytest
        from lib import config

        @pytest.mark.parametrize("m", [config.MODE])
        def test_attribute(m):
            pass
    """,
    "tests/test_c_function.py": """
        import pytest
        from lib.config import mode

        @pytest.mark.parametrize("m", [mode()])
        def test_function(m):
            pass
    """,
    "tests/test_d_class.py": """
        import pytest
        from lib.config import Settings

        @pytest.mark.parametrize("lv", [Settings.level])
        def test_class(lv):
            pass
    """,
    "tests/test_e_other.py": "def test_other():\n    pass\n",
}


@pytest.mark.parametrize("call", ["from lib import config\nconfig.configure({args})\n",
                                  "import lib.setup\nlib.setup.run({args})\n"])
def test_a_library_global_rebound_by_a_call_at_import(pytester: pytest.Pytester, call: str) -> None:
    """A test module's import calls library code that rebinds a global of a
    library module (and sets a class attribute there): the modules collected
    after it that read them are linked with it, so an edit of its arguments
    relearns them (their records were kept: a missed test)."""
    writer = call + "\ndef test_sets():\n    pass\n"
    files = {**CONFIG, **CONFIG_READERS, "tests/test_a_sets.py": writer.format(args='"fast", "mid"')}
    report = relearn_after_writer_edit(pytester, files, writer.format(args='"quick", "high"'))
    # The writer and the three readers are imported; the unrelated module is not.
    assert (report.imported, report.total) == (4, 5), report.line
    for expr in ["high", "fast or mid", "other"]:
        compare(pytester, ["-k", expr])


REGISTRY = """
    REG = []

    def register(x):
        REG.append(x)

    def names():
        return list(REG)
"""


@pytest.mark.parametrize("where", ["lib.reg", "tests.helpers"])
def test_a_list_filled_by_a_call_and_read_through_a_function(pytester: pytest.Pytester, where: str) -> None:
    """A list in a project module (the library's, or a helper of the test
    suite), filled by a call at one test module's import and read by another
    only through a function: no test module holds the list, its module's
    namespace is not written, yet the reader's items change with the writer."""
    writer = f"from {where} import register\nregister({{v!r}})\n\ndef test_sets():\n    pass\n"
    files = {
        where.replace(".", "/") + ".py": REGISTRY,
        "tests/__init__.py": "",
        # Imported before the writer (a window of its own): not the first window.
        "tests/test_0_first.py": "import pytest\n\n@pytest.mark.parametrize('x', [str(1)])\ndef test_0(x):\n    pass\n",
        "tests/test_a_sets.py": writer.format(v="fast"),
        "tests/test_b_reads.py": f"""
            import pytest
            from {where} import names

            @pytest.mark.parametrize("x", names())
            def test_reads(x):
                pass
        """,
        "tests/test_c_other.py": "def test_other():\n    pass\n",
    }
    report = relearn_after_writer_edit(pytester, files, writer.format(v="quick"))
    # The writer and the reader imported; the first module decided by its record.
    assert (report.imported, report.total) == (2, 4), report.line


@pytest.mark.parametrize("where", ["lib.conf", "tests.helpers"])
def test_an_object_attribute_set_by_a_call(pytester: pytest.Pytester, where: str) -> None:
    """A plain object of a project module (a settings instance) whose
    attribute a function sets, called at one test module's import; another
    holds the object and builds ids from the attribute."""
    writer = f"from {where} import set_mode\nset_mode({{v!r}})\n\ndef test_sets():\n    pass\n"
    files = {
        where.replace(".", "/") + ".py": """
            class Config:
                def __init__(self):
                    self.mode = "slow"

            config = Config()

            def set_mode(m):
                config.mode = m
        """,
        "tests/__init__.py": "",
        "tests/test_0_first.py": "import pytest\n\n@pytest.mark.parametrize('x', [str(1)])\ndef test_0(x):\n    pass\n",
        "tests/test_a_sets.py": writer.format(v="fast"),
        "tests/test_b_reads.py": f"""
            import pytest
            from {where} import config

            @pytest.mark.parametrize("x", [config.mode])
            def test_reads(x):
                pass
        """,
    }
    report = relearn_after_writer_edit(pytester, files, writer.format(v="quick"))
    assert (report.imported, report.total) == (2, 3), report.line


def test_explain_names_the_link(pytester: pytest.Pytester) -> None:
    files = shared_list_modules(2)
    files["tests/test_a_changer.py"] = """
        from lib.fixes import CONTAINERS
        CONTAINERS.append("bsr")

        def test_changer():
            pass
    """
    write(pytester.path, {**LIB, **files})
    result = pytester.runpytest_inprocess("--co", "-p", "no:randomly", "--fast-collect-explain", "-k", "zzz_learn")
    result.stdout.fnmatch_lines(["*linked when learned:*lib.fixes.CONTAINERS*test_a_changer.py*"])


def test_a_change_through_a_call_to_a_list_outside_the_project(pytester: pytest.Pytester) -> None:
    """The list lives outside the project (an installed library: not
    watched from start-up), and the first module to hold it changes it
    through a call at import, before the watch first sees it: only its
    source tells (links.module_writes)."""
    site = pytester.path / "site"
    write(site, {"extlib.py": """
        CONTAINERS = ["csr", "csc", "coo"]

        def drop_first(values):
            del values[0]
    """})
    pytester.syspathinsert(site)
    files = {
        "pytest.ini": "[pytest]\n",
        "tests/test_a_dropper.py": """
            import extlib
            from extlib import CONTAINERS
            extlib.drop_first(CONTAINERS)

            def test_dropper():
                pass
        """,
        **{f"tests/test_m{i}.py": f"""
            import pytest
            from extlib import CONTAINERS

            @pytest.mark.parametrize("c", CONTAINERS)
            def test_m{i}(c):
                pass
        """ for i in range(3)},
    }
    write(pytester.path, files)
    compare(pytester, ["-k", "zzz_learn"])
    for expr in ("test_m1", "csr", "test_m0 and csc", "dropper"):
        compare(pytester, ["-k", expr])


OWN_CHANGES = {
    # (Loaded at start-up, as a real suite's conftest loads its package: a
    # helper first loaded by a test module may have been changed by it
    # before anything looked, and its readers would depend on that module.)
    "tests/conftest.py": "import helpers\n",
    "helpers.py": """
        _CACHE = {}

        def shared():
            return _CACHE.setdefault("d", {"x": 1})

        def fresh():
            return {"x": 1}
    """,
    "tests/test_a_own.py": """
        import helpers
        DATA = helpers.fresh()
        DATA["y"] = 2

        def test_own():
            pass
    """,
    "tests/test_a_shared.py": """
        import helpers
        DATA = helpers.shared()
        DATA["y"] = 2

        def test_shared():
            pass
    """,
    "tests/test_m_reader.py": """
        import pytest
        import helpers

        @pytest.mark.parametrize("k", sorted(helpers.shared()))
        def test_reader(k):
            pass
    """,
}


def test_a_module_changing_only_its_own_object_is_learned(pytester: pytest.Pytester) -> None:
    """test_a_own.py changes a dict it made: recorded, and skipped later.
    test_a_shared.py changes the dict a helper caches (one level inside its
    module's namespace): never recorded, so test_reader always sees "y"."""
    write(pytester.path, {**LIB, **OWN_CHANGES})
    compare(pytester, ["-k", "zzz_learn"])
    for expr in ("test_reader", "y", "x", "test_own or test_reader", "shared"):
        compare(pytester, ["-k", expr])
    fast = compare(pytester, ["-k", "test_reader and y"])
    assert "tests/test_a_own.py" not in fast.modules, fast.report  # decided by its record
    assert "tests/test_a_shared.py" in fast.modules, fast.report  # changes what test_reader reads


OWN_OR_NOT = {
    **OWN_CHANGES,
    "helpers.py": OWN_CHANGES["helpers.py"] + """
        class Config:
            mode = "plain"

        def config():
            return Config()
    """,
    # An instance of a plain class, made here and changed here: its own.
    "tests/test_b_instance.py": """
        import helpers
        CFG = helpers.config()
        CFG.mode = "fancy"
        TABLE = [1, 2]
        TABLE.append(3)

        def test_instance():
            pass
    """,
    # Changes the helper's cached dict, then binds the name to a fresh one:
    # what the name holds after import is its own, what it changed is not.
    "tests/test_b_rebound.py": """
        import helpers
        DATA = helpers.shared()
        DATA["y"] = 2
        DATA = {}

        def test_rebound():
            pass
    """,
}


def test_own_objects_and_a_name_rebound_after_its_change(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**LIB, **OWN_OR_NOT})
    compare(pytester, ["-k", "zzz_learn"])
    for expr in ("test_reader", "y", "test_instance", "test_rebound or x"):
        compare(pytester, ["-k", expr])
    fast = compare(pytester, ["-k", "test_reader and y"])
    assert "tests/test_b_instance.py" not in fast.modules, fast.report  # recorded: changes only its own
    assert "tests/test_b_rebound.py" in fast.modules, fast.report  # changed the helper's dict


def zone_cache_project(package: str) -> Dict[str, str]:
    """dateutil's shape: `gettz` an object whose private OrderedDict keeps the
    zones made last; every test module makes one at import (a new entry) and
    holds `gettz` (reaching the cache one attribute inside)."""
    files = {
        "pytest.ini": "[pytest]\npythonpath = .\n",
        f"{package}/__init__.py": "",
        f"{package}/tz/__init__.py": "from .tz import gettz\n",
        f"{package}/tz/tz.py": """
            from collections import OrderedDict

            class Zone:
                def __init__(self, name):
                    self.name = name

            def __get_gettz():
                class GettzFunc:
                    def __init__(self):
                        self.__strong_cache = OrderedDict()

                    def __call__(self, name):
                        zone = self.__strong_cache.get(name)
                        if zone is None:
                            zone = self.__strong_cache[name] = Zone(name)
                        return zone
                return GettzFunc()

            gettz = __get_gettz()
        """,
        "conftest.py": f"import {package}.tz\n",
    }
    files.update({f"tests/test_z{i}.py": f"""
        import pytest
        from {package}.tz import gettz

        ZONE = gettz("Zone/{i}")

        @pytest.mark.parametrize("n", [1, 2], ids=lambda n: f"z{i}n{{n}}")
        def test_zone(n):
            assert ZONE.name
    """ for i in range(6)})
    return files


@pytest.mark.parametrize("package, linked", [("dateutil", False), ("zonelib", True)])
def test_a_library_memo_cache_links_nothing(pytester: pytest.Pytester, package: str, linked: bool) -> None:
    """dateutil's zone cache (links.MEMO_CACHES): each module's zone is a new
    entry, yet a lookup gives what a fresh zone would be, so after an edit of
    one module only it and the selected one are imported. The same shape in a
    library not known for it links every module to those made before it."""
    write(pytester.path, zone_cache_project(package))
    compare(pytester, ["-k", "zzz_learn"])
    path = pytester.path / "tests" / "test_z4.py"
    path.write_text(path.read_text() + "\n# edited\n")
    fast = compare(pytester, ["-k", "z1n2"])
    assert fast.report is not None, fast.lines
    if linked:  # every module: those made before test_z4 changed what it holds, those after read its change
        assert fast.report.imported == 6, fast.lines
    else:  # the edited module and the selected one; the others decided by their records
        assert (fast.report.imported, fast.report.learned) == (2, 5), fast.lines


def test_a_library_memo_global_is_no_binding_change() -> None:
    """links.MEMO_GLOBALS: pandas' find_stack_level sets `_pkg_dir` once, to
    the same value in every process; its rebinding is not a change of the
    module's bindings, any other global's is."""
    import types

    from pytest_fastcollect import links

    mod = types.ModuleType("pandas.util._exceptions")
    mod._pkg_dir = None
    mod.OTHER = None
    before = links._bindings_of(mod)
    mod._pkg_dir = "/site-packages/pandas/"
    assert links._bindings_of(mod) == before
    mod.OTHER = "set"
    assert links._bindings_of(mod) != before
    renamed = types.ModuleType("zonelib.util._exceptions")  # the same shape elsewhere is a change
    renamed._pkg_dir = None
    first = links._bindings_of(renamed)
    renamed._pkg_dir = "/x/"
    assert links._bindings_of(renamed) != first


NOISY_LIB = """
    import collections
    import warnings

    TOUCHED = []


    def _touch(what):
        TOUCHED.append(what)
        warnings.warn(f"{what} is deprecated", DeprecationWarning, stacklevel=3)


    def noisy(base, names):  # a subclass whose methods note their use and warn
        def method(name):
            def call(self, *args):
                _touch(f"{base.__name__}.{name}")
                return getattr(base, name)(self, *args)
            return call
        return type(f"Noisy{base.__name__}", (base,), {n: method(n) for n in names})


    NoisyList = noisy(list, ["__iter__", "__len__"])
    NoisyDict = noisy(dict, ["__iter__", "__len__", "items", "keys", "values"])
    NoisySet = noisy(set, ["__iter__", "__len__"])
    NoisyDeque = noisy(collections.deque, ["__iter__", "__len__"])


    class Manifold:  # SymPy's shape: an object whose attribute is a list that warns on every use
        def __init__(self):
            self.patches = NoisyList(["p"])


    class LazySettings:  # Django's LazyObject: reading __class__ (isinstance's fallback) sets it up
        def __init__(self):
            self.__dict__["_wrapped"] = None

        @property
        def __class__(self):
            _touch("LazySettings.__class__")
            return dict

        def __getattr__(self, name):
            _touch(f"LazySettings.{name}")
            raise AttributeError(name)


    class Lookup:  # werkzeug's proxies: a class attribute named __next__ that is no method
        def __get__(self, obj, owner=None):
            _touch("Lookup.__get__")
            return self


    class Proxy:
        __next__ = Lookup()

        def __getattr__(self, name):
            _touch(f"Proxy.{name}")
            raise AttributeError(name)


    SETTINGS = LazySettings()
    CURRENT = Proxy()
    PATCHES = NoisyList(["a", "b"])
    TABLE = NoisyDict(a=[1], b=NoisyList([2]))
    SEEN = NoisySet({"x"})
    QUEUE = NoisyDeque([1, 2])
    MANIFOLD = Manifold()
    NESTED = [NoisyList([3]), NoisySet({4}), {"q": NoisyDeque([5])}]
"""


def test_what_modules_hold_is_read_without_running_their_code(pytester: pytest.Pytester) -> None:
    """The watch reads what test modules and libraries hold without running
    code of theirs (peek.py): no container subclass's methods (SymPy's
    `Manifold.patches` warns on every use: a learning run printed hundreds of
    its deprecation warnings charged to the plugin), no proxy's `__class__`
    or `__getattr__` (Django's settings, werkzeug's request), no lazily
    loaded module's body, no PEP 562 `__getattr__`, no mock's attribute.
    Here a test run after the learning run in the same session finds that
    none of them ran."""
    files = {
        "lib/noisy.py": NOISY_LIB,
        **{f"tests/test_n{i}.py": f"""
            from unittest import mock

            import lib.lazily
            import lib.pep562
            from lib.noisy import CURRENT, MANIFOLD, NESTED, PATCHES, QUEUE, SEEN, SETTINGS, TABLE

            MOCK = mock.MagicMock()

            def test_n{i}():
                pass
        """ for i in range(3)},
        # A module made by importlib.util.LazyLoader: its body runs at its first attribute read.
        "lib/lazily.py": "import lib.noisy\nlib.noisy._touch('lib.lazily ran')\n",
        "lib/pep562.py": """
            import lib.noisy

            def __getattr__(name):
                lib.noisy._touch(f"lib.pep562.__getattr__({name})")
                raise AttributeError(name)
        """,
        "tests/test_untouched.py": """
            import json

            import lib.noisy
            from tests import test_n1

            def test_untouched():  # what ran of theirs in this session, with the plugin or without it
                mock_child = "__next__" in test_n1.MOCK._mock_children  # (a mock's child is made when read)
                with open("touched.log", "a") as log:
                    log.write(json.dumps(sorted(lib.noisy.TOUCHED) + [f"mock child: {mock_child}"]) + "\\n")
        """,
    }
    lazy = ("import importlib.util, sys\n"
            "spec = importlib.util.find_spec('lib.lazily')\n"
            "spec.loader = importlib.util.LazyLoader(spec.loader)\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "sys.modules['lib.lazily'] = module\n"
            "spec.loader.exec_module(module)\n")
    write(pytester.path, {**LIB, "conftest.py": LIB["conftest.py"] + "import lib.noisy\n" + lazy,
                          "tests/__init__.py": "", **files})
    fast = compare(pytester, ["-k", "untouched or n1", "-W", "error::DeprecationWarning"], run=True)
    assert fast.report is not None and fast.report.imported == 4, fast.lines  # a learning run
    assert fast.outcomes is not None and fast.outcomes[0] == ["tests/test_n1.py::test_n1",
                                                                "tests/test_untouched.py::test_untouched"], fast.outcomes
    plain, with_plugin = (json.loads(line) for line in (pytester.path / "touched.log").read_text().splitlines())
    assert with_plugin == plain, f"plain pytest ran {plain}"  # (pytest's own isinstance reads a proxy's __class__)
    assert "mock child: False" in plain and "LazySettings.__class__" in plain, plain  # the shapes are read
    again = compare(pytester, ["-k", "untouched"], run=True)  # (imported together: they share an "iterator")
    assert again.report is not None and again.report.learned == 4, again.lines


def test_a_failure_in_the_watch_learns_nothing_and_misses_nothing(pytester: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception in the learner's own step during collection (here the
    watch's window raising a warning turned into an error, as reading a
    project's object could) stops learning for the session with a one-line
    warning; it never fails a module's collection (the old code lost the
    module's tests)."""
    from pytest_fastcollect import links

    original = links.Watch.open_window

    def failing(self: links.Watch, path: object) -> None:
        if isinstance(path, str) and path.endswith("test_m1.py"):
            raise DeprecationWarning("a project's object warned\nits second line")
        original(self, path)

    monkeypatch.setattr(links.Watch, "open_window", failing)
    write(pytester.path, {**LIB, **shared_list_modules(3)})
    fast = compare(pytester, ["-k", "test_m1 or test_m2"], run=True)
    assert fast.report is not None and fast.report.imported == 3, fast.lines
    assert "fastcollect: warning: nothing learned: the learner failed before collecting " in fast.output
    assert "test_m1.py: DeprecationWarning: a project's object warned\n" in fast.output
    again = compare(pytester, ["-k", "test_m2"])
    assert again.report is not None and again.report.learned == 0, again.lines  # nothing was recorded
