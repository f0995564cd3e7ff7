// Learned records: the generations list and each module's set of records
// (one per kept generation), their codecs, and what a damaged value gives.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <stdlib.h>
#include <unistd.h>
#include <vector>

#include "learned.h"

using namespace fc;

namespace {

Generation gen(uint64_t id) {
  Generation g;
  g.id = id;
  g.version = id + 1;
  g.session_key = 7;
  g.conftest_fp = 9;
  g.inputs = {{"env:HOME", 11}, {"opt:runslow", 12}};
  DepFile whole;
  whole.path = "/p/data.json";
  whole.content_hash = 13;
  DepFile surfaced;
  surfaced.path = "/p/helpers.py";
  surfaced.content_hash = 14;
  surfaced.whole = false;
  surfaced.ran = {"Table.parse", "cases"};
  surfaced.surface = 15;
  g.deps = {whole, surfaced};
  return g;
}

LearnedFile record(uint64_t generation, const std::string& kw) {
  LearnedFile f;
  f.generation = generation;
  f.content_hash = 42;
  f.items = {LearnedItem{{kw, "test_a.py"}, {"slow"}}};
  f.deps = {{"/p/tests/test_b.py", 7}};
  f.readers = {"/p/tests/test_c.py", "/p/tests/test_d.py"};
  return f;
}

}  // namespace

TEST(Learned, GenerationsRoundTrip) {
  std::vector<Generation> in{gen(1), gen(2)};
  std::string blob = encode_generations(in);
  std::vector<Generation> out;
  ASSERT_TRUE(decode_generations(blob.data(), blob.size(), out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].id, 2u);
  EXPECT_EQ(out[0].inputs, in[0].inputs);
  EXPECT_EQ(out[0].deps, in[0].deps);
}

TEST(Learned, FindsTheRecordOfOneGeneration) {
  LearnedSet set{{5, encode_learned(record(5, "test_five"))}, {8, encode_learned(record(8, "test_eight"))}};
  std::string blob = encode_learned_set(set);
  LearnedFile f;
  ASSERT_TRUE(find_learned(blob.data(), blob.size(), 8, f));
  EXPECT_EQ(f.items.at(0).keywords.at(0), "test_eight");
  EXPECT_EQ(f.deps, record(8, "").deps);
  EXPECT_EQ(f.readers, record(8, "").readers);
  ASSERT_TRUE(find_learned(blob.data(), blob.size(), 5, f));
  EXPECT_EQ(f.items.at(0).keywords.at(0), "test_five");
  EXPECT_FALSE(find_learned(blob.data(), blob.size(), 6, f));
  // A record filed under another generation than it says is not used.
  LearnedSet lying{{3, encode_learned(record(4, "x"))}};
  blob = encode_learned_set(lying);
  EXPECT_FALSE(find_learned(blob.data(), blob.size(), 3, f));
}

TEST(Learned, ItemsCanBeReadAsViewsUntilTheVisitorStops) {
  LearnedFile many = record(5, "test_one");
  many.items.push_back(LearnedItem{{"test_two", "test_a.py"}, {}});
  many.items.push_back(LearnedItem{{"test_three"}, {"slow", "db"}});
  const std::string blob = encode_learned_set({{5, encode_learned(many)}});
  std::vector<std::vector<std::string>> seen;
  size_t wanted = 3;
  const ItemVisitor visit = [&](const ItemView& item) {
    std::vector<std::string> all(item.keywords.begin(), item.keywords.end());
    all.insert(all.end(), item.marks.begin(), item.marks.end());
    seen.push_back(all);
    return seen.size() < wanted;
  };
  LearnedFile f;
  ASSERT_TRUE(find_learned(blob.data(), blob.size(), 5, f, &visit));
  EXPECT_TRUE(f.items.empty());
  EXPECT_EQ(f.deps, many.deps);
  EXPECT_EQ(f.readers, many.readers);
  EXPECT_EQ(f.content_hash, 42u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::vector<std::string>{"test_one", "test_a.py", "slow"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"test_three", "slow", "db"}));
  seen.clear();
  wanted = 1;  // stops after the first item
  ASSERT_TRUE(find_learned(blob.data(), blob.size(), 5, f, &visit));
  EXPECT_EQ(seen.size(), 1u);
  // A damaged set is still refused when items are only visited.
  for (size_t cut = 0; cut < blob.size(); ++cut) EXPECT_FALSE(find_learned(blob.data(), cut, 5, f, &visit)) << cut;
}

TEST(Learned, DamagedValuesAreRejected) {
  LearnedSet set{{5, encode_learned(record(5, "test_five"))}};
  const std::string good = encode_learned_set(set);
  const std::string gens = encode_generations({gen(1)});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    LearnedFile f;
    LearnedSet s;
    EXPECT_FALSE(find_learned(good.data(), cut, 5, f) && decode_learned_set(good.data(), cut, s)) << cut;
  }
  for (size_t cut = 0; cut < gens.size(); ++cut) {
    std::vector<Generation> out;
    EXPECT_FALSE(decode_generations(gens.data(), cut, out)) << cut;
  }
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;
  LearnedFile f;
  EXPECT_FALSE(find_learned(flipped.data(), flipped.size(), 5, f));
}

TEST(Learned, InputValues) {
  InputSnapshot snap{{"env:A", "1"}, {"opt:x", "bool:True"}};
  EXPECT_EQ(input_value_hash(snap, "env:A"), input_value_hash(InputSnapshot{{"env:A", "1"}}, "env:A"));
  EXPECT_NE(input_value_hash(snap, "env:A"), input_value_hash(InputSnapshot{{"env:A", "2"}}, "env:A"));
  // Unset differs from every value, the empty string included.
  EXPECT_NE(input_value_hash(snap, "env:B"), input_value_hash(InputSnapshot{{"env:B", ""}}, "env:B"));
}

TEST(Learned, DirectoryListingsAreInputs) {
  char tmpl[] = "/tmp/fc-listing-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const InputSnapshot none;
  const uint64_t empty = input_hash(none, "dir:" + dir);
  EXPECT_EQ(empty, input_hash(none, "dir:" + dir));
  { std::ofstream(dir + "/a.py") << "x = 1\n"; }
  const uint64_t one = input_hash(none, "dir:" + dir);
  EXPECT_NE(empty, one);
  { std::ofstream(dir + "/a.py") << "x = 2\n"; }  // a file's content is not its directory's listing
  EXPECT_EQ(one, input_hash(none, "dir:" + dir));
  std::remove((dir + "/a.py").c_str());
  EXPECT_EQ(empty, input_hash(none, "dir:" + dir));
  ::rmdir(dir.c_str());
  EXPECT_NE(empty, input_hash(none, "dir:" + dir));  // missing
}

// With no generation holding, the reason given is that of the one that held
// furthest: a generation learned with this session's inputs whose dependency
// changed, not the newest one, learned in another environment.
TEST(Learned, TheReasonGivenIsOfTheGenerationThatHeldFurthest) {
  const InputSnapshot now{{"env:MODE", "a"}};
  Generation other_shell = gen(2);
  other_shell.inputs = {{"env:MODE", input_value_hash(InputSnapshot{{"env:MODE", "b"}}, "env:MODE")}};
  other_shell.deps = {};
  Generation this_shell = gen(1);
  this_shell.inputs = {{"env:MODE", input_value_hash(now, "env:MODE")}};
  this_shell.deps.resize(1);  // /p/data.json, which does not exist here
  DepHasher deps(nullptr, 0, 0);
  std::string why;
  const std::vector<Generation> newest_first{other_shell, this_shell};
  EXPECT_EQ(newest_valid_generation(newest_first, 7, 9, now, deps, &why), 2u);
  EXPECT_EQ(why.rfind("dependency /p/data.json", 0), 0u) << why;
  // Among reasons of the same part, the newest generation's.
  Generation older_shell = other_shell;
  older_shell.inputs = {{"env:AAA", 1}};
  EXPECT_EQ(newest_valid_generation({other_shell, older_shell}, 7, 9, now, deps, &why), 2u);
  EXPECT_EQ(why, "environment variable MODE changed");
  // A generation that holds is taken, whatever the others.
  this_shell.deps = {};
  EXPECT_EQ(newest_valid_generation({other_shell, this_shell}, 7, 9, now, deps, &why), 1u);
}
