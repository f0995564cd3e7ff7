// Resolution of imported names: where `from X import name` binds `name` from,
// followed through packages, re-exports, chains and star imports over the
// project's files and installed packages, read with the same extractor.
//
// A name is a fixture (with its own params, autouse and name=), surely not a
// fixture (a def without a fixture-making decorator, a class, a module, a
// literal assignment), or Unknown: rebound, a decorated class, a module
// `__getattr__`, a C extension, an assignment from a call, a module that
// cannot be found (meta-path finders such as editable installs are not
// followed) - anything this reading cannot prove.
//
// Where to look follows Python's path finder: sys.path of the running
// interpreter (which holds the `pythonpath` ini option), the modules already
// in sys.modules, and the directories pytest's import modes may put in front
// (the basedir of every test module and conftest); a top-level module found
// in more than one of those places is Unknown, as which one an import picks
// depends on the order of collection.
//
// Every resolution records what it read (Probe): the files by content, and
// the directory entries it looked for, including those that were absent. A
// decision that used a resolution is cached with them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <tree_sitter/api.h>

#include "decisions.h"
#include "facts.h"
#include "index.h"
#include "model.h"

namespace fc {

class Extractor;

void add_probes(Probes& into, const Probes& from);

// Reads probes now (thread-safe, each path read once per instance).
class ProbeReader {
 public:
  ProbeReader(const Index* index, int64_t now_ns, int64_t racy_ns) : index_(index), now_ns_(now_ns), racy_ns_(racy_ns) {}
  // `out` (when given) receives the matching entries: (name, is a directory).
  uint64_t entries(const std::string& dir, const std::string& name,
                   std::vector<std::pair<std::string, bool>>* out = nullptr);
  // Content hash of a file (0: unreadable): from its index record when its stat data proves it unchanged.
  uint64_t file(const std::string& path);
  void remember_file(const std::string& path, uint64_t hash);
  bool holds(const Probe& p) { return (p.entries ? entries(p.path, p.name) : file(p.path)) == p.value; }

 private:
  const std::vector<std::pair<std::string, bool>>& listing(const std::string& dir);
  const Index* index_;
  int64_t now_ns_, racy_ns_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<std::string, bool>>> dirs_;  // sorted (name, is a directory)
  std::map<std::string, uint64_t> files_;
};

// A module already in sys.modules: its file and, for a package, its __path__.
struct LoadedModule {
  std::string file;               // empty: none (namespace package, built-in)
  std::vector<std::string> path;  // __path__
  bool package = false;
};

struct ResolveEnv {
  // sys.path in order: (entry, is a directory). Other entries (zip files)
  // are opaque: a module may be found in them.
  std::vector<std::pair<std::string, bool>> search;
  // Directories an import mode may put in front of sys.path (basedirs).
  std::vector<std::string> basedirs;
  std::map<std::string, LoadedModule> loaded;
  std::set<std::string> stdlib;
  std::string unknown;  // non-empty: nothing resolves (an import hook pytest does not control)
  bool type_checking_set = false;  // typing.TYPE_CHECKING is true: `if TYPE_CHECKING:` imports run
  // Project modules (below one of these: the rootdir, every collection
  // argument's anchor) are read for sys.path changes.
  std::vector<std::string> project_dirs;
  // Live answers (pytest_fastcollect/environment.py LiveObjects): is the
  // value of `name` in the loaded module at `file` surely no fixture and no
  // TestCase? Then true, with the other files that value depends on. Asked
  // for what the source cannot tell (an unknown decorator, a class with bases,
  // a module it cannot read); thread-safe; empty: no answers.
  std::function<bool(const std::string& file, const std::string& name, std::vector<std::string>& deps)> live;
  // Live ids (LiveObjects.value_id): the id pytest gives the value reached
  // from the loaded module at `file` by `attrs` (each through a module), as
  // ValueId; with the files that value depends on. Thread-safe; empty: none.
  std::function<ValueId(const std::string& file, const std::vector<std::string>& attrs,
                        std::vector<std::string>& deps)>
      live_id;
};

// The query-fingerprint part of an environment.
uint64_t env_fingerprint(const ResolveEnv& env);

class Resolver {
 public:
  Resolver(ResolveEnv env, const Index* index, const TSLanguage* lang, int64_t now_ns, int64_t racy_ns);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // What `imp` binds in the module at `importer` (thread-safe); what was read goes to `read`.
  ImportedName resolve(const std::string& importer, const Import& imp, Probes& read);
  // See ImportResolver::value_id.
  ValueId value_id(const std::string& importer, const Import& imp, const std::vector<std::string>& attrs,
                   Probes& read);
  // See ImportResolver::path_changer.
  std::string path_changer(const std::string& importer, const FileFacts& f, Probes& read);
  ProbeReader& probes() { return probes_; }
  const ResolveEnv& env() const { return env_; }
  // Index records of the files parsed for resolution (for the write phase).
  std::vector<std::pair<std::string, std::string>> take_writes();

  struct Module;  // a located module (resolve.cpp)
  struct File;    // a module file's facts
  struct Walk;    // one resolution in progress

 private:
  friend struct Walk;
  std::shared_ptr<const File> load(const std::string& path);

  ResolveEnv env_;
  const Index* index_;
  const TSLanguage* lang_;
  int64_t now_ns_, racy_ns_;
  ProbeReader probes_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const File>> files_;
  std::vector<std::unique_ptr<Extractor>> extractors_;  // idle ones
  std::vector<std::pair<std::string, std::string>> writes_;
  struct Memo;
  std::map<std::string, std::shared_ptr<const Memo>> memo_;
  struct Found;  // a located module and what locating it read
  std::map<std::string, std::shared_ptr<const Found>> found_;
  std::map<std::string, std::unique_ptr<std::vector<std::string>>> live_;  // "file:name" -> deps (null: no answer)
};

// Adapts a Resolver to the model for one module (or conftest), collecting what it read.
class ModuleResolver : public ImportResolver {
 public:
  ModuleResolver(Resolver& r, const std::string& path, Probes& read) : r_(r), path_(path), read_(read) {}
  ImportedName resolve(const Import& imp) override { return r_.resolve(path_, imp, read_); }
  std::string path_changer(const FileFacts& f) override { return r_.path_changer(path_, f, read_); }
  ValueId value_id(const Import& imp, const std::vector<std::string>& attrs) override {
    return r_.value_id(path_, imp, attrs, read_);
  }

 private:
  Resolver& r_;
  const std::string& path_;
  Probes& read_;
};

}  // namespace fc
