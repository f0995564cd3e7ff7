// The index through the batch scan: what is re-read, re-hashed or re-parsed
// after each kind of change, and what happens to a damaged index.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "grammar.h"
#include "index.h"
#include "scan.h"

using namespace fc;

namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/fc-index-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

ScanConfig config(const TempDir& d, const std::string& keyword = "") {
  ScanConfig c;
  c.rootdir = d.path();
  c.roots = {d.path() + "/tests"};
  c.python_files = {"test_*.py"};
  c.python_classes = {"Test"};
  c.python_functions = {"test"};
  c.norecursedirs = {".*", "cache"};
  c.index_dir = d.path() + "/cache/index";
  c.racy_window_ns = 0;  // tests control timing themselves
  if (!keyword.empty()) {
    c.keyword = keyword;
    c.has_keyword = true;
  }
  return c;
}

void pause_tick() { std::this_thread::sleep_for(std::chrono::milliseconds(25)); }

bool skipped(const ScanResult& r, const std::string& suffix) {
  for (const auto& f : r.files)
    if (f.path.size() >= suffix.size() && f.path.compare(f.path.size() - suffix.size(), suffix.size(), suffix) == 0)
      return f.skip;
  ADD_FAILURE() << "no decision for " << suffix;
  return false;
}

struct Fixture : ::testing::Test {
  TempDir dir;
  void SetUp() override {
    ::mkdir((dir.path() + "/tests").c_str(), 0777);
    write(dir.path() + "/tests/test_a.py", "def test_alpha():\n    pass\n");
    write(dir.path() + "/tests/test_b.py", "def test_beta():\n    pass\n");
  }
  ScanResult scan(const std::string& k = "") { return fc::scan(tree_sitter_python(), config(dir, k)); }
};

}  // namespace

TEST_F(Fixture, ColdThenWarm) {
  auto cold = scan("alpha");
  EXPECT_TRUE(cold.error.empty()) << cold.error;
  EXPECT_EQ(cold.stats.parsed, 2u);
  EXPECT_EQ(cold.stats.written, 2u);
  EXPECT_FALSE(skipped(cold, "test_a.py"));
  EXPECT_TRUE(skipped(cold, "test_b.py"));
  auto warm = scan("alpha");
  EXPECT_EQ(warm.stats.parsed, 0u);
  EXPECT_EQ(warm.stats.from_index, 2u);
  EXPECT_EQ(warm.stats.written, 0u);
  EXPECT_TRUE(skipped(warm, "test_b.py"));
}

TEST_F(Fixture, ChangedFileIsReparsed) {
  scan();
  pause_tick();
  write(dir.path() + "/tests/test_b.py", "def test_beta():\n    pass\ndef test_alpha2(): pass\n");
  auto r = scan("alpha");
  EXPECT_EQ(r.stats.parsed, 1u);
  EXPECT_FALSE(skipped(r, "test_b.py"));
}

TEST_F(Fixture, SameSizeEditWithMtimeRestoredIsReparsed) {
  std::string path = dir.path() + "/tests/test_b.py";
  scan();
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  pause_tick();
  write(path, "def test_alph():\n    pass\n");
  struct stat mid {};
  ASSERT_EQ(::stat(path.c_str(), &mid), 0);
  ASSERT_EQ(mid.st_size, before.st_size);
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  auto r = scan("alph");
  EXPECT_EQ(r.stats.parsed, 1u);
  EXPECT_FALSE(skipped(r, "test_b.py"));
}

TEST_F(Fixture, TouchWithoutChangeIsRehashedNotReparsed) {
  scan();
  pause_tick();
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() + "/tests/test_a.py").c_str(), nullptr, 0), 0);
  auto r = scan();
  EXPECT_EQ(r.stats.parsed, 0u);
  EXPECT_EQ(r.stats.rehashed, 1u);
  EXPECT_EQ(r.stats.written, 1u);
  auto again = scan();
  EXPECT_EQ(again.stats.from_index, 2u);
}

TEST_F(Fixture, DeletedAndRenamedFiles) {
  scan();
  ASSERT_EQ(::unlink((dir.path() + "/tests/test_a.py").c_str()), 0);
  ASSERT_EQ(::rename((dir.path() + "/tests/test_b.py").c_str(), (dir.path() + "/tests/test_c.py").c_str()), 0);
  auto r = scan("beta");
  EXPECT_EQ(r.stats.files, 1u);
  EXPECT_EQ(r.stats.parsed, 1u);
  EXPECT_FALSE(skipped(r, "test_c.py"));
}

TEST_F(Fixture, SchemaBumpDropsRecords) {
  scan();
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_open(env, (dir.path() + "/cache/index").c_str(), 0, 0664), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    std::string key = "\x01schema", val = "fastcollect-index:0";
    MDB_val k{key.size(), key.data()}, v{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto r = scan();
  EXPECT_EQ(r.stats.parsed, 2u);
}

TEST_F(Fixture, GarbageIndexIsRebuiltWithOneWarning) {
  scan();
  std::string data = dir.path() + "/cache/index/data.mdb";
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  write(data, std::string(static_cast<size_t>(st.st_size), '\x5a'));
  auto r = scan("alpha");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("rebuilt"), std::string::npos);
  EXPECT_EQ(r.stats.parsed, 2u);
  EXPECT_TRUE(skipped(r, "test_b.py"));
  EXPECT_TRUE(scan("alpha").warnings.empty());
}

TEST_F(Fixture, TruncatedIndexIsRebuilt) {
  scan();
  ASSERT_EQ(::truncate((dir.path() + "/cache/index/data.mdb").c_str(), 100), 0);
  auto r = scan("alpha");
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(skipped(r, "test_b.py"));
}

TEST_F(Fixture, UnusableIndexDirStillDecides) {
  auto c = config(dir, "alpha");
  c.index_dir = "/proc/fastcollect-cannot-exist/index";
  auto r = fc::scan(tree_sitter_python(), c);
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(skipped(r, "test_b.py"));
}

TEST_F(Fixture, ConcurrentProcessesShareOneFreshIndex) {
  for (int i = 0; i < 40; ++i)
    write(dir.path() + "/tests/test_m" + std::to_string(i) + ".py", "def test_m" + std::to_string(i) + "(): pass\n");
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = fc::scan(tree_sitter_python(), config(dir, "m7"));
      bool ok = r.error.empty() && r.warnings.empty() && r.files.size() == 42;
      for (const auto& f : r.files) {
        bool want_import = f.path.find("test_m7.py") != std::string::npos;
        ok = ok && (f.skip != want_import);
      }
      ::_exit(ok ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto r = scan("m7");
  EXPECT_EQ(r.stats.parsed, 0u);
  EXPECT_EQ(r.stats.from_index, 42u);
}

TEST_F(Fixture, DecisionsAreCachedPerQueryAndInvalidatedByAnyInput) {
  write(dir.path() + "/tests/conftest.py", "import pytest\n");
  auto first = scan("alpha");
  EXPECT_EQ(first.stats.cached_decisions, 0u);
  auto again = scan("alpha");
  EXPECT_EQ(again.stats.cached_decisions, 2u);
  EXPECT_TRUE(skipped(again, "test_b.py"));
  EXPECT_FALSE(skipped(again, "test_a.py"));
  // Another query: decided afresh.
  EXPECT_EQ(scan("beta").stats.cached_decisions, 0u);
  EXPECT_EQ(scan("alpha").stats.cached_decisions, 2u);
  // A conftest change reaches every module below it.
  pause_tick();
  write(dir.path() + "/tests/conftest.py",
        "import pytest\n@pytest.fixture(autouse=True, params=['alpha1'])\ndef f(request): pass\n");
  auto after_conftest = scan("alpha");
  EXPECT_EQ(after_conftest.stats.cached_decisions, 0u);
  EXPECT_FALSE(skipped(after_conftest, "test_b.py"));  // the autouse fixture may add 'alpha1' ids
  // A module change reaches that module only.
  scan("beta");
  pause_tick();
  write(dir.path() + "/tests/test_a.py", "def test_gamma():\n    pass\n");
  auto after_edit = scan("beta");
  EXPECT_EQ(after_edit.stats.cached_decisions, 1u);
}

TEST_F(Fixture, OnlyRecentQueriesAreKept) {
  for (int i = 0; i < 12; ++i) scan("q" + std::to_string(i));
  EXPECT_EQ(scan("q11").stats.cached_decisions, 2u);
  EXPECT_EQ(scan("q4").stats.cached_decisions, 2u);
  EXPECT_EQ(scan("q0").stats.cached_decisions, 0u);  // evicted
}

TEST_F(Fixture, KilledWhileWritingLeavesAUsableIndex) {
  for (int i = 0; i < 300; ++i)
    write(dir.path() + "/tests/test_k" + std::to_string(i) + ".py",
          "def test_k" + std::to_string(i) + "(): pass\n" + std::string(2000, '#') + "\n");
  for (int round = 0; round < 5; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Rewrite every record again and again until killed.
      for (;;) {
        std::error_code ec;  // in this process: a shell's rm would outlive the kill
        std::filesystem::remove_all(dir.path() + "/cache/index", ec);
        fc::scan(tree_sitter_python(), config(dir, "k7"));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + 37 * round));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    auto r = scan("k7");
    EXPECT_TRUE(r.error.empty());
    EXPECT_LE(r.warnings.size(), 1u) << (r.warnings.empty() ? "" : r.warnings[0]);
    size_t imported = 0;
    for (const auto& f : r.files) imported += f.skip ? 0 : 1;
    EXPECT_EQ(imported, 11u);  // test_k7.py and test_k70..79.py
    for (const auto& w : r.warnings) ADD_FAILURE() << "warning: " << w;
    EXPECT_FALSE(skipped(r, "test_k7.py"));
    EXPECT_EQ(scan("k7").stats.parsed, 0u);  // and the index works again
  }
}

TEST_F(Fixture, FullMapGrows) {
  for (int i = 0; i < 400; ++i)
    write(dir.path() + "/tests/test_g" + std::to_string(i) + ".py",
          "def test_g" + std::to_string(i) + "(): pass\n" + std::string(3000, '#') + "\n");
  auto c = config(dir, "g7");
  c.initial_map_bytes = 64 * 1024;  // far too small for 400 records
  auto r = fc::scan(tree_sitter_python(), c);
  for (const auto& w : r.warnings) ADD_FAILURE() << "warning: " << w;
  EXPECT_EQ(r.stats.written, 402u);  // 400 + the fixture's two modules
  auto again = fc::scan(tree_sitter_python(), c);
  EXPECT_EQ(again.stats.parsed, 0u);
  EXPECT_EQ(again.stats.cached_decisions, 402u);
}

TEST_F(Fixture, DecisionsNameTheirStep) {
  auto cold = scan("alpha");
  ASSERT_EQ(cold.files.size(), 2u);
  for (const auto& f : cold.files) EXPECT_EQ(f.step, Step::StaticModel) << f.path;
  auto warm = scan("alpha");
  EXPECT_EQ(warm.stats.cached_decisions, 2u);
  for (const auto& f : warm.files) EXPECT_EQ(f.step, Step::Cached) << f.path;
  EXPECT_TRUE(skipped(warm, "test_b.py"));
  EXPECT_STREQ(step_name(Step::GlobalEffect), "conftest-or-plugin effect");
}

TEST_F(Fixture, StoredFactsThatDoNotDecodeAreParsedAgain) {
  scan();
  const std::string path = dir.path() + "/tests/test_b.py";
  {
    std::string err, warning;
    auto index = Index::open(dir.path() + "/cache/index", err, warning);
    ASSERT_TRUE(index) << err;
    Record rec;
    {
      Index::Reader reader(*index);
      RecordView old;
      ASSERT_TRUE(reader.get(path, old));
      rec.stat = old.stat;
      rec.hash = old.hash;
    }
    rec.facts = "not facts";  // a sound record (checksum) whose facts do not decode
    ASSERT_TRUE(index->put_many({{path, encode_record(rec)}}, err)) << err;
  }
  auto r = scan("alpha");
  EXPECT_EQ(r.stats.parsed, 1u);
  EXPECT_EQ(r.stats.written, 1u);  // the record is repaired
  EXPECT_TRUE(skipped(r, "test_b.py"));
  auto again = scan("beta");
  EXPECT_EQ(again.stats.parsed, 0u);
  EXPECT_FALSE(skipped(again, "test_b.py"));
}
