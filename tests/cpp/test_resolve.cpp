// Resolution of imported names over a small tree of files, the import facts
// it needs, and the decision cache's probes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "decisions.h"
#include "extract.h"
#include "facts.h"
#include "grammar.h"
#include "index.h"
#include "resolve.h"

using namespace fc;

namespace {

class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/fc_resolve_XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    root_ = d ? d : "";
  }
  ~TempTree() {
    if (!root_.empty()) (void)!std::system(("rm -rf '" + root_ + "'").c_str());
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const std::string& root() const { return root_; }
  void write(const std::string& rel, const std::string& text) const {
    const std::string path = root_ + "/" + rel;
    for (size_t i = root_.size() + 1; i < path.size(); ++i)
      if (path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
    std::ofstream(path) << text;
  }

 private:
  std::string root_;
};

Import from_import(const std::string& module, const std::string& name, uint32_t level = 0) {
  Import imp;
  imp.from = true;
  imp.path = module;
  imp.module = level ? "" : module.substr(0, module.find('.'));
  imp.level = level;
  imp.name = name;
  imp.bound = name;
  return imp;
}

struct ResolveTree : ::testing::Test {
  TempTree t;
  std::unique_ptr<Resolver> r;
  void SetUp() override {
    t.write("proj/__init__.py", "from .core import helper, Table\nfrom proj.fx import pfx\nsub = 1\n");
    t.write("proj/core.py", "import functools\nLIMIT = [1, 2]\ndef helper():\n    pass\nclass Table:\n    pass\n"
                            "@functools.lru_cache\ndef cached():\n    pass\nvalue = make()\n");
    t.write("proj/fx.py", "import pytest\n@pytest.fixture(params=[1, 2], autouse=True, name='renamed')\n"
                          "def pfx(request):\n    pass\n@pytest.fixture\ndef plain(tmp_path):\n    pass\n");
    t.write("proj/sub.py", "X = 1\n");
    t.write("proj/lazy.py", "def __getattr__(name):\n    return 1\ndef known():\n    pass\n");
    t.write("proj/star.py", "from proj.fx import *\n");
    t.write("tests/__init__.py", "");
    t.write("tests/helpers.py", "from proj import helper\n");
    ResolveEnv env;
    env.search = {{t.root() + "/site", true}, {t.root(), true}};
    env.basedirs = {t.root()};
    env.stdlib = {"functools", "typing", "unittest", "os"};
    r = std::make_unique<Resolver>(std::move(env), nullptr, tree_sitter_python(), 0, 0);
  }
  ImportedName resolve(const Import& imp, Probes* read = nullptr) {
    Probes mine;
    ImportedName out = r->resolve(t.root() + "/tests/test_x.py", imp, read ? *read : mine);
    return out;
  }
};

}  // namespace

TEST(ResolveFacts, ImportsCarryWhereTheyComeFrom) {
  Extractor ex(tree_sitter_python());
  FileFacts f = ex.extract(
      "from ..a.b import c as d\nfrom . import e\nimport x.y\nfrom typing import TYPE_CHECKING\n"
      "if TYPE_CHECKING:\n    from z import T\ntry:\n    from w import v\nexcept ImportError:\n    v = None\n"
      "LIT = [1]\nCALL = f()\ndef g():\n    global late\n    late = 1\n");
  ASSERT_EQ(f.imports.size(), 6u);
  EXPECT_EQ(f.imports[0].path, "a.b");
  EXPECT_EQ(f.imports[0].level, 2u);
  EXPECT_EQ(f.imports[0].name, "c");
  EXPECT_EQ(f.imports[0].bound, "d");
  EXPECT_EQ(f.imports[1].path, "");
  EXPECT_EQ(f.imports[1].level, 1u);
  EXPECT_EQ(f.imports[2].path, "x.y");
  EXPECT_FALSE(f.imports[2].from);
  EXPECT_EQ(f.imports[4].type_checking, 1);
  EXPECT_TRUE(f.imports[5].conditional);
  EXPECT_EQ(f.imports[5].type_checking, 0);
  bool lit = false, call = true, late = false;
  for (const auto& b : f.bound) {
    if (b.name == "LIT") lit = b.literal;
    if (b.name == "CALL") call = b.literal;
    if (b.name == "late") late = true;
  }
  EXPECT_TRUE(lit);
  EXPECT_FALSE(call);
  EXPECT_TRUE(late);
  EXPECT_FALSE(import_runs(f, f.imports[4]));
  EXPECT_TRUE(import_runs(f, f.imports[5]));
  std::string enc = encode_facts(f);
  FileFacts back;
  ASSERT_TRUE(decode_facts(enc.data(), enc.size(), back));
  EXPECT_EQ(encode_facts(back), enc);
}

TEST_F(ResolveTree, NotFixtures) {
  EXPECT_EQ(resolve(from_import("proj.core", "helper")).kind, ImportedName::NotFixture);
  EXPECT_EQ(resolve(from_import("proj.core", "Table")).kind, ImportedName::NotFixture);
  EXPECT_EQ(resolve(from_import("proj.core", "LIMIT")).kind, ImportedName::NotFixture);
  EXPECT_EQ(resolve(from_import("proj.core", "cached")).kind, ImportedName::NotFixture);
  EXPECT_EQ(resolve(from_import("proj", "helper")).kind, ImportedName::NotFixture);  // re-export
  EXPECT_EQ(resolve(from_import("proj", "core")).kind, ImportedName::NotFixture);    // submodule
  EXPECT_EQ(resolve(from_import("helpers", "helper", 1)).kind, ImportedName::NotFixture);  // relative
  EXPECT_EQ(resolve(from_import("proj.lazy", "known")).kind, ImportedName::NotFixture);
}

TEST_F(ResolveTree, Fixtures) {
  ImportedName a = resolve(from_import("proj", "pfx"));
  ASSERT_EQ(a.kind, ImportedName::Fixture);
  EXPECT_TRUE(a.info.has_params);
  EXPECT_TRUE(a.autouse);
  EXPECT_EQ(a.name, "renamed");
  ImportedName b = resolve(from_import("proj.fx", "plain"));
  ASSERT_EQ(b.kind, ImportedName::Fixture);
  EXPECT_FALSE(b.info.has_params);
  EXPECT_EQ(b.info.deps, std::vector<std::string>{"tmp_path"});
  EXPECT_EQ(resolve(from_import("proj.star", "plain")).kind, ImportedName::Fixture);  // through a star import
}

TEST_F(ResolveTree, Unknowns) {
  EXPECT_EQ(resolve(from_import("proj.core", "value")).kind, ImportedName::Unknown);      // from a call
  EXPECT_EQ(resolve(from_import("proj", "sub")).kind, ImportedName::NotFixture);          // 1 or a module
  EXPECT_EQ(resolve(from_import("proj.lazy", "other")).kind, ImportedName::Unknown);      // module __getattr__
  EXPECT_EQ(resolve(from_import("nowhere", "x")).kind, ImportedName::Unknown);            // not found
  EXPECT_EQ(resolve(from_import("proj.core", "absent")).kind, ImportedName::Unknown);     // not bound
  EXPECT_EQ(resolve(from_import("helpers", "x", 3)).kind, ImportedName::Unknown);        // beyond the top
}

TEST_F(ResolveTree, ProbesRecordLookupsThatFoundNothing) {
  Probes read;
  ASSERT_EQ(resolve(from_import("proj.core", "helper"), &read).kind, ImportedName::NotFixture);
  bool site = false, core = false;
  for (const auto& p : read) {
    if (p.entries && p.path == t.root() + "/site" && p.name == "proj") site = true;
    if (!p.entries && p.path == t.root() + "/proj/core.py") core = true;
  }
  EXPECT_TRUE(site) << "the empty sys.path entry before the hit is a probe";
  EXPECT_TRUE(core);
  ProbeReader again(nullptr, 0, 0);
  for (const auto& p : read) EXPECT_TRUE(again.holds(p)) << p.path << " " << p.name;
  t.write("site/proj.py", "def helper():\n    pass\n");  // now found first
  ProbeReader after(nullptr, 0, 0);
  bool changed = false;
  for (const auto& p : read) changed = changed || !after.holds(p);
  EXPECT_TRUE(changed);
}

TEST_F(ResolveTree, SeveralPlacesAreUnknown) {
  t.write("other/proj/__init__.py", "");
  ResolveEnv env;
  env.search = {{t.root(), true}};
  env.basedirs = {t.root() + "/other"};
  Resolver two(std::move(env), nullptr, tree_sitter_python(), 0, 0);
  Probes read;
  EXPECT_EQ(two.resolve(t.root() + "/tests/test_x.py", from_import("proj.core", "helper"), read).kind,
            ImportedName::Unknown);
}

TEST(ResolveCache, DecisionsKeepTheirProbes) {
  DecisionSet d;
  d.query = 7;
  d.probes = {Probe{false, "/a.py", "", 11}, Probe{true, "/dir", "mod", 12}};
  d.by_path["/t.py"] = CachedDecision{1, 2, true, "no item can match", {0, 1}};
  const std::string enc = encode_decisions(d);
  DecisionSet back;
  ASSERT_TRUE(decode_decisions(enc, 7, back));
  ASSERT_EQ(back.probes.size(), 2u);
  EXPECT_EQ(back.probes[1].name, "mod");
  EXPECT_EQ(back.by_path["/t.py"].probes, (std::vector<uint32_t>{0, 1}));
  DecisionSet bad = d;
  bad.by_path["/t.py"].probes = {5};  // out of range
  const std::string enc2 = encode_decisions(bad);
  EXPECT_FALSE(decode_decisions(enc2, 7, back));
}
