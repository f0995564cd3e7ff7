// Collection surfaces: which edits keep a file's surface and which change it.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "surface.h"

extern "C" const TSLanguage* tree_sitter_python();

using namespace fc;

namespace {

uint64_t surface(const std::string& src, const std::set<std::string>& ran = {}) {
  uint64_t h = 0;
  EXPECT_TRUE(surface_hash(tree_sitter_python(), src, ran, h)) << src;
  return h;
}

const char* kBase = R"(# -*- coding: utf-8 -*-
import os

CASES = [1, 2]


def helper(x=1):
    """Helps."""
    return x + 1


class Table:
    size = 3

    @staticmethod
    def parse(text):
        return text.split()

    def render(self):
        def inner():
            return 1
        return inner()
)";

// The surface hash with the binding statements' table: what a generation keeps.
std::pair<uint64_t, BindingTable> kept(const std::string& src, const std::set<std::string>& ran = {}) {
  uint64_t h = 0;
  std::vector<BoundName> b;
  EXPECT_TRUE(surface_hash(tree_sitter_python(), src, ran, h, &b)) << src;
  return {h, binding_table(b)};
}

std::vector<std::string> bound(const std::string& src, const std::set<std::string>& ran = {}) {
  uint64_t h = 0;
  std::vector<BoundName> b;
  EXPECT_TRUE(surface_hash(tree_sitter_python(), src, ran, h, &b)) << src;
  std::vector<std::string> out;
  for (const auto& x : b)
    out.push_back(x.module.empty() ? x.name : x.name + "=" + x.module + (x.attr.empty() ? "" : ":" + x.attr));
  return out;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST(Surface, BodiesThatDidNotRunAreLeftOut) {
  const uint64_t base = surface(kBase);
  EXPECT_EQ(base, surface(replace(kBase, "return x + 1", "y = 2\n    return x + y")));
  EXPECT_EQ(base, surface(replace(kBase, "return text.split()", "return text.split(',')")));
  EXPECT_EQ(base, surface(replace(kBase, "return 1\n", "return 2\n")));
}

TEST(Surface, BodiesThatRanArePartOfIt) {
  const std::set<std::string> ran{"helper", "Table.render", "Table.render.<locals>.inner"};
  const uint64_t base = surface(kBase, ran);
  EXPECT_NE(base, surface(kBase));
  EXPECT_NE(base, surface(replace(kBase, "return x + 1", "return x + 2"), ran));
  EXPECT_NE(base, surface(replace(kBase, "return 1\n", "return 2\n"), ran));
  // Table.render itself did not run: its body is out, so is what it holds.
  EXPECT_EQ(surface(kBase, {"Table.render.<locals>.inner"}), surface(kBase));
}

TEST(Surface, WhatCollectionCanSeeWithoutRunningABody) {
  const auto base = kept(kBase);
  EXPECT_NE(base, kept(replace(kBase, "CASES = [1, 2]", "CASES = [1, 2, 3]")));        // module level
  EXPECT_NE(base, kept(replace(kBase, "size = 3", "size = 4")));                      // class level
  EXPECT_NE(base, kept(replace(kBase, "def helper(x=1)", "def helper(x=2)")));        // default value
  EXPECT_NE(base, kept(replace(kBase, "def helper(x=1)", "def helper(x=1, y=0)")));   // signature
  EXPECT_NE(base, kept(replace(kBase, "@staticmethod", "@classmethod")));            // decorator
  EXPECT_NE(base, kept(replace(kBase, "def helper", "def helper2")));                // name
  EXPECT_NE(base, kept(replace(kBase, "return x + 1", "yield x + 1")));               // kind: generator
  EXPECT_NE(base, kept(replace(kBase, "def helper", "async def helper")));           // kind: coroutine
  EXPECT_NE(base, kept(replace(kBase, "utf-8", "latin-1")));                          // encoding declaration
  // Binding statements are out of the hash: their names decide (binding_change).
  EXPECT_EQ(base.first, kept(replace(kBase, "CASES = [1, 2]", "CASES = [1, 2, 3]")).first);
  EXPECT_EQ(base.first, kept(replace(kBase, "def helper(x=1)", "def helper(x=1, y=0)")).first);
  EXPECT_NE(base.first, kept(replace(kBase, "size = 3", "size = 4")).first);
}

TEST(Surface, DocstringsAreInOnlyWhereRead) {
  const std::string doc = "\"\"\"Helps.\"\"\"", more = "\"\"\"Helps more.\"\"\"";
  EXPECT_EQ(kept(kBase), kept(replace(kBase, doc, more)));
  const std::set<std::string> read{std::string(1, kDocRead) + "helper"};
  EXPECT_NE(kept(kBase, read), kept(replace(kBase, doc, more), read));
  EXPECT_NE(kept(kBase, {kAllDocsRead}), kept(replace(kBase, doc, more), {kAllDocsRead}));
  // The function ran: its body is in, its docstring only where read (a
  // body's code never reads its own docstring; sympy's Basic.count).
  EXPECT_EQ(surface(kBase, {"helper"}), surface(replace(kBase, doc, more), {"helper"}));
  const std::set<std::string> ran_and_read{"helper", std::string(1, kDocRead) + "helper"};
  EXPECT_NE(surface(kBase, ran_and_read), surface(replace(kBase, doc, more), ran_and_read));
  EXPECT_NE(surface(kBase, {"helper", kAllDocsRead}), surface(replace(kBase, doc, more), {"helper", kAllDocsRead}));
  EXPECT_NE(surface(kBase, {"helper"}), surface(replace(kBase, "return x + 1", "return x + 2"), {"helper"}));
  // Not a docstring: an f-string runs; a string after other statements.
  const std::string fdoc = "def f():\n    f\"{a}\"\n    return 1\n";
  EXPECT_NE(surface(fdoc, {"f"}), surface(replace(fdoc, "{a}", "{b}"), {"f"}));
  const std::string late = "def f():\n    x = 1\n    'late'\n    return x\n";
  EXPECT_NE(surface(late, {"f"}), surface(replace(late, "'late'", "'later'"), {"f"}));
  // A comment first, then the docstring; two docstring parts.
  const std::string commented = "def f():\n    # c\n    'Doc' 'string.'\n    return 1\n";
  EXPECT_EQ(surface(commented, {"f"}), surface(replace(commented, "'string.'", "'text.'"), {"f"}));
  // Removing it is no change either; adding a statement is.
  EXPECT_EQ(surface(commented, {"f"}), surface(replace(commented, "'Doc' 'string.'\n", ""), {"f"}));
  // Another function's docstring read: this one stays out.
  const std::set<std::string> other{std::string(1, kDocRead) + "Table.parse"};
  EXPECT_EQ(kept(kBase, other), kept(replace(kBase, doc, more), other));
}

TEST(Surface, DocReadsMapToQualifiedNames) {
  std::vector<FunctionSpan> spans;
  ASSERT_TRUE(function_spans(tree_sitter_python(), kBase, spans));
  std::set<std::string> names;
  const std::string d(1, kDocRead);
  ASSERT_TRUE(ran_qualnames(spans, {{d + "helper", 7}, {d + "parse", 15}, {"render", 19}, {kAllDocsRead, 0}}, names));
  EXPECT_EQ(names, (std::set<std::string>{d + "helper", d + "Table.parse", "Table.render", kAllDocsRead}));
  EXPECT_FALSE(ran_qualnames(spans, {{d + "helper", 8}}, names));  // not the file that ran
}

TEST(Bindings, OnlyStatementsThatCannotFailOrActAreBindings) {
  EXPECT_EQ(bound(kBase), (std::vector<std::string>{"os=os", "CASES", "helper"}));
  EXPECT_EQ(bound("import a.b.c, d as e\nX = -1\nY = (1, 'a', None, ...)\nZ = {'k': [1, {2}]}\nW = 1, 2\n"),
            (std::vector<std::string>{"a=a.b.c", "e=d", "X", "Y", "Z", "W"}));
  // Each of these can fail, run code, or bind through something else.
  const char* acting[] = {
      "X = UNDEFINED\n",       "X = f()\n",          "X = f'{y}'\n",         "X = {[1]: 2}\n",
      "X = {[1]}\n",           "X = -'a'\n",         "X: int = 1\n",         "X = Y = 1\n",
      "X += 1\n",              "x.y = 1\n",          "from . import b\n",    "@dec\ndef f(): pass\n",
      "def f(x=g()): pass\n",  "def f(x: T): pass\n", "def f() -> T: pass\n", "class C(B): pass\n",
      "__all__ = ['a']\n",     "def __getattr__(n): pass\n", "del x\n", "X = [*a]\n",
      "X = {**a}\n",           "X = 1 + 2\n",        "if c:\n    X = 1\n",  "def f[T](): pass\n",
      "X = lambda y=g(): 0\n", "X = (lambda: 0)()\n", "X = [lambda y=Y: y]\n",
      "from .a import b\n",    "from a import *\n",  "from a import __version__\n", "from a import b as __x__\n",
  };
  for (const char* src : acting) EXPECT_EQ(bound(src), std::vector<std::string>{}) << src;
  // From-imports: each name read from a module that must be loaded and hold it (binding_change).
  EXPECT_EQ(bound("from typing import (TYPE_CHECKING,  # c\n    ClassVar as CV)\nfrom a . b import c\n"),
            (std::vector<std::string>{"TYPE_CHECKING=typing:TYPE_CHECKING", "CV=typing:ClassVar", "c=a.b:c"}));
  // A lambda with literal defaults runs nothing of its body when made (sympy's
  // printers: `known_functions = {"airyai": [(lambda x: True, "AiryAi")]}`).
  EXPECT_EQ(bound("X = {'a': [(lambda *x: True, 'A')], 'b': lambda y=1, *, z=(2,), **k: z}\nY = lambda: Z\n"),
            (std::vector<std::string>{"X", "Y"}));
  // The module's docstring binds __doc__; a string anywhere else binds nothing.
  EXPECT_EQ(bound("# c\n\"\"\"Doc.\"\"\"\nimport os\n"), (std::vector<std::string>{"__doc__", "os=os"}));
  EXPECT_EQ(bound("import os\n'x'\n"), std::vector<std::string>{"os=os"});
  EXPECT_EQ(bound("f'{x}'\n"), std::vector<std::string>{});
  // A class with no base, keyword or decorator, holding literals and plain methods.
  EXPECT_EQ(bound("class C:\n    'Doc.'\n    size = 3\n\n    def __init__(self, x=1):\n        self.x = x\n"),
            std::vector<std::string>{"C"});
  const char* acting_classes[] = {
      "class C(metaclass=M): pass\n", "@dec\nclass C: pass\n", "class C:\n    x = f()\n",
      "class C:\n    __slots__ = ('a',)\n", "class C:\n    @property\n    def p(self): pass\n",
      "class C:\n    class D: pass\n",
  };
  for (const char* src : acting_classes) EXPECT_EQ(bound(src), std::vector<std::string>{}) << src;
  EXPECT_EQ(bound("class C:\n    def m(self): pass\n", {"C.m"}), std::vector<std::string>{});  // a method ran
  // Annotations are not evaluated under `from __future__ import annotations`.
  EXPECT_EQ(bound("from __future__ import annotations\ndef f(x: T = 1) -> U: pass\n"), std::vector<std::string>{"f"});
  // A function that ran is part of the surface.
  EXPECT_EQ(bound("def f(): pass\n", {"f"}), std::vector<std::string>{});
}

TEST(Bindings, ChangesCountWhereCollectionCouldReadThem) {
  const std::string base = "import os\nX = 1\n\ndef f():\n    return 1\n";
  auto now = [&](const std::string& src) {
    uint64_t h = 0;
    std::vector<BoundName> b;
    EXPECT_TRUE(surface_hash(tree_sitter_python(), src, {}, h, &b));
    return b;
  };
  const BindingTable stored = kept(base).second;
  Observed seen;
  seen.known = true;
  seen.names = {name_hash("X")};
  seen.preloaded = {name_hash("os"), name_hash("keyword")};
  std::sort(seen.names.begin(), seen.names.end());
  std::sort(seen.preloaded.begin(), seen.preloaded.end());
  EXPECT_EQ(binding_change(stored, now(base), seen, false, "/p/m.py"), "");
  EXPECT_EQ(binding_change(stored, now(base + "def g(a, b=2):\n    pass\n"), seen, false, "/p/m.py"), "");
  EXPECT_EQ(binding_change(stored, now(base + "import keyword as kw\nLIMIT = 17\n"), seen, false, "/p/m.py"), "");
  EXPECT_EQ(binding_change(stored, now(replace(base, "def f():", "def f(a=1):")), seen, false, "/p/m.py"), "");
  EXPECT_EQ(binding_change(stored, now(replace(base, "def f():\n    return 1\n", "")), seen, false, "/p/m.py"), "");
  // A name collection read, a module not loaded before, an enumerated namespace, nothing known.
  EXPECT_NE(binding_change(stored, now(replace(base, "X = 1", "X = 2")), seen, false, "/p/m.py"), "");
  EXPECT_NE(binding_change(stored, now(replace(base, "X = 1\n", "")), seen, false, "/p/m.py"), "");
  EXPECT_NE(binding_change(stored, now(base + "import json as js\n"), seen, false, "/p/m.py"), "");
  EXPECT_NE(binding_change(stored, now(base + "import os.path\n"), seen, false, "/p/m.py"), "");
  EXPECT_NE(binding_change(stored, now(base + "LIMIT = 17\n"), seen, true, "/p/m.py"), "");
  EXPECT_NE(binding_change(stored, now(base + "LIMIT = 17\n"), Observed{}, false, "/p/m.py"), "");
  // A name a file's own code looked up counts for that file only.
  Observed own = seen;
  own.names.push_back(own_name_hash("/p/m.py", name_hash("LIMIT")));
  std::sort(own.names.begin(), own.names.end());
  EXPECT_NE(binding_change(stored, now(base + "LIMIT = 17\n"), own, false, "/p/m.py"), "");
  EXPECT_EQ(binding_change(stored, now(base + "LIMIT = 17\n"), own, false, "/p/other.py"), "");
  EXPECT_NE(binding_change(kept(base + "LIMIT = 17\n").second, now(base), own, false, "/p/m.py"), "");  // removed
}

TEST(Surface, CommentsWhitespaceAndLinePositionsAreNot) {
  const std::set<std::string> ran{"helper"};
  const uint64_t base = surface(kBase, ran);
  EXPECT_EQ(base, surface(replace(kBase, "import os\n", "import os  # the os\n\n\n"), ran));
  EXPECT_EQ(base, surface(replace(kBase, "return x + 1", "return x+1  # one more"), ran));
  EXPECT_EQ(base, surface(replace(kBase, "# -*- coding: utf-8 -*-\n", "# -*- coding: utf-8 -*-\n\n# a comment\n"), ran));
  // Only on line 1 or 2 is it an encoding declaration (PEP 263).
  EXPECT_NE(base, surface(std::string("\n\n") + kBase, ran));
}

TEST(Surface, ASourceThatDoesNotParseHasNone) {
  uint64_t h = 0;
  EXPECT_FALSE(surface_hash(tree_sitter_python(), "def f(:\n    pass\n", {}, h));
  EXPECT_FALSE(surface_hash(tree_sitter_python(), std::string("x = 1\0\n", 7), {}, h));
}

TEST(Surface, SpansNameFunctionsAsPythonDoes) {
  std::vector<FunctionSpan> spans;
  ASSERT_TRUE(function_spans(tree_sitter_python(), kBase, spans));
  std::vector<std::string> names;
  for (const auto& s : spans) names.push_back(s.qualname + "@" + std::to_string(s.first_line));
  // co_firstlineno of a decorated function is the line of its first decorator.
  EXPECT_EQ(names, (std::vector<std::string>{"helper@7", "Table@12", "Table.parse@15", "Table.render@19",
                                             "Table.render.<locals>.inner@20"}));
}

TEST(Surface, TracedCodeMapsToQualifiedNames) {
  std::vector<FunctionSpan> spans;
  ASSERT_TRUE(function_spans(tree_sitter_python(), kBase, spans));
  std::set<std::string> names;
  EXPECT_TRUE(ran_qualnames(spans, {{"parse", 15}, {"<lambda>", 3}, {"Table", 12}, {"<module>", 1}}, names));
  EXPECT_EQ(names, (std::set<std::string>{"Table.parse"}));
  // Code the file does not define at that line: this is not the file that ran.
  EXPECT_FALSE(ran_qualnames(spans, {{"parse", 16}}, names));
  uint64_t h = 0;
  std::set<std::string> got;
  ASSERT_TRUE(file_surface(tree_sitter_python(), kBase, {{"helper", 7}}, got, h));
  EXPECT_EQ(h, surface(kBase, {"helper"}));
}

TEST(Surface, EveryDefinitionOfANameThatRanKeepsItsBody) {
  const std::string twice = "def f():\n    return 1\n\ndef f():\n    return 2\n";
  const uint64_t base = surface(twice, {"f"});
  EXPECT_NE(base, surface(replace(twice, "return 1", "return 3"), {"f"}));
  EXPECT_NE(base, surface(replace(twice, "return 2", "return 3"), {"f"}));
}

// A binding statement moved past code that reads its name: the module now
// fails (NameError) where it did not, so the content must not be kept.
TEST(Bindings, MovingABindingPastItsReaderIsAChange) {
  const auto before = kept("def f():\n    return 1\n\n\ng = f\n");
  const auto after = kept("g = f\n\n\ndef f():\n    return 1\n");
  EXPECT_TRUE(before.first != after.first || before.second != after.second);
}

// A from-import's names are bindings each: editing the list changes only the
// names added or removed, which count where read, where the module was not
// loaded before collection, or where the loaded module does not hold them.
TEST(Bindings, FromImportsCountPerName) {
  const std::string base = "from typing import TYPE_CHECKING\nX = f()\n";
  auto now = [](const std::string& src) {
    uint64_t h = 0;
    std::vector<BoundName> b;
    EXPECT_TRUE(surface_hash(tree_sitter_python(), src, {}, h, &b));
    return b;
  };
  const auto stored = kept(base);
  Observed seen;
  seen.known = true;
  seen.names = {own_name_hash("/p/m.py", name_hash("TYPE_CHECKING"))};
  seen.preloaded = {name_hash("typing"), name_hash("collections"), name_hash("collections.abc")};
  std::sort(seen.preloaded.begin(), seen.preloaded.end());
  const AttrCheck has = [](const std::string& m, const std::string& a) {
    return (m == "typing" && (a == "Literal" || a == "TYPE_CHECKING")) || (m == "collections.abc" && a == "Mapping");
  };
  const AttrCheck none = [](const std::string&, const std::string&) { return false; };
  const std::string added = "from typing import TYPE_CHECKING, Literal\nX = f()\n";
  EXPECT_EQ(kept(added).first, stored.first);
  EXPECT_EQ(binding_change(stored.second, now(added), seen, false, "/p/m.py", &has), "");
  EXPECT_EQ(binding_change(stored.second, now(base + "from collections.abc import Mapping as M\n"), seen, false,
                           "/p/m.py", &has), "");
  // The module does not hold the name (an ImportError, or a submodule imported), or nobody can tell.
  EXPECT_NE(binding_change(stored.second, now(added), seen, false, "/p/m.py", &none), "");
  EXPECT_NE(binding_change(stored.second, now(added), seen, false, "/p/m.py"), "");
  // A module not loaded before collection; a name collection read; moved past code that reads it.
  EXPECT_NE(binding_change(stored.second, now(base + "from json import dumps\n"), seen, false, "/p/m.py", &has), "");
  EXPECT_NE(binding_change(stored.second, now("from typing import Literal as TYPE_CHECKING\nX = f()\n"), seen, false,
                           "/p/m.py", &has), "");
  EXPECT_NE(binding_change(stored.second, now("X = f()\nfrom typing import TYPE_CHECKING\n"), seen, false, "/p/m.py",
                           &has), "");
}

// `if TYPE_CHECKING:` bodies never run where TYPE_CHECKING is typing's: an
// edit there (sympy's typing work: overloads in a class body) is no change.
TEST(Surface, TypeCheckingBodiesAreDeadCode) {
  const std::string base =
      "from typing import TYPE_CHECKING, ClassVar\n"
      "if TYPE_CHECKING:\n    from a import B\n\n"
      "class Add:\n    if TYPE_CHECKING:\n        def __new__(cls, *args) -> 'Add':\n            ...\n"
      "    else:\n        size = 1\n";
  const std::string edited = replace(replace(base, "from a import B", "from a import B, C"), "*args", "*args, x");
  EXPECT_EQ(surface(base), surface(edited));
  EXPECT_NE(surface(base), surface(replace(base, "size = 1", "size = 2")));  // the else branch runs
  // typing.TYPE_CHECKING was set: they ran.
  EXPECT_NE(surface(base, {kTypeCheckingRuns}), surface(edited, {kTypeCheckingRuns}));
  // TYPE_CHECKING bound or read some other way; imported twice; from elsewhere.
  const char* others[] = {"TYPE_CHECKING = True\n", "X = not TYPE_CHECKING\n", "from typing import TYPE_CHECKING\n",
                          "def f(TYPE_CHECKING): pass\n"};
  for (const char* o : others) EXPECT_NE(surface(base + o), surface(edited + o)) << o;
  const std::string mine = replace(base, "from typing import TYPE_CHECKING, ClassVar", "from mine import TYPE_CHECKING");
  EXPECT_NE(surface(mine), surface(replace(mine, "*args", "*args, x")));
  const std::string aliased = replace(base, "TYPE_CHECKING, ClassVar", "TYPE_CHECKING as TC, ClassVar");
  EXPECT_NE(surface(aliased), surface(replace(aliased, "*args", "*args, x")));
}
