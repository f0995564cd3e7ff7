// Prints the decision of every test module under a root for each -k
// expression given, one line each: expression, pass, skip/import, path, reason.
// With an index directory, each expression is scanned twice (the second run
// answers from the index and the decision cache), both printed. Two builds
// that must decide the same are compared by diffing their output:
//   build/cpp/fc_decisions_dump ROOTDIR INDEX_DIR|- EXPR... > a.txt
// (fresh index directories for each build). FC_READ_HOOKS=1 takes every
// conftest's collection hook as read, so that the static model decides under
// them (real suites' conftests otherwise make every module Unknown).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "grammar.h"
#include "scan.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ROOTDIR INDEX_DIR|- EXPR...\n", argv[0]);
    return 2;
  }
  fc::ScanConfig cfg;
  cfg.rootdir = argv[1];
  cfg.roots = {cfg.rootdir};
  cfg.python_files = {"test_*.py", "*_test.py"};
  cfg.python_classes = {"Test"};
  cfg.python_functions = {"test"};
  cfg.norecursedirs = {"*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}"};
  cfg.stdlib = {"abc", "collections", "contextlib", "datetime", "decimal", "functools", "io", "itertools",
                "json", "math", "operator", "os", "pathlib", "pickle", "random", "re", "string", "sys",
                "tempfile", "textwrap", "typing", "unittest", "warnings", "weakref"};
  if (std::string(argv[2]) != "-") cfg.index_dir = argv[2];
  // Every conftest's collection hook taken as read (acting per item, maybe
  // adding marker "slow"), so that the static model decides under them.
  if (std::getenv("FC_READ_HOOKS")) {
    cfg.keyword = "x";
    cfg.has_keyword = true;
    for (const auto& c : fc::scan(tree_sitter_python(), cfg).conftests) cfg.read_hooks[c] = {"slow"};
  }
  cfg.threads = 2;
  for (int a = 3; a < argc; ++a) {
    cfg.keyword = argv[a];
    cfg.has_keyword = true;
    for (int pass = 0; pass < (cfg.index_dir.empty() ? 1 : 2); ++pass) {
      fc::ScanResult r = fc::scan(tree_sitter_python(), cfg);
      if (!r.error.empty()) std::printf("%s\terror\t%s\n", argv[a], r.error.c_str());
      for (const auto& f : r.files)
        std::printf("%s\t%d\t%s\t%s\t%s\n", argv[a], pass, f.skip ? "skip" : "import", f.path.c_str(), f.reason.c_str());
    }
  }
  return 0;
}
