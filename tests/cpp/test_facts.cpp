// Facts extracted from small sources: every decorator form, aliases, nesting,
// and hostile input (syntax errors, CRLF, BOM, tabs, long lines, bad bytes).
#include <gtest/gtest.h>

#include "extract.h"
#include "facts.h"
#include "grammar.h"

using namespace fc;

namespace {

FileFacts facts(const std::string& src) {
  Extractor ex(tree_sitter_python());
  FileFacts f = ex.extract(src);
  // Every result must survive the index encoding unchanged.
  std::string enc = encode_facts(f);
  FileFacts back;
  EXPECT_TRUE(decode_facts(enc.data(), enc.size(), back));
  EXPECT_EQ(encode_facts(back), enc);
  return f;
}

}  // namespace

TEST(Facts, PlainFunctionsAndClasses) {
  auto f = facts("def test_a():\n    pass\n\nasync def test_b(x, y=1):\n    pass\n\nclass TestC:\n    def test_d(self):\n        pass\n    class TestE:\n        def test_f(self): pass\n");
  ASSERT_TRUE(f.parsed);
  EXPECT_FALSE(f.syntax_error);
  ASSERT_EQ(f.funcs.size(), 2u);
  EXPECT_EQ(f.funcs[0].name, "test_a");
  EXPECT_EQ(f.funcs[0].line, 1u);
  EXPECT_FALSE(f.funcs[0].is_async);
  EXPECT_TRUE(f.funcs[1].is_async);
  EXPECT_EQ(f.funcs[1].params, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(f.classes.size(), 1u);
  EXPECT_EQ(f.classes[0].name, "TestC");
  ASSERT_EQ(f.classes[0].classes.size(), 1u);
  EXPECT_EQ(f.classes[0].classes[0].funcs[0].name, "test_f");
  EXPECT_TRUE(f.dynamic.empty());
}

TEST(Facts, MarkDecoratorsThroughAliases) {
  auto f = facts(
      "import pytest as pt\nfrom pytest import mark as m\nslow = pt.mark.slow\n"
      "@pt.mark.foo\ndef test_a(): pass\n@m.bar(reason='x')\ndef test_b(): pass\n@slow\ndef test_c(): pass\n");
  ASSERT_EQ(f.funcs.size(), 3u);
  EXPECT_EQ(f.funcs[0].decorators[0].kind, DecoKind::Mark);
  EXPECT_EQ(f.funcs[0].decorators[0].name, "foo");
  EXPECT_EQ(f.funcs[1].decorators[0].kind, DecoKind::Mark);
  EXPECT_EQ(f.funcs[1].decorators[0].name, "bar");
  EXPECT_EQ(f.funcs[2].decorators[0].kind, DecoKind::Mark);
  EXPECT_EQ(f.funcs[2].decorators[0].name, "slow");
}

TEST(Facts, ReassignedMarkAliasIsUnknown) {
  auto f = facts("import pytest\nslow = pytest.mark.slow\nslow = other\n@slow\ndef test_a(): pass\n");
  EXPECT_EQ(f.funcs[0].decorators[0].kind, DecoKind::Unknown);
}

TEST(Facts, ParametrizeIdsFromLiterals) {
  auto f = facts(
      "import pytest\n"
      "@pytest.mark.parametrize('a,b', [(1, 'x'), (2, True), (-3, None), ([1], {}), pytest.param(5, 'y', id='five')])\n"
      "def test_a(a, b): pass\n");
  const auto& d = f.funcs[0].decorators[0];
  ASSERT_EQ(d.kind, DecoKind::Parametrize);
  EXPECT_EQ(d.args, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(d.params.ids_known);
  EXPECT_EQ(d.params.ids, (std::vector<std::string>{"1-x", "2-True", "-3-None", "a3-b3", "five"}));
  EXPECT_TRUE(d.params.marks_known);
}

TEST(Facts, ParametrizeExplicitIdsAndMarks) {
  auto f = facts(
      "import pytest\n"
      "@pytest.mark.parametrize('x', [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=[pytest.mark.a, pytest.mark.b])], ids=['one', None, 'three'])\n"
      "def test_a(x): pass\n");
  const auto& p = f.funcs[0].decorators[0].params;
  ASSERT_TRUE(p.ids_known);
  EXPECT_EQ(p.ids, (std::vector<std::string>{"one", "2", "three"}));
  ASSERT_TRUE(p.marks_known);
  EXPECT_EQ(p.marks[1], (std::vector<std::string>{"slow"}));
  EXPECT_EQ(p.marks[2], (std::vector<std::string>{"a", "b"}));
}

TEST(Facts, ParametrizeUnknowns) {
  auto f = facts(
      "import pytest\nVALUES = [1, 2]\nVALUES.append(3)\n"
      "@pytest.mark.parametrize('x', VALUES)\ndef test_a(x): pass\n"
      "@pytest.mark.parametrize('x', [1.5, 'a\\\\n'])\ndef test_b(x): pass\n"
      "@pytest.mark.parametrize('x', [1, 1])\ndef test_c(x): pass\n"
      "@pytest.mark.parametrize('x', [1, 2], ids=str)\ndef test_d(x): pass\n"
      "@pytest.mark.parametrize('x', [])\ndef test_e(x): pass\n"
      "@pytest.mark.parametrize('x', [f(1)])\ndef test_f(x): pass\n");
  for (const auto& fn : f.funcs) EXPECT_FALSE(fn.decorators[0].params.ids_known) << fn.name;
  EXPECT_FALSE(f.funcs[0].decorators[0].params.marks_known);  // a variable may hold pytest.param
  EXPECT_FALSE(f.funcs[5].decorators[0].params.marks_known);  // a call may return pytest.param
}

TEST(Facts, ParametrizeFloatsContainersAndNamedLists) {
  auto f = facts(
      "import pytest\nMETHODS = ('lu', 'pcg')\n"
      "@pytest.mark.parametrize('x', [0.2, 1e-5, 1e16, -0.0, 5., 1_000.5, 1e22, 0.0001])\ndef test_a(x): pass\n"
      "@pytest.mark.parametrize('d', [[3] * 2, (1,) + (2,), *(7, 8), [i for i in 'ab']])\ndef test_b(d): pass\n"
      "@pytest.mark.parametrize('m', METHODS)\ndef test_c(m): pass\n"
      "@pytest.mark.parametrize('x', [made + 1, 2j * [1]])\ndef test_d(x): pass\n");
  ASSERT_EQ(f.funcs.size(), 4u);
  const ParamSets& a = f.funcs[0].decorators[0].params;
  ASSERT_TRUE(a.ids_known);
  EXPECT_EQ(a.ids, (std::vector<std::string>{"0.2", "1e-05", "1e+16", "-0.0", "5.0", "1000.5", "1e+22", "0.0001"}));
  const ParamSets& b = f.funcs[1].decorators[0].params;
  ASSERT_TRUE(b.ids_known);
  EXPECT_EQ(b.ids, (std::vector<std::string>{"d0", "d1", "7", "8", "d4"}));
  const ParamSets& c = f.funcs[2].decorators[0].params;
  ASSERT_TRUE(c.ids_known);  // read from the display METHODS is bound to
  EXPECT_EQ(c.ids, (std::vector<std::string>{"lu", "pcg"}));
  EXPECT_TRUE(c.marks_known);
  const ParamSets& d = f.funcs[3].decorators[0].params;
  EXPECT_FALSE(d.ids_known);
  EXPECT_FALSE(d.marks_known);  // a user type's __add__ may return pytest.param
}

TEST(Facts, ParametrizeIdsThatDependOnNames) {
  auto f = facts(
      "import pytest\nimport proj.core as core\nCASES = [1, 2]\n"
      "@pytest.mark.parametrize('f, n', [(core.parse, 1), pytest.param(x, 2, id='given')])\ndef test_a(f, n): pass\n"
      "@pytest.mark.parametrize('n', list(range(-1, 5, 2)))\ndef test_b(n): pass\n"
      "@pytest.mark.parametrize('n', range(0))\ndef test_c(n): pass\n"
      "@pytest.mark.parametrize('f', [g(1), core.parse])\ndef test_d(f): pass\n"
      "@pytest.mark.parametrize('f', [x[0]])\ndef test_e(f): pass\n");
  ASSERT_EQ(f.funcs.size(), 5u);
  const ParamSets& a = f.funcs[0].decorators[0].params;
  EXPECT_FALSE(a.ids_known);
  EXPECT_FALSE(a.marks_known);  // until the names are known to be no ParameterSet
  EXPECT_TRUE(a.pending_marks_known);
  ASSERT_EQ(a.pending.size(), 2u);
  EXPECT_EQ(a.pending[0], (std::vector<std::string>{std::string(1, kRefPart) + "core.parse", "1"}));
  EXPECT_EQ(a.pending[1], (std::vector<std::string>{"given"}));
  const ParamSets& b = f.funcs[1].decorators[0].params;
  ASSERT_EQ(b.pending.size(), 3u);
  EXPECT_EQ(b.pending[0][0], "-1");
  EXPECT_EQ(b.pending[2][0], "3");
  EXPECT_EQ(b.pending_builtins, (std::vector<std::string>{"list", "range"}));
  EXPECT_TRUE(f.funcs[2].decorators[0].params.pending.empty());  // no sets: pytest's empty-set item
  EXPECT_TRUE(f.funcs[3].decorators[0].params.pending.empty());  // a call: its value is not known
  EXPECT_TRUE(f.funcs[4].decorators[0].params.pending.empty());
  // Bindings: a display is a box, with its line; imports keep line and alias.
  bool box = false;
  for (const auto& bd : f.bound) box = box || (bd.name == "CASES" && bd.box && bd.line == 3);
  EXPECT_TRUE(box);
  ASSERT_EQ(f.imports.size(), 2u);
  EXPECT_EQ(f.imports[1].line, 2u);
  EXPECT_TRUE(f.imports[1].alias);
  EXPECT_FALSE(f.imports[0].alias);
  EXPECT_FALSE(f.sets_dunder_name);
  EXPECT_TRUE(facts("def f(): pass\nf.__name__ = 'g'\n").sets_dunder_name);
  EXPECT_TRUE(facts("def f(): pass\nsetattr(f, '__name__', 'g')\n").sets_dunder_name);
  EXPECT_TRUE(facts("import functools\n").sets_dunder_name == false);
  EXPECT_TRUE(facts("from functools import wraps\n").sets_dunder_name);
  EXPECT_FALSE(facts("if __name__ == '__main__':\n    pass\n").sets_dunder_name);
}

TEST(Facts, FixturesAndUsefixtures) {
  auto f = facts(
      "import pytest\nfrom pytest import fixture\n"
      "@pytest.fixture(params=[1, 2], autouse=True)\ndef db(tmp_path): pass\n"
      "@fixture(name='other')\ndef _impl(): pass\n"
      "@pytest.mark.usefixtures('db', 'x')\ndef test_a(): pass\n");
  const auto& db = f.funcs[0].decorators[0];
  EXPECT_EQ(db.kind, DecoKind::Fixture);
  EXPECT_TRUE(db.has_params);
  EXPECT_TRUE(db.autouse);
  EXPECT_EQ(f.funcs[0].params, (std::vector<std::string>{"tmp_path"}));
  EXPECT_EQ(f.funcs[1].decorators[0].fixture_name, "other");
  EXPECT_EQ(f.funcs[2].decorators[0].kind, DecoKind::Usefixtures);
  EXPECT_EQ(f.funcs[2].decorators[0].args, (std::vector<std::string>{"db", "x"}));
}

TEST(Facts, DynamicConstructs) {
  EXPECT_FALSE(facts("from os.path import *\n").dynamic.empty());
  EXPECT_FALSE(facts("globals()['test_x'] = f\n").dynamic.empty());
  EXPECT_FALSE(facts("exec('def test_x(): pass')\n").dynamic.empty());
  EXPECT_FALSE(facts("class A:\n    __test__ = True\n").dynamic.empty());
  EXPECT_FALSE(facts("import sys\nsetattr(sys.modules[__name__], 'test_x', f)\n").dynamic.empty());
  EXPECT_TRUE(facts("import os\nx = os.path.join('a', 'b')\n").dynamic.empty());
}

TEST(Facts, BindingsAndConditionalDefinitions) {
  auto f = facts(
      "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n"
      "if numpy:\n    def test_np(): pass\nelse:\n    @pytest.mark.skip\n    def test_np(): pass\n"
      "test_alias = test_np\nfor test_i in range(3): pass\ndel test_np\nfoo.bar = 1\n(test_w := 3)\n");
  ASSERT_EQ(f.funcs.size(), 2u);
  EXPECT_TRUE(f.funcs[0].conditional);
  auto has = [&](const std::string& n) {
    return std::any_of(f.bound.begin(), f.bound.end(), [&](const Binding& b) { return !b.call && b.name == n; });
  };
  EXPECT_TRUE(has("numpy"));
  EXPECT_TRUE(has("test_alias"));
  EXPECT_TRUE(has("test_i"));
  EXPECT_TRUE(has("test_np"));  // del
  EXPECT_TRUE(has("foo"));
  EXPECT_TRUE(has("test_w"));
}

TEST(Facts, ImportsRecordModuleAndBinding) {
  auto f = facts("import os.path\nimport numpy as np\nfrom .helpers import make\nfrom pkg.sub import test_thing as t\n");
  ASSERT_EQ(f.imports.size(), 4u);
  EXPECT_EQ(f.imports[0].bound, "os");
  EXPECT_EQ(f.imports[1].bound, "np");
  EXPECT_EQ(f.imports[1].module, "numpy");
  EXPECT_EQ(f.imports[2].module, "");
  EXPECT_TRUE(f.imports[2].from);
  EXPECT_EQ(f.imports[3].bound, "t");
  EXPECT_EQ(f.imports[3].module, "pkg");
}

TEST(Facts, ModuleAndClassPytestmark) {
  auto f = facts("import pytest\npytestmark = [pytest.mark.a, pytest.mark.b(1)]\nclass TestX:\n    pytestmark = pytest.mark.c\n    def test_y(self): pass\n");
  EXPECT_TRUE(f.pytestmark.known);
  ASSERT_EQ(f.pytestmark.marks.size(), 2u);
  EXPECT_EQ(f.pytestmark.marks[1].name, "b");
  EXPECT_TRUE(f.classes[0].pytestmark.known);
  EXPECT_EQ(f.classes[0].pytestmark.marks[0].name, "c");
  auto g = facts("import pytest\npytestmark = make_marks()\n");
  EXPECT_FALSE(g.pytestmark.known);
}

TEST(Facts, ClassBasesAndDecorators) {
  auto f = facts("import unittest\nclass Foo(unittest.TestCase):\n    def test_a(self): pass\nclass TestB(object):\n    pass\n");
  EXPECT_EQ(f.classes[0].bases, (std::vector<std::string>{"unittest.TestCase"}));
  EXPECT_TRUE(f.classes[1].bases.empty());
}

TEST(Facts, HostileInput) {
  EXPECT_TRUE(facts("def test_a(:\n").syntax_error);
  EXPECT_TRUE(facts(std::string("def test_a():\n    pass\n\0\x01", 25)).syntax_error);
  // CRLF, tabs, BOM
  auto crlf = facts("\xEF\xBB\xBF" "import pytest\r\n@pytest.mark.x\r\ndef test_a():\r\n\tpass\r\n");
  EXPECT_FALSE(crlf.syntax_error);
  ASSERT_EQ(crlf.funcs.size(), 1u);
  EXPECT_EQ(crlf.funcs[0].decorators[0].name, "x");
  // Unicode names
  auto uni = facts("def test_ünïcode():\n    pass\n");
  ASSERT_EQ(uni.funcs.size(), 1u);
  EXPECT_EQ(uni.funcs[0].name, "test_ünïcode");
  // Non-UTF-8 bytes in a string: parsed, whatever tree-sitter makes of it, never a crash.
  facts("x = '\xff\xfe'\ndef test_a(): pass\n");
  // A very long line.
  std::string longline = "x = [" + std::string(200000, '1') + "]\ndef test_a(): pass\n";
  EXPECT_EQ(facts(longline).funcs.size(), 1u);
  // Deep nesting: bounded, no stack overflow.
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += std::string(static_cast<size_t>(i), ' ') + "if x:\n";
  deep += std::string(300, ' ') + "def test_deep(): pass\n";
  auto d = facts(deep);
  EXPECT_TRUE(d.syntax_error || !d.dynamic.empty() || !d.funcs.empty());
  std::string parens = "x = " + std::string(5000, '(') + "1" + std::string(5000, ')') + "\n";
  facts(parens);
}

TEST(Facts, DecodeRejectsGarbage) {
  FileFacts out;
  std::string enc = encode_facts(facts("def test_a(): pass\n"));
  for (size_t cut = 0; cut < enc.size(); ++cut) EXPECT_FALSE(decode_facts(enc.data(), cut, out)) << cut;
  std::string bad = enc;
  bad[0] = static_cast<char>(kFactsVersion + 1);
  EXPECT_FALSE(decode_facts(bad.data(), bad.size(), out));
  std::string huge = enc.substr(0, 1) + std::string("\xff\xff\xff\xff\x0f", 5);
  EXPECT_FALSE(decode_facts(huge.data(), huge.size(), out));
}
