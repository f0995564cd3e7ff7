// The parse arena: what it hands out, gives back and keeps, and that facts do
// not depend on it (a parse that overflows it into malloc gives the same facts).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "arena.h"
#include "extract.h"
#include "facts.h"
#include "grammar.h"

using namespace fc;

TEST(Arena, AllocationsAreAlignedOwnedAndCounted) {
  ParseArena a;
  {
    ParseArena::Activation s(a);
    void* p = a.allocate(3);
    void* q = a.allocate(100);
    ASSERT_NE(p, nullptr);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 16, 0u);
    EXPECT_TRUE(a.owns(p));
    EXPECT_TRUE(a.owns(q));
    int local = 0;
    EXPECT_FALSE(a.owns(&local));
    std::memset(q, 0xab, 100);
    EXPECT_GE(a.used(), 116u);
  }
  EXPECT_EQ(a.used(), 0u);  // the scope's end drops everything
}

TEST(Arena, NewestAllocationGrowsInPlaceAndOthersMove) {
  ParseArena a;
  ParseArena::Activation s(a);
  char* p = static_cast<char*>(a.allocate(16));
  std::memcpy(p, "0123456789abcdef", 16);
  char* grown = static_cast<char*>(a.reallocate(p, 64));
  EXPECT_EQ(grown, p);  // newest: grows where it is
  char* other = static_cast<char*>(a.allocate(8));
  char* moved = static_cast<char*>(a.reallocate(grown, 4096));
  EXPECT_NE(moved, grown);  // no longer newest: copied
  EXPECT_EQ(std::memcmp(moved, "0123456789abcdef", 16), 0);
  size_t before = a.used();
  a.release(other);  // not the newest: kept until the scope ends
  EXPECT_EQ(a.used(), before);
  a.release(moved);  // the newest: given back at once
  EXPECT_LT(a.used(), before);
}

TEST(Arena, CapSpillsAndLargeRequestsGetTheirOwnBlock) {
  ParseArena a(4096);
  ParseArena::Activation s(a);
  EXPECT_NE(a.allocate(1000), nullptr);
  EXPECT_FALSE(a.spilled());
  EXPECT_EQ(a.allocate(5000), nullptr);  // over the cap: the caller uses malloc
  EXPECT_TRUE(a.spilled());
  EXPECT_EQ(a.allocate(8), nullptr);  // and keeps using it for this parse

  ParseArena big;
  ParseArena::Activation t(big);
  void* p = big.allocate(size_t{3} << 20);  // larger than the first block
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, size_t{3} << 20);
  EXPECT_TRUE(big.owns(p));
}

namespace {

const char* const kSources[] = {
    "import pytest\n\n@pytest.mark.parametrize('x', [1, 2, pytest.param(3, marks=pytest.mark.slow, id='three')])\n"
    "def test_a(x):\n    assert x\n\nclass TestB:\n    pytestmark = [pytest.mark.db]\n    def test_c(self): pass\n",
    "from pytest import fixture, mark\n@fixture(params=[1, 2])\ndef f(request):\n    return request.param\n"
    "@mark.usefixtures('f')\nasync def test_d(): ...\n",
    "def test_broken(:\n    pass\n",
    "x = [i for i in range(3)]\nglobals()['test_x'] = lambda: None\n",
};

}  // namespace

TEST(Arena, FactsAreTheSameWhenAParseSpills) {
  // A long module needs far more than 64 KiB of tree-sitter memory.
  std::string big = "import pytest\n";
  for (int i = 0; i < 400; ++i)
    big += "@pytest.mark.m" + std::to_string(i % 7) + "\ndef test_" + std::to_string(i) + "(a, b=1):\n    assert a\n";
  Extractor roomy(tree_sitter_python());
  Extractor tight(tree_sitter_python(), 64 << 10);
  for (int round = 0; round < 2; ++round) {  // the second round reuses each arena
    for (const char* src : kSources)
      EXPECT_EQ(encode_facts(tight.extract(src)), encode_facts(roomy.extract(src))) << src;
    FileFacts f = tight.extract(big);
    EXPECT_EQ(f.funcs.size(), 400u);
    EXPECT_EQ(encode_facts(f), encode_facts(roomy.extract(big)));
  }
}
