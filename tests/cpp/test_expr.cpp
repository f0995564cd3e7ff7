#include <gtest/gtest.h>

#include "expr.h"

using namespace fc;

namespace {
// Evaluates with a fixed answer per identifier name.
Tri run(const std::string& s, const std::map<std::string, Tri>& v) {
  auto e = Expression::parse(s);
  EXPECT_NE(e, nullptr) << s;
  if (!e) return Tri::Unknown;
  return e->eval([&](const ExprNode& n) {
    auto it = v.find(n.name);
    return it == v.end() ? Tri::False : it->second;
  });
}
}  // namespace

TEST(Expr, Grammar) {
  for (const char* ok : {"a", "a and b", "a or b and not c", "not not a", "(a or b) and c", "test_x[1-2]",
                         "a.b::c/d\\e+f", "True", "None or False", "", "   ", "mark(a=1)", "m(a='x', b=-2, c=True)",
                         "orx", "nota"}) {
    EXPECT_NE(Expression::parse(ok), nullptr) << ok;
  }
  for (const char* bad : {"a and", "(a", "a)", "not", "a b", "and", "a (", "m(1)", "m(a=)", "m(a=x)",
                          "m(if=1)", "m(a='x)", "m(a='\\\\x')", "a $ b", "t\xc3\xa9st", "a,b", "a=b"}) {
    EXPECT_EQ(Expression::parse(bad), nullptr) << bad;
  }
}

TEST(Expr, ThreeValuedLogic) {
  const Tri T = Tri::True, F = Tri::False, U = Tri::Unknown;
  EXPECT_EQ(run("a", {{"a", T}}), T);
  EXPECT_EQ(run("not a", {{"a", U}}), U);
  EXPECT_EQ(run("a and b", {{"a", U}, {"b", F}}), F);
  EXPECT_EQ(run("a or b", {{"a", U}, {"b", T}}), T);
  EXPECT_EQ(run("a or b", {{"a", U}, {"b", F}}), U);
  EXPECT_EQ(run("not (a and b)", {{"a", T}, {"b", U}}), U);
  EXPECT_EQ(run("", {}), F);  // pytest: the empty expression is False
}

TEST(Expr, KwargsAreRecorded) {
  auto e = Expression::parse("m(a=1, b='x y')");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->uses_kwargs());
  EXPECT_EQ(e->root().kwargs.size(), 2u);
  EXPECT_FALSE(Expression::parse("m")->uses_kwargs());
}

TEST(Expr, DeepNestingIsRefusedNotCrashed) {
  std::string s(100000, '(');
  EXPECT_EQ(Expression::parse(s + "a" + std::string(100000, ')')), nullptr);
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_EQ(Expression::parse(nots + "a"), nullptr);
}
