// Collection surfaces: which edits keep a file's surface and which change it.
#include <gtest/gtest.h>

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
  const uint64_t base = surface(kBase);
  EXPECT_NE(base, surface(replace(kBase, "CASES = [1, 2]", "CASES = [1, 2, 3]")));        // module level
  EXPECT_NE(base, surface(replace(kBase, "size = 3", "size = 4")));                      // class level
  EXPECT_NE(base, surface(replace(kBase, "def helper(x=1)", "def helper(x=2)")));        // default value
  EXPECT_NE(base, surface(replace(kBase, "def helper(x=1)", "def helper(x=1, y=0)")));   // signature
  EXPECT_NE(base, surface(replace(kBase, "\"\"\"Helps.\"\"\"", "\"\"\"Helps more.\"\"\"")));  // docstring
  EXPECT_NE(base, surface(replace(kBase, "@staticmethod", "@classmethod")));            // decorator
  EXPECT_NE(base, surface(replace(kBase, "def helper", "def helper2")));                // name
  EXPECT_NE(base, surface(replace(kBase, "return x + 1", "yield x + 1")));               // kind: generator
  EXPECT_NE(base, surface(replace(kBase, "def helper", "async def helper")));           // kind: coroutine
  EXPECT_NE(base, surface(replace(kBase, "utf-8", "latin-1")));                          // encoding declaration
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
