// Decisions of the item model on small projects.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <vector>

#include "grammar.h"
#include "scan.h"

using namespace fc;

namespace {

struct Project {
  std::string root;
  Project() {
    char tmpl[] = "/tmp/fc-model-XXXXXX";
    root = ::mkdtemp(tmpl);
  }
  ~Project() { std::system(("rm -rf '" + root + "'").c_str()); }
  void file(const std::string& rel, const std::string& text) {
    std::string p = root + "/" + rel;
    for (size_t i = root.size() + 1; i < p.size(); ++i)
      if (p[i] == '/') ::mkdir(p.substr(0, i).c_str(), 0777);
    std::ofstream(p) << text;
  }
  // Files that would be imported for these filters.
  std::map<std::string, std::vector<std::string>> read_hooks;  // conftest path -> markers its hook may add
  ScanConfig plugins;  // installed plugins' effects (global_maybe_marks, param_marks, id_suffixes, ...)
  // Conftests whose import may act outside their directory -> (reason, collects),
  // and the walk's other collectable files (paths relative to the root).
  std::map<std::string, std::pair<std::string, bool>> effects;
  std::set<std::string> others;
  std::map<std::string, std::vector<std::string>> imports;
  std::set<std::string> imported(const std::string& k, const std::string& m = "") {
    ScanConfig c;
    c.other_files = {"test*.txt"};
    c.read_hooks = read_hooks;
    c.global_maybe_marks = plugins.global_maybe_marks;
    c.param_marks = plugins.param_marks;
    c.repeated_param_marks = plugins.repeated_param_marks;
    c.id_suffixes = plugins.id_suffixes;
    c.lazy_fixtures = plugins.lazy_fixtures;
    c.plugin_fixtures = plugins.plugin_fixtures;
    c.rootdir = root;
    c.roots = {root};
    c.python_files = {"test_*.py", "*_test.py"};
    c.python_classes = {"Test"};
    c.python_functions = {"test"};
    c.stdlib = {"os", "sys", "functools", "unittest"};
    if (!k.empty()) c.keyword = k, c.has_keyword = true;
    if (!m.empty()) c.markexpr = m, c.has_markexpr = true;
    auto r = scan(tree_sitter_python(), c);
    EXPECT_TRUE(r.error.empty()) << r.error;
    std::set<std::string> out;
    for (const auto& f : r.files)
      if (!f.skip) out.insert(f.path.substr(root.size() + 1));
    effects.clear();
    for (const auto& [path, effect] : r.conftest_effects) effects[path.substr(root.size() + 1)] = effect;
    imports.clear();
    for (const auto& [path, names] : r.conftest_imports) imports[path.substr(root.size() + 1)] = names;
    others.clear();
    for (const auto& o : r.others) others.insert(o.substr(root.size() + 1));
    return out;
  }
};

using Set = std::set<std::string>;

}  // namespace

TEST(Model, KeywordOnFunctionClassModuleAndDirectory) {
  Project p;
  p.file("tests/unit/test_a.py", "def test_alpha(): pass\n");
  p.file("tests/unit/test_b.py", "class TestBox:\n    def test_lid(self): pass\n");
  p.file("tests/other/test_c.py", "def test_gamma(): pass\n");
  EXPECT_EQ(p.imported("alpha"), Set{"tests/unit/test_a.py"});
  EXPECT_EQ(p.imported("box"), Set{"tests/unit/test_b.py"});
  EXPECT_EQ(p.imported("unit"), (Set{"tests/unit/test_a.py", "tests/unit/test_b.py"}));
  EXPECT_EQ(p.imported("test_c.py"), Set{"tests/other/test_c.py"});
  EXPECT_EQ(p.imported("not alpha"), (Set{"tests/unit/test_b.py", "tests/other/test_c.py"}));
  EXPECT_EQ(p.imported("nothing_matches"), Set{});
}

TEST(Model, MarkersAndPytestmarkKeyword) {
  Project p;
  p.file("test_a.py", "import pytest\n@pytest.mark.slow\ndef test_a(): pass\n");
  p.file("test_b.py", "import pytest\npytestmark = pytest.mark.db\ndef test_b(): pass\n");
  p.file("test_c.py", "def test_c(): pass\n");
  EXPECT_EQ(p.imported("", "slow"), Set{"test_a.py"});
  EXPECT_EQ(p.imported("", "not slow"), (Set{"test_b.py", "test_c.py"}));
  EXPECT_EQ(p.imported("", "db"), Set{"test_b.py"});
  EXPECT_EQ(p.imported("slow"), Set{"test_a.py"});             // marker names are keywords
  EXPECT_EQ(p.imported("pytestmark"), Set{"test_a.py"});       // func.pytestmark is in __dict__
  EXPECT_EQ(p.imported("", "slow(reason=1)"), Set{"test_a.py"}); // kwargs: Unknown where the mark exists
}

TEST(Model, ParametrizeIds) {
  Project p;
  p.file("test_a.py", "import pytest\n@pytest.mark.parametrize('x', [1, 'int64'])\ndef test_a(x): pass\n");
  p.file("test_b.py", "import pytest\n@pytest.mark.parametrize('x', DATA)\ndef test_b(x): pass\n");
  EXPECT_EQ(p.imported("int64"), (Set{"test_a.py", "test_b.py"}));
  EXPECT_EQ(p.imported("float32"), Set{"test_b.py"});
  EXPECT_EQ(p.imported("a[1]"), (Set{"test_a.py", "test_b.py"}));
}

TEST(Model, UnknownsImport) {
  Project p;
  p.file("test_star.py", "from helpers import *\ndef test_a(): pass\n");
  p.file("test_deco.py", "import mylib\n@mylib.retry\ndef test_a(): pass\n");
  p.file("test_base.py", "import unittest\nclass Foo(unittest.TestCase):\n    def test_a(self): pass\n");
  p.file("test_syntax.py", "def test_a(:\n");
  p.file("test_plain.py", "def test_a(): pass\n");
  EXPECT_EQ(p.imported("zzz"), (Set{"test_star.py", "test_deco.py", "test_base.py", "test_syntax.py"}));
}

// Every shape of a module-level write of an imported module's attribute
// is a change of process state: the writer is imported for its effect.
TEST(Model, AttributeWritesInEveryShapeChangeProcessState) {
  Project p;
  const std::map<std::string, std::string> writers = {
      {"test_loop.py", "import lib.fixes as fixes\nfor fixes.MODE in ['a']:\n    pass\n"},
      {"test_with.py", "import contextlib\nimport lib.fixes as fixes\nwith contextlib.nullcontext(1) as fixes.MODE:\n"
                       "    pass\n"},
      {"test_setattr.py", "import lib.fixes as fixes\nsetattr(fixes, 'MODE', 'a')\n"},
      {"test_delattr.py", "import lib.fixes as fixes\nif fixes:\n    delattr(fixes.sub, 'MODE')\n"},
      {"test_unpacked.py", "import lib.fixes as fixes\n_n, fixes.MODE = 1, 'a'\n"},
  };
  Set all;
  for (const auto& [name, text] : writers) {
    p.file(name, text + "def test_a(): pass\n");
    all.insert(name);
  }
  p.file("lib/__init__.py", "");
  p.file("lib/fixes.py", "MODE = 'z'\n");
  EXPECT_EQ(p.imported("zzz"), all);
  Project names;  // a loop binding a name only
  names.file("test_names.py", "import lib.fixes as fixes\nfor n in [1]:\n    pass\ndef test_a(): pass\n");
  names.file("lib/__init__.py", "");
  names.file("lib/fixes.py", "MODE = 'z'\n");
  EXPECT_EQ(names.imported("zzz"), Set{});
}

TEST(Model, ConftestHooksAndParametrizedFixtures) {
  Project p;
  p.file("hooked/conftest.py", "def pytest_collection_modifyitems(items): pass\n");
  p.file("hooked/test_a.py", "def test_a(): pass\n");
  p.file("fx/conftest.py", "import pytest\n@pytest.fixture(params=['zzz1', 'b'])\ndef thing(request): return request.param\n");
  p.file("fx/test_b.py", "def test_b(thing): pass\n");
  p.file("fx/test_c.py", "def test_c(): pass\n");
  p.file("harmless/conftest.py", "def pytest_runtest_setup(item): pass\n");
  p.file("harmless/test_d.py", "def test_d(): pass\n");
  // pytest_collection_modifyitems sees every item of the session.
  EXPECT_EQ(p.imported("zzz"), (Set{"hooked/test_a.py", "fx/test_b.py", "fx/test_c.py", "harmless/test_d.py"}));
}

TEST(Model, PathScopedHooksReachTheirSubtreeOnly) {
  Project p;
  p.file("gen/conftest.py", "def pytest_generate_tests(metafunc):\n    pass\n");
  p.file("gen/test_a.py", "def test_a(): pass\n");
  p.file("fx/conftest.py", "import pytest\n@pytest.fixture(params=['zzz1', 'b'])\ndef thing(request): return request.param\n");
  p.file("fx/test_b.py", "def test_b(thing): pass\n");
  p.file("fx/test_c.py", "def test_c(): pass\n");
  p.file("harmless/conftest.py", "def pytest_runtest_setup(item): pass\n");
  p.file("harmless/test_d.py", "def test_d(): pass\n");
  EXPECT_EQ(p.imported("zzz"), (Set{"gen/test_a.py", "fx/test_b.py"}));
}

TEST(Model, GlobalHooksInAnyConftestReachEveryFile) {
  Project p;
  p.file("a/conftest.py", "import pytest\ndef pytest_collection_modifyitems(items):\n    pass\n");
  p.file("a/test_a.py", "def test_a(): pass\n");
  p.file("b/test_b.py", "def test_b(): pass\n");
  p.file("test_c.py", "def test_c(): pass\n");
  EXPECT_EQ(p.imported("zzz"), (Set{"a/test_a.py", "b/test_b.py", "test_c.py"}));
}

TEST(Model, ConftestConfigureIsHarmlessUnlessItTouchesThePluginManager) {
  Project p;
  p.file("conftest.py", "def pytest_configure(config):\n    config.addinivalue_line('markers', 'x')\n");
  p.file("test_a.py", "def test_a(): pass\n");
  EXPECT_EQ(p.imported("zzz"), Set{});
  p.file("conftest.py", "def pytest_configure(config):\n    config.pluginmanager.register(object())\n");
  EXPECT_EQ(p.imported("zzz"), Set{"test_a.py"});
}

TEST(Model, ConftestsThatMayActOutsideTheirDirectory) {
  Project p;
  p.file("quiet/conftest.py",
         "import os\nimport pytest\nVALUES = [1, 2]\nprint('loaded')\n\n@pytest.fixture(params=VALUES)\n"
         "def value(request):\n    return request.param\n\ndef pytest_runtest_setup(item):\n    pass\n");
  p.file("configure/conftest.py", "def pytest_configure(config):\n    pass\n");
  p.file("collects/conftest.py", "def pytest_collect_file(parent, file_path):\n    return None\n");
  p.file("env/conftest.py", "import os\nos.environ['X'] = '1'\n");
  p.file("calls/conftest.py", "import helpers\nhelpers.setup()\n");
  p.file("decorates/conftest.py", "import helpers\n\n@helpers.register\ndef f():\n    pass\n");
  p.file("based/conftest.py", "import lib\n\nclass Engine(lib.Base):\n    pass\n");
  p.file("plugins/conftest.py", "pytest_plugins = ['x']\n");
  p.file("quiet/test_a.py", "def test_a(): pass\n");
  p.imported("zzz");
  EXPECT_EQ(p.effects.count("quiet/conftest.py"), 0u);
  EXPECT_EQ(p.effects.at("configure/conftest.py"), (std::pair<std::string, bool>{"defines hook pytest_configure", false}));
  EXPECT_TRUE(p.effects.at("collects/conftest.py").second);
  EXPECT_EQ(p.effects.at("env/conftest.py").first.rfind(kProcessState, 0), 0u);
  EXPECT_EQ(p.effects.at("calls/conftest.py").first, "module calls helpers() at import");
  EXPECT_EQ(p.effects.count("decorates/conftest.py"), 1u);
  EXPECT_EQ(p.effects.count("based/conftest.py"), 1u);
  EXPECT_TRUE(p.effects.at("plugins/conftest.py").second);
  EXPECT_EQ(p.imports.at("quiet/conftest.py"), (std::vector<std::string>{"os", "pytest"}));
  p.file("relative/conftest.py", "from . import helpers\n");
  p.file("froms/conftest.py", "from a.b import c\nimport x.y as z\n");
  p.imported("zzz");
  EXPECT_EQ(p.effects.at("relative/conftest.py").first, "imports helpers relatively");
  EXPECT_EQ(p.imports.at("froms/conftest.py"), (std::vector<std::string>{"a.b\x01" "c", "x.y"}));
}

TEST(Model, WalkListsOtherCollectableFiles) {
  Project p;
  p.file("a/test_a.py", "def test_a(): pass\n");
  p.file("a/test_doc.txt", ">>> 1\n1\n");
  p.file("a/notes.txt", "not collected\n");
  p.file("b/__init__.py", "");
  p.imported("zzz");
  EXPECT_EQ(p.others, Set{"a/test_doc.txt"});
  ::symlink((p.root + "/a").c_str(), (p.root + "/c").c_str());
  p.imported("zzz");
  EXPECT_EQ(p.others.size(), 2u);  // a or c, whichever the walk reached second
  EXPECT_EQ(p.others.count("a/test_doc.txt") + p.others.count("c/test_doc.txt"), 1u);
}

TEST(Model, ReadHookMarkersAreMaybeMarkersOfEveryItem) {
  Project p;
  p.file("conftest.py",
         "import pytest\n"
         "def pytest_collection_modifyitems(config, items):\n"
         "    for item in items:\n"
         "        item.add_marker(pytest.mark.skip)\n");
  p.file("test_a.py", "def test_alpha(): pass\n");
  p.file("test_b.py", "import pytest\n@pytest.mark.slow\ndef test_beta(): pass\n");
  // Not read: every module is Unknown.
  EXPECT_EQ(p.imported("alpha"), (Set{"test_a.py", "test_b.py"}));
  p.read_hooks[p.root + "/conftest.py"] = {"skip"};
  EXPECT_EQ(p.imported("alpha"), Set{"test_a.py"});
  EXPECT_EQ(p.imported("", "slow"), Set{"test_b.py"});
  // The hook's marker: a keyword and a marker every item may carry.
  EXPECT_EQ(p.imported("ski"), (Set{"test_a.py", "test_b.py"}));
  EXPECT_EQ(p.imported("", "skip"), (Set{"test_a.py", "test_b.py"}));
  EXPECT_EQ(p.imported("", "not skip and slow"), Set{"test_b.py"});
  // Another conftest's hook is not covered by this reading.
  p.file("sub/conftest.py", "def pytest_collection_modifyitems(items):\n    pass\n");
  p.file("sub/test_c.py", "def test_gamma(): pass\n");
  EXPECT_EQ(p.imported("alpha"), (Set{"test_a.py", "test_b.py", "sub/test_c.py"}));
}

TEST(Model, PluginEffects) {
  Project p;
  p.file("test_a.py", "def test_alpha(): pass\n");
  p.file("test_b.py", "import pytest\n@pytest.mark.parametrize('x', [1, 2])\ndef test_beta(x): pass\n");
  p.file("test_c.py", "import pytest\n@pytest.mark.repeat(3)\ndef test_gamma(): pass\n");
  p.file("test_d.py", "import pytest\n@pytest.fixture(params=[1, 2])\ndef fx(request): pass\n"
                      "@pytest.mark.parametrize('x', [1])\ndef test_delta(x): pass\n");
  p.file("test_e.py", "def test_eps(page): pass\n");
  // Without plugins: exact names.
  EXPECT_EQ(p.imported("1-3"), Set{});
  EXPECT_EQ(p.imported("", "snap"), Set{});
  // A marker a plugin hook may add to any item (syrupy).
  p.plugins.global_maybe_marks = {"syrupy_snapshot"};
  EXPECT_EQ(p.imported("", "syrupy_snapshot"), (Set{"test_a.py", "test_b.py", "test_c.py", "test_d.py", "test_e.py"}));
  EXPECT_EQ(p.imported("alpha"), Set{"test_a.py"});
  p.plugins.global_maybe_marks.clear();
  // pytest-repeat: its marker parametrizes the item it sits on.
  p.plugins.param_marks = {"repeat"};
  EXPECT_EQ(p.imported("1-3"), Set{"test_c.py"});
  EXPECT_EQ(p.imported("alpha"), (Set{"test_a.py", "test_c.py"}));  // test_gamma[?]: ids unknown
  EXPECT_EQ(p.imported("not gamma"), (Set{"test_a.py", "test_b.py", "test_d.py", "test_e.py"}));
  // --count 2: every test gets the ids, joined last.
  p.plugins.id_suffixes = {"1-2", "2-2"};
  EXPECT_EQ(p.imported("alpha and 2-2"), (Set{"test_a.py", "test_c.py"}));
  EXPECT_EQ(p.imported("alpha and 3-2"), Set{"test_c.py"});
  EXPECT_EQ(p.imported("beta[1-2-2]"), (Set{"test_b.py", "test_c.py"}));
  EXPECT_EQ(p.imported("beta[1-2]"), Set{"test_c.py"});  // the items are test_beta[1-1-2] .. test_beta[2-2-2]
  EXPECT_EQ(p.imported("beta[2-1"), (Set{"test_b.py", "test_c.py"}));
  EXPECT_EQ(p.imported("3-3"), Set{"test_c.py"});
  p.plugins.id_suffixes.clear();
  p.plugins.param_marks.clear();
  // pytest-order: only a test with several 'order' markers is parametrized.
  p.file("test_f.py", "import pytest\n@pytest.mark.order(1)\ndef test_once(): pass\n");
  p.file("test_g.py", "import pytest\n@pytest.mark.order(1)\n@pytest.mark.order(2)\ndef test_twice(): pass\n");
  p.plugins.repeated_param_marks = {"order"};
  EXPECT_EQ(p.imported("index"), Set{"test_g.py"});
  p.plugins.repeated_param_marks.clear();
  // pytest-lazy-fixtures: a parametrized test where a parametrized fixture is visible.
  p.plugins.lazy_fixtures = true;
  EXPECT_EQ(p.imported("zzz"), Set{"test_d.py"});
  p.plugins.lazy_fixtures = false;
  // pytest-playwright: browser fixtures parametrize.
  p.plugins.plugin_fixtures["page"].has_params = true;
  EXPECT_EQ(p.imported("chromium"), Set{"test_e.py"});
}
