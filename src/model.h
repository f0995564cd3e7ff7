// The item model: from facts, what items a test file could yield, with which
// keywords and markers, and whether a -k / -m filter could select any of them.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "expr.h"
#include "facts.h"

namespace fc {

// A fixture definition as far as selection cares: does it parametrize, and
// what it requests. Several definitions of one name are merged (union).
struct FixtureInfo {
  bool has_params = false;
  bool param_marks_unknown = false;  // params may carry marks (pytest.param(marks=...))
  std::vector<std::string> deps;
  // The ids its params give the items that use it, as pytest's IdMaker made
  // them (environment.fixture_ids), when every definition of the name agrees.
  bool ids_known = false;
  std::vector<std::string> ids;
};

// What the fixtures visible to a test module contribute.
struct FixtureEnv {
  std::map<std::string, FixtureInfo> defs;
  std::set<std::string> autouse;
  // Fixtures may exist that were not seen (star imports, unknown decorators,
  // imported names): any test could be parametrized by them.
  std::string opaque;  // reason; empty when everything was seen
};

// The conftest.py files above a test file, folded together.
struct ConftestScope {
  std::string unknown;  // reason the whole subtree cannot be predicted; empty if it can
  FixtureEnv env;
  // Markers a collection hook may add to any item (a hook read as acting per
  // item, only marking or dropping items): each is a maybe-marker and a
  // maybe-keyword of every item.
  std::vector<std::string> maybe_marks;
  // A conftest's pytest_generate_tests parametrizes (ids and marks not
  // known) every item whose fixture closure holds one of these names.
  std::vector<std::string> param_gates;
};

// What an imported name is, as far as resolution could tell (resolve.h).
struct ImportedName {
  enum Kind : uint8_t { Unknown = 0, NotFixture = 1, Fixture = 2 };
  Kind kind = Unknown;
  std::string why;      // Unknown: the reason
  bool plain = false;   // NotFixture: surely no unittest.TestCase subclass
  // Fixture: its definition's params and requested names, autouse, name=.
  FixtureInfo info;
  bool autouse = false;
  bool autouse_known = true;
  std::string name;     // name= given (empty: the name it is bound to)
  bool name_known = true;
  // NotFixture: the value's __name__, when it surely is `dunder` (a def
  // without decorators, a plain class, bound once and unconditionally).
  bool dunder_known = false;
  std::string dunder;
};

// pytest's id part for a parameter value that is a name (resolve.h):
// the value's own id (`id`), argname+index (Fallback), or not known.
struct ValueId {
  enum Kind : uint8_t { Unknown = 0, Id = 1, Fallback = 2 };
  Kind kind = Unknown;
  std::string id;
  std::string why;  // Unknown: the reason
};

// Resolves the imports of one module; without one, every imported name is Unknown.
class ImportResolver {
 public:
  virtual ~ImportResolver() = default;
  virtual ImportedName resolve(const Import& imp) = 0;
  // Non-empty (the reason) when a project module that running this module's
  // imports would run first may change sys.path (`tests/context.py`): the
  // later imports may then find other modules than resolution does.
  virtual std::string path_changer(const FileFacts& f) = 0;
  // The id pytest gives the value `imp` binds, followed by attributes
  // (`nx.DiGraph`: imp binds nx, attrs {"DiGraph"}).
  virtual ValueId value_id(const Import& imp, const std::vector<std::string>& attrs) {
    (void)imp;
    (void)attrs;
    ValueId v;
    v.why = "no resolver";
    return v;
  }
};

struct ModelConfig {
  std::string rootdir;                     // absolute, no trailing slash
  std::string confcutdir;                  // ScanConfig::confcutdir
  // ScanConfig::node_scoped_conftests; the directories of the session's
  // conftests, and of those pytest scopes to the whole session.
  bool node_scoped_conftests = false;
  std::set<std::string> conftest_dirs;
  std::set<std::string> session_conftest_dirs;
  // (collection root, its anchor: where the node chain starts); empty: the
  // chain starts at rootdir.
  std::vector<std::pair<std::string, std::string>> anchors;
  std::vector<std::string> python_classes;
  std::vector<std::string> python_functions;
  std::set<std::string> stdlib;            // top-level stdlib module names
  // Effects of installed plugins (pytest_fastcollect/environment.py):
  // markers that make a plugin parametrize the item they sit on (pytest-repeat's
  // `repeat`, pytest-order's `order`): such items' ids are not known.
  std::vector<std::string> param_marks;
  // The same, only when the function itself carries the marker twice or more
  // (pytest-order parametrizes a test with several `order` marks).
  std::vector<std::string> repeated_param_marks;
  // Ids a plugin parametrizes every test function with, joined last
  // (pytest-repeat's --count N: "1-N" .. "N-N"); empty: none.
  std::vector<std::string> id_suffixes;
  // pytest-lazy-fixtures: a parameter value may stand for a fixture whose own
  // parametrization adds items, so a parametrized test is open wherever a
  // parametrized fixture is visible.
  bool lazy_fixtures = false;
  std::set<std::string> patched_builtins;  // ScanConfig::patched_builtins
  // typing.TYPE_CHECKING was true when deciding: `if TYPE_CHECKING:` blocks run.
  bool type_checking_set = false;
  // Conftests loaded before the decision (path -> hooks pytest registered
  // from them): their module-level code has run; their fixtures and autouse
  // names as pytest parses them (path -> ...) apply in their directory.
  std::map<std::string, std::vector<std::string>> live_conftests;
  std::map<std::string, std::map<std::string, FixtureInfo>> live_fixtures;
  std::map<std::string, std::vector<std::string>> live_autouse;
  // Conftests (path) whose pytest_generate_tests parametrizes only items
  // whose fixture closure holds one of these names.
  std::map<std::string, std::vector<std::string>> generate_gates;
};

struct Filter {
  std::unique_ptr<Expression> keyword;  // -k, or null
  std::unique_ptr<Expression> mark;     // -m, or null
};

struct Decision {
  bool skip = false;
  std::string reason;  // why the file must be imported (or "no item can match")
};

// Effects of a conftest on every test file of the session, wherever it sits:
// hooks pytest calls through the global relay (pytest_collection_modifyitems
// gets all items), plugin registration, hooks whose scope is not known.
// Returns a reason, or empty when it has none.
// `read_hooks`: hooks of this conftest whose effect was read (per item, the
// markers they may add go to every scope's maybe_marks instead).
std::string conftest_global_effect(const FileFacts& f, const std::string& path, const ModelConfig& cfg,
                                   const std::set<std::string>& read_hooks = {});

// Why importing this conftest may change anything outside its own directory
// ("" if nothing may; the plugin may then leave a directory below which
// nothing is imported unwalked, its conftests with it): a hook pytest calls
// outside the directory's nodes, one that collects or ignores files, plugin
// registration, a process-state write or in-place change (as for test
// modules), a call at import the model does not read, a decorator or class
// base that runs unread code. `collects`: it implements (or may) a hook that
// decides which files below it are collected.
std::string conftest_outside_effect(const FileFacts& f, const ModelConfig& cfg, bool& collects);

// The modules a conftest's import statements name, for the plugin to check
// that each is loaded already (then importing the conftest runs no other
// code): "a.b" for `import a.b`, "a.b\x01c" for `from a.b import c`. False
// (and `why` set) where one cannot be checked so: a relative or star import.
bool conftest_imports(const FileFacts& f, const ModelConfig& cfg, std::vector<std::string>& out, std::string& why);

// Folds one conftest's facts into `scope` (conftests nearer the file come later).
void apply_conftest(const FileFacts& f, const std::string& path, const ModelConfig& cfg, ConftestScope& scope,
                    ImportResolver* resolver = nullptr);

// Decides one test module.
Decision decide(const FileFacts& f, const std::string& path, const ConftestScope& scope, const ModelConfig& cfg,
                const Filter& filter, ImportResolver* resolver = nullptr);

// Does an import run (false: under `if TYPE_CHECKING:` with the name from typing)?
bool import_runs(const FileFacts& f, const Import& imp, bool type_checking_set = false);

// The first kProcessState reason of a module or its classes ("" if none).
std::string process_state_write(const FileFacts& f);

// Why the module's import may change what the modules collected after it
// see ("" if nothing): a process-state write (kProcessState), an object it
// did not make changed in place, one it made (kChangesMadeObject), or
// (resolving imports) naming sys.path while calling its own code at import.
std::string state_change(const FileFacts& f, const ModelConfig& cfg, bool resolving);

// pytest's prefix-or-glob name matching (python_classes / python_functions).
bool name_matches(const std::string& name, const std::vector<std::string>& patterns);

}  // namespace fc
