#include "walk.h"

#include "files.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <memory>
#include <set>
#include <utility>

namespace fc {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// pytest's fnmatch_ex: a pattern without a separator matches the name; one
// with a separator matches the whole path, a relative pattern anywhere below
// the root ("testing/python/*.py" as "*/testing/python/*.py"). A pattern
// this reads differently from Python's fnmatch only lists a file pytest does
// not collect (never imported anyway) or leaves one out (never skipped).
bool any_match(const std::string& name, const std::string& path, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p.find('/') == std::string::npos) {
      if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
      continue;
    }
    const std::string full = p.front() == '/' ? p : "*/" + p;
    if (::fnmatch(full.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

WalkResult walk(const WalkConfig& cfg) {
  WalkResult out;
  std::set<std::string> conftests;
  std::set<std::pair<dev_t, ino_t>> visited;
  std::vector<std::string> stack;

  for (const auto& root : cfg.roots) {
    // conftest.py files in the root's ancestors, up to the confcutdir.
    std::string dir = root;
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) dir = parent_dir(root);
    for (std::string d = dir; !d.empty() && in_confcutdir(d, cfg.confcutdir); d = parent_dir(d)) {
      std::string c = (d == "/" ? "" : d) + "/conftest.py";
      if (is_file(c)) conftests.insert(c);
      if (d == "/") break;
    }
    if (S_ISDIR(st.st_mode)) {
      stack.push_back(root);
    } else if (S_ISREG(st.st_mode)) {
      std::string base = root.substr(root.rfind('/') + 1);
      if (base != "conftest.py" && base != "__init__.py" && any_match(base, root, cfg.python_files))
        out.tests.push_back(root);
    }
  }

  while (!stack.empty()) {
    std::string dir = std::move(stack.back());
    stack.pop_back();
    struct stat dst {};
    if (::stat(dir.c_str(), &dst) != 0) continue;
    if (!visited.insert({dst.st_dev, dst.st_ino}).second) {  // symlink loop or repeat
      out.others.push_back(dir);
      continue;
    }
    DirPtr d(::opendir(dir.c_str()));
    if (!d) continue;
    while (struct dirent* e = ::readdir(d.get())) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string path = (dir == "/" ? "" : dir) + "/" + name;
      unsigned char type = e->d_type;
      if (type == DT_LNK || type == DT_UNKNOWN) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
      if (type == DT_DIR) {
        if (any_match(name, path, cfg.norecursedirs)) continue;
        stack.push_back(path);
      } else if (type == DT_REG) {
        if (name == "conftest.py") {
          conftests.insert(path);
        } else if (any_match(name, path, cfg.python_files)) {
          (name == "__init__.py" ? out.others : out.tests).push_back(path);
        } else if (any_match(name, path, cfg.other_files)) {
          out.others.push_back(path);
        }
      }
    }
  }
  // One found while walking a directory above the confcutdir is not loaded.
  for (const auto& c : conftests)
    if (!cfg.noconftest && in_confcutdir(parent_dir(c), cfg.confcutdir)) out.conftests.push_back(c);
  // Deduplicate tests (a root inside another root).
  std::set<std::string> uniq(out.tests.begin(), out.tests.end());
  out.tests.assign(uniq.begin(), uniq.end());
  return out;
}

}  // namespace fc
