"""Hooks that rebuild items per module or per class (pytest_fastcollect/
groups.py): a project plugin keeps only the items inside test classes and
expands each class into generated per-configuration subclasses, written into
the module's namespace, the item list rebuilt from their collect(). Such a
hook's effect on a module depends only on that module's items: learning
stays on, and a generated suite learns and decides exactly. The same hook
grouping by something wider than a module, or carrying state from one group
to the next, stays a crossing (learning off), and is exact too."""

from __future__ import annotations

from typing import Dict, List

import pytest

from differential import Collected, compare, write

REBUILD = """
    import pytest

    CONFIGS = ("cpu", "gpu")


    def pytest_collection_modifyitems(session, config, items):
        classes = {}
        for item in items:
            if item.getparent(pytest.Class) is None:
                continue
            classes.setdefault(item.getparent(pytest.Class), []).append(item)
        rebuilt = []
        for class_node, class_items in classes.items():
            module_node = class_node.parent
            for cfg in CONFIGS:
                name = f"{class_node.name}_{cfg.upper()}"
                generated = type(name, (class_node.obj,), {"CONFIG": cfg})
                setattr(module_node.obj, name, generated)
                node = pytest.Class.from_parent(module_node, name=name, obj=generated)
                for child in node.collect():
                    if isinstance(child, pytest.Item):
                        rebuilt.append(child)
        items[:] = rebuilt
"""

# Each: (what changes in REBUILD, as written above; the hook is no longer
# shown to act per module).
NOT_PER_MODULE = {
    "numbered": ('name = f"{class_node.name}_{cfg.upper()}"',
                 'name = f"{class_node.name}_{cfg.upper()}{len(rebuilt)}"'),
    "carried": ("            module_node = class_node.parent\n",
                "            module_node = class_node.parent\n            if rebuilt:\n                continue\n"),
    "first-only": ("        items[:] = rebuilt", "        items[:] = rebuilt[:3]"),
    # Groups by directory: what a module keeps depends on its directory's other modules.
    "by-directory": ("""        for class_node, class_items in classes.items():""",
                     """        by_dir = {}
        for item in items:
            by_dir.setdefault(item.path.parent, []).append(item)
        for directory, dir_items in by_dir.items():
            dir_items[len(dir_items) // 2].add_marker(pytest.mark.slow)
        for class_node, class_items in classes.items():"""),
}


def generated_suite(modules: int = 12) -> Dict[str, str]:
    """A suite of real shape: classes with methods reading the generated
    CONFIG, module-level functions (dropped by the hook), parametrized
    methods, a helper module."""
    files: Dict[str, str] = {"pytest.ini": "[pytest]\npythonpath = .\nmarkers =\n  slow\n",
                             "shapes.py": "SIZES = [1, 2]\n\ndef area(n):\n    return n * n\n"}
    for i in range(modules):
        files[f"tests/unit/test_mod{i:02d}.py" if i % 2 else f"tests/integration/test_mod{i:02d}.py"] = f"""
            import pytest
            from shapes import SIZES, area

            class TestShape{i:02d}:
                CONFIG = None

                def test_area{i:02d}(self):
                    assert self.CONFIG in ("cpu", "gpu")

                @pytest.mark.parametrize("n", SIZES)
                def test_sized{i:02d}(self, n):
                    assert area(n) > 0

                {'@pytest.mark.slow' if i % 3 == 0 else ''}
                def test_heavy{i:02d}(self):
                    pass

            def test_loose{i:02d}():
                pass
        """
    return files


EXPRESSIONS = ["test_area03", "GPU", "TestShape07_CPU", "sized and 2", "loose", "heavy and not CPU",
               "unit and test_area", "integration", "mod11", "not GPU"]


def learn_and_compare(pytester: pytest.Pytester, conftest: str) -> List[Collected]:
    write(pytester.path, {**generated_suite(), "conftest.py": conftest})
    compare(pytester, ["-k", "zzz_learn"])
    runs = [compare(pytester, ["-k", k]) for k in EXPRESSIONS]
    runs += [compare(pytester, ["-m", m]) for m in ("slow", "not slow")]
    return runs


def test_rebuilding_per_class_learns(pytester: pytest.Pytester) -> None:
    runs = learn_and_compare(pytester, REBUILD)
    narrow = runs[0]
    assert narrow.ids == ["tests/unit/test_mod03.py::TestShape03_CPU::test_area03",
                          "tests/unit/test_mod03.py::TestShape03_GPU::test_area03"]
    # (The helper module is first loaded by test_mod00.py's import, looked at
    # as that import returns and changed by nothing: no link, one module.)
    assert narrow.report is not None and narrow.report.learned == 12 and narrow.report.skipped == 11, narrow.report
    assert all(r.report is not None and r.report.learned == 12 for r in runs), [r.report for r in runs]
    text = pytester.runpytest_inprocess("--co", "-p", "no:randomly", "--fast-collect-explain", "-k", "x").stdout.str()
    assert "learning is off" not in text, text


@pytest.mark.parametrize("variant", list(NOT_PER_MODULE))
def test_rebuilding_across_modules_stays_off(pytester: pytest.Pytester, variant: str) -> None:
    old, new = NOT_PER_MODULE[variant]
    assert old in REBUILD
    runs = learn_and_compare(pytester, REBUILD.replace(old, new))
    assert all(r.report is not None and r.report.learned == 0 for r in runs), [r.report for r in runs]
    text = pytester.runpytest_inprocess("--co", "-p", "no:randomly", "--fast-collect-explain", "-k", "x").stdout.str()
    assert "learning is off" in text and "pytest_collection_modifyitems" in text, text
