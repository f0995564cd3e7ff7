// Where a test module is decided: skip or import.
//
// One Decider per scan owns the decision order; the first step that applies
// decides:
//   1. cached        an earlier run with the same query decided this content
//                    under the same conftest chain (decisions.h);
//   2. learned       the items pytest built for the module, recorded under a
//                    learned generation that still holds: exact (learned.h);
//   3. conftest-or-plugin effect
//                    a conftest or an installed plugin acts on every item of
//                    the session in a way the static model cannot see: import
//                    (the reason names the module's own change of process
//                    state instead, if its facts show one: never recorded);
//   4. static model  the module's facts under its conftests (model.h).
// Then modules that learned records link (they share objects) are decided as
// a group: a skipped member of a group with an imported one is imported
// (5. collected together).
//
// The Decider also owns the query fingerprint (what a decision depends on
// besides the module and its conftests) and the decision cache's reading and
// writing. The scan (scan.cpp) only loads what the Decider asks for.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "decisions.h"
#include "facts.h"
#include "index.h"
#include "learned.h"
#include "model.h"

namespace fc {

struct ScanConfig;
class Resolver;

// The step of the decision order that decided a module.
enum class Step : uint8_t { Cached, Learned, GlobalEffect, StaticModel, CollectedTogether };

// As --fast-collect-explain prints it: "cached", "learned",
// "conftest-or-plugin effect", "static model", "collected together".
const char* step_name(Step s);

struct FileDecision {
  std::string path;
  bool skip = false;
  std::string reason;
  uint64_t hash = 0;  // content hash seen by this scan (0 if unreadable)
  // Imported because items learned under the current key may match: the
  // learned record stays valid, and recording the module again is not needed.
  bool learned_current = false;
  Step step = Step::StaticModel;
  // The decision used resolution of imported names (which depends on
  // sys.path and typing.TYPE_CHECKING as they were when deciding).
  bool resolved = false;
  // Imports a module besides pytest, typing and __future__ (a decision
  // that is not the static model's: taken to).
  bool imports = true;
};

// A conftest.py of the session, as loaded by the scan.
struct ConftestFile {
  const std::string* path = nullptr;
  uint64_t hash = 0;
  bool hash_known = false;
  const FileFacts* facts = nullptr;  // must outlive the Decider's decisions
};

// One test module, as far as it has been loaded.
struct ModuleCase {
  uint64_t hash = 0;
  bool hash_known = false;
  // A learned record of the generation in use whose dependencies still hold.
  const LearnedFile* learned = nullptr;
  // Facts: needed only when steps 1-2 do not apply (see needs_facts).
  const FileFacts* facts = nullptr;
};

class Decider {
 public:
  explicit Decider(const ScanConfig& cfg);
  // Non-empty: the filter is not understood and nothing may be decided.
  const std::string& error() const { return error_; }
  bool filtering() const { return filtering_; }
  // Can the filter select this learned item (read while its record is)?
  bool may_select(const ItemView& item) const;

  // The conftests (before any module is decided): their fingerprints, their
  // scopes, and their effects on every module.
  void set_conftests(std::vector<ConftestFile> conftests);
  uint64_t conftest_fp() const { return conftest_fp_; }
  // Which conftests the session has (paths only): part of a learned generation's key.
  uint64_t conftest_set_fp() const { return conftest_set_fp_; }
  // Conftests whose import may change something outside their directory:
  // path -> (reason, may decide which files below it are collected).
  const std::map<std::string, std::pair<std::string, bool>>& conftest_effects() const { return conftest_effects_; }
  // The others: the modules their import statements name (model.h conftest_imports).
  const std::map<std::string, std::vector<std::string>>& conftest_imports() const { return conftest_imports_; }

  // Resolution of imported names for the static model (null: every imported
  // name is Unknown); `env_fp` fingerprints where it looks (part of the query).
  // Before set_conftests.
  void set_resolver(Resolver* resolver, uint64_t env_fp) {
    resolver_ = resolver;
    resolve_fp_ = env_fp;
  }

  // The query, once the learned generation in use is known (null: none),
  // and the decisions cached for it (reader may be null: no cache).
  void set_query(const Generation* generation, const Index::Reader* reader);

  // Prepares the slots of `paths` (the test modules, in scan order).
  void set_modules(const std::vector<std::string>* paths);

  // Step 1 without facts: does a cached decision apply to module k with this content?
  bool cached(size_t k, uint64_t hash, bool hash_known) const;
  // Does step 2 leave module k to steps 3-4 (the static model, or a global
  // effect that still names the module's own process-state change: facts)?
  bool needs_facts(size_t k, const ModuleCase& m) const;
  // Decides module k, in the order above (thread-safe across different k).
  void decide(size_t k, const ModuleCase& m);

  // Step 5, after every module is decided; `learned[k]`: module k's learned
  // record of the generation in use, valid or not (null: none).
  void collect_together(const std::vector<const LearnedFile*>& learned);
  // A module imported because it changes process state at import (sys.path,
  // the environment), or what other modules read when learned, may run
  // before any other: a skip that resolved imported names assumed the state
  // as it is now, so those modules are imported too.
  void import_after_state_changers();

  // The decision cache's writes (this query's decisions, the recent queries).
  void cache_writes(bool have_index, std::vector<std::pair<std::string, std::string>>& writes,
                    std::vector<std::string>& evict) const;

  std::vector<FileDecision> take_decisions() { return std::move(files_); }
  uint64_t cached_count() const { return cached_count_; }
  uint64_t learned_count() const { return learned_count_; }
  double decide_ms() const { return decide_ns_ / 1e6; }

 private:
  const CachedDecision* cache_entry(size_t k) const;
  void import_linked(size_t k, std::string why, std::vector<size_t>& todo);
  std::string newcomer() const;
  void follow_links(const std::vector<const LearnedFile*>& learned, const std::map<std::string, size_t>& at,
                    const std::map<std::string, std::vector<size_t>>& changers_of, std::vector<size_t>& todo);
  const ConftestScope& scope_of(const std::string& dir);
  uint64_t scope_fp_of(const std::string& dir);
  bool parent_in_scope(const std::string& dir) const;

  const ScanConfig& cfg_;
  std::string error_;
  std::vector<char> changer_;  // per module: learned to change what other modules read
  const std::vector<std::string>* known_ = nullptr;  // the generation's Generation::known
  bool filtering_ = false;
  Filter filter_;
  ModelConfig mc_;

  // Conftests: by directory; the fingerprint of each directory's chain, the
  // folded scope of each directory (map nodes never move), the base scope.
  std::vector<ConftestFile> conftests_;
  std::map<std::string, size_t> conftest_at_;
  std::map<std::string, uint64_t> chain_fp_;
  std::map<std::string, ConftestScope> scopes_;
  std::map<std::string, Probes> scope_read_;  // what resolving each scope's conftest imports read
  std::mutex scopes_mutex_;
  Resolver* resolver_ = nullptr;
  uint64_t resolve_fp_ = 0;
  ConftestScope base_;
  uint64_t conftest_fp_ = 0;
  uint64_t conftest_set_fp_ = 0;
  std::string global_unknown_;  // step 3's reason; empty: none
  std::map<std::string, std::pair<std::string, bool>> conftest_effects_;
  std::map<std::string, std::vector<std::string>> conftest_imports_;

  uint64_t query_ = 0;
  DecisionSet cache_;
  bool have_cache_ = false;
  std::vector<char> probe_ok_;  // per cache_.probes: still reads the same
  std::vector<uint64_t> recent_;

  const std::vector<std::string>* paths_ = nullptr;
  std::vector<FileDecision> files_;
  std::vector<Probes> read_;         // per module: what its decision read (probes)
  std::vector<const std::vector<uint32_t>*> read_cached_;  // or, cached: indices into cache_.probes
  std::vector<uint64_t> module_fp_;  // conftest chain of each module
  std::vector<char> hash_known_;
  std::vector<char> grouped_;  // decided with other modules: not cached

  std::atomic<bool> fresh_{false};  // some decision was not taken from the cache
  std::atomic<uint64_t> cached_count_{0}, learned_count_{0};
  std::atomic<int64_t> decide_ns_{0};
};

}  // namespace fc
