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
  std::vector<std::string> roots;  // absolute paths (dirs or files)
  std::vector<std::string> python_files;
  std::vector<std::string> norecursedirs;
  std::string confcutdir;  // pytest loads no conftest.py above it (empty: none is cut)
  bool noconftest = false;  // --noconftest: pytest loads none
  std::vector<std::string> other_files;  // patterns of other files pytest collects (doctest's globs)
};

struct WalkResult {
  std::vector<std::string> tests;      // candidate test modules
  // conftest.py files pytest may load for them: below the roots, and in the
  // roots' ancestors, up to the confcutdir.
  std::vector<std::string> conftests;
  // What pytest may collect below the roots that is no candidate test module:
  // files matching other_files, an __init__.py matching python_files, and a
  // directory reached a second time (a symlink: pytest walks it again). A
  // directory holding one is never skipped as a whole.
  std::vector<std::string> others;
};

WalkResult walk(const WalkConfig& cfg);

}  // namespace fc
