// Finds the files pytest could import under the collection roots: test
// modules matching python_files, and every conftest.py on the way.
// It only has to be a superset-or-subset-safe guess: a file it misses is never
// skipped (pytest imports it as usual), a file it adds that pytest would not
// collect is harmless.
#pragma once

#include <string>
#include <vector>

namespace fc {

struct WalkConfig {
  std::string rootdir;
  std::vector<std::string> roots;  // absolute paths (dirs or files)
  std::vector<std::string> python_files;
  std::vector<std::string> norecursedirs;
};

struct WalkResult {
  std::vector<std::string> tests;      // candidate test modules
  std::vector<std::string> conftests;  // conftest.py files below and above the roots (up to rootdir)
};

WalkResult walk(const WalkConfig& cfg);

}  // namespace fc
