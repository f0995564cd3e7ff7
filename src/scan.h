// The batch entry point, in phases: walk; load the conftests; pick the learned
// generation; load and decide every test module (in parallel, the Decider of
// decide.h decides); decide modules with learned records; write the index.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tree_sitter/api.h>

#include "bindings.h"
#include "decide.h"
#include "files.h"
#include "model.h"
#include "resolve.h"

namespace fc {

struct ScanConfig {
  std::string rootdir;
  std::string confcutdir;  // pytest loads no conftest.py above it (empty: none is cut)
  bool noconftest = false;  // --noconftest
  std::vector<std::string> roots;
  // Per root: the directory pytest collects first for it (a child of the
  // Session); the names of the nodes below it are item keywords. Empty:
  // rootdir for every root.
  std::vector<std::string> anchors;
  std::vector<std::string> python_files, python_classes, python_functions, norecursedirs;
  std::vector<std::string> other_files;  // patterns of other files pytest collects (doctest's globs)
  std::vector<std::string> stdlib;
  // Of those, the ones already imported from the standard library: an import
  // returns the loaded module, so no project file shadows them.
  std::vector<std::string> stdlib_loaded;
  // Fixtures of installed plugins (seen at run time) and autouse names that
  // apply everywhere (plugins, the usefixtures ini option).
  std::map<std::string, FixtureInfo> plugin_fixtures;
  std::vector<std::string> global_autouse;
  // Installed plugins' effects the model can express (environment.py):
  // markers a plugin's hook may add to any item, markers that make a plugin
  // parametrize their item, ids it adds to every test, lazy fixtures.
  std::vector<std::string> global_maybe_marks;
  std::vector<std::string> param_marks;
  std::vector<std::string> repeated_param_marks;
  std::vector<std::string> id_suffixes;
  bool lazy_fixtures = false;
  // Builtins a conftest or plugin replaced (builtins.range = ...): a value
  // naming or calling one has no id the model knows.
  std::vector<std::string> patched_builtins;
  std::string index_dir;  // empty: work without an index
  uint64_t session_key = 0;  // learned facts are used only when this matches theirs (0: never)
  std::map<std::string, std::string> inputs;  // every input's value now (see learned.h)
  // Conftest path -> markers its pytest_collection_modifyitems may add, for
  // the conftests whose hook was read as acting per item (pytest_fastcollect/hooks.py).
  std::map<std::string, std::vector<std::string>> read_hooks;
  // Conftests whose pytest_collection_finish was read as adding no item
  // (hook_phases.AfterReader): it leaves the static model alone.
  std::vector<std::string> read_finish;
  // Conftests already loaded (their module-level code has run): path -> the
  // hooks pytest registered from them (environment.live_conftests).
  std::map<std::string, std::vector<std::string>> live_conftests;
  // Their fixtures and autouse names, as pytest parses them (path -> ...).
  std::map<std::string, std::map<std::string, FixtureInfo>> live_fixtures;
  std::map<std::string, std::vector<std::string>> live_autouse;
  // pytest scopes a conftest's fixtures to its Directory node (9.1+), not to
  // a node ID prefix; and the conftests it scopes to the whole session
  // (the rootdir's, and those above the rootdir it loaded at start-up).
  bool node_scoped_conftests = false;
  std::vector<std::string> session_conftests;
  // Conftests whose pytest_generate_tests parametrizes only items whose
  // fixture closure holds one of these names (hooks.generate_tests_gates).
  std::map<std::string, std::vector<std::string>> generate_gates;
  // Non-empty: something the static model cannot see acts on items (a plugin's
  // collection hook); only learned items may decide, everything else is imported.
  std::string static_unknown;
  // Resolution of imported names (resolve.h): sys.path as (entry, is a
  // directory), the modules in sys.modules, a reason nothing resolves.
  bool resolve = false;  // false: every imported name is Unknown
  std::vector<std::pair<std::string, bool>> resolve_search;
  std::map<std::string, LoadedModule> resolve_loaded;
  std::string resolve_unknown;
  // typing.TYPE_CHECKING was true when deciding (a conftest set it): `if TYPE_CHECKING:` runs.
  bool type_checking_set = false;
  std::function<bool(const std::string&, const std::string&, std::vector<std::string>&)> resolve_live;
  std::function<ValueId(const std::string&, const std::vector<std::string>&, std::vector<std::string>&)>
      resolve_live_id;
  // Is a name in a loaded module's namespace (a from-import in a kept
  // content, bindings.h)? Called with the GIL released; none: never.
  AttrCheck module_has;
  std::string keyword;    // -k, already stripped; empty: none
  std::string markexpr;   // -m; empty: none
  bool has_keyword = false, has_markexpr = false;
  unsigned threads = 0;   // 0: one per core
  uint64_t max_parse_bytes = uint64_t{16} << 20;
  // Files whose mtime or ctime is this close to the scan are re-hashed next time.
  int64_t racy_window_ns = kRacyWindowNs;
  size_t initial_map_bytes = size_t{256} << 20;  // LMDB map of a new index; doubled when full
};

struct ScanStats {
  uint64_t files = 0, conftests = 0, parsed = 0, from_index = 0, rehashed = 0, written = 0;
  uint64_t cached_decisions = 0;
  uint64_t learned = 0;  // modules decided by learned items  // decisions taken from an earlier run with the same query
  uint64_t bytes_parsed = 0;
  // Wall time of each phase, and summed thread time of the per-file work
  // (decisions are made inside the files phase, as each module is parsed).
  double walk_ms = 0, files_ms = 0, write_ms = 0, total_ms = 0;
  double stat_ms = 0, lookup_ms = 0, read_ms = 0, hash_ms = 0, parse_ms = 0, decide_ms = 0;
};

struct ScanResult {
  std::string error;                  // non-empty: decide nothing (expression not understood, ...)
  std::vector<std::string> warnings;  // index trouble and similar: the run goes on
  std::vector<FileDecision> files;
  std::vector<std::string> conftests;
  // Conftests whose import may change something outside their directory
  // (model.h conftest_outside_effect): path -> (reason, collects).
  std::map<std::string, std::pair<std::string, bool>> conftest_effects;
  std::map<std::string, std::vector<std::string>> conftest_imports;  // of the others (model.h)
  // Files pytest may collect that are no candidate test modules (WalkResult::others).
  std::vector<std::string> others;
  uint64_t conftest_fp = 0;  // which conftests the session has (paths): a learned generation's key
  std::vector<std::string> input_names;  // inputs the stored learned facts depend on
  // Dependencies of the learned generation in use whose content changed and
  // whose surface did not: (path, content hash). The plugin checks that they
  // still compile (an error tree-sitter accepts, inside a body, must be seen).
  std::vector<std::pair<std::string, uint64_t>> surface_kept;
  std::string learned_status;            // why stored learned facts were not used ("" if they were)
  std::vector<std::string> basedirs;     // where resolution expected an import mode to add sys.path entries
  ScanStats stats;
};

ScanResult scan(const TSLanguage* lang, const ScanConfig& cfg);

}  // namespace fc
