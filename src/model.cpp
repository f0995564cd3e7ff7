// Predicts the items of a test module and evaluates -k / -m over them in
// three-valued logic. Every gap in what is known turns into Unknown with a
// reason, which is what --fast-collect-explain prints.
#include "model.h"

#include <fnmatch.h>

#include <algorithm>
#include <deque>

#include "files.h"

namespace fc {
namespace {

constexpr size_t kMaxItemsPerFunction = 4096;

// Hooks that cannot change which items exist or their names, keywords or
// markers. A conftest defining any other pytest_* hook makes its subtree Unknown.
const std::set<std::string>& harmless_hooks() {
  static const std::set<std::string> s = {
      "pytest_addoption", "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown",
      "pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_runtest_logstart",
      "pytest_runtest_logfinish", "pytest_runtest_protocol", "pytest_pyfunc_call", "pytest_report_header",
      "pytest_report_teststatus", "pytest_report_collectionfinish", "pytest_terminal_summary",
      "pytest_assertrepr_compare", "pytest_assertion_pass", "pytest_fixture_setup",
      "pytest_fixture_post_finalizer", "pytest_sessionstart", "pytest_sessionfinish", "pytest_unconfigure",
      "pytest_ignore_collect", "pytest_collectreport", "pytest_warning_recorded", "pytest_keyboard_interrupt",
      "pytest_exception_interact", "pytest_enter_pdb", "pytest_leave_pdb", "pytest_markeval_namespace",
      "pytest_deselected", "pytest_internalerror"};
  return s;
}

// Hooks pytest calls through a node's path-aware relay: a conftest's
// implementation only sees the files below it.
const std::set<std::string>& path_scoped_hooks() {
  static const std::set<std::string> s = {
      "pytest_generate_tests", "pytest_collect_file", "pytest_pycollect_makemodule", "pytest_pycollect_makeitem",
      "pytest_itemcollected", "pytest_make_collect_report", "pytest_collectstart", "pytest_collect_directory",
      "pytest_ignore_collect"};
  return s;
}

bool non_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Is `module` (a top-level module name) pytest's own or the standard library's?
bool pytest_or_stdlib(const std::string& module, const ModelConfig& cfg) {
  return module == "pytest" || module == "_pytest" || cfg.stdlib.count(module) > 0;
}

// Is `root` bound by an import of the stdlib or pytest?
bool stdlib_name(const FileFacts& f, const std::string& root, const ModelConfig& cfg) {
  if (root == "print" || root == "staticmethod" || root == "classmethod" || root == "property") return true;
  for (const auto& imp : f.imports) {
    if (imp.bound != root) continue;
    return pytest_or_stdlib(imp.module, cfg);
  }
  return false;
}

bool star_imports(const FileFacts& f) {
  for (const auto& imp : f.imports)
    if (imp.star) return true;
  return false;
}

// How many module-level statements bind `name` (star imports not counted).
int module_bindings(const FileFacts& f, const std::string& name) {
  int n = 0;
  for (const auto& fn : f.funcs) n += fn.name == name;
  for (const auto& c : f.classes) n += c.name == name;
  for (const auto& b : f.bound) n += !b.call && b.name == name;
  for (const auto& imp : f.imports) n += !imp.star && imp.bound == name;
  return n;
}

// An object this module made itself (a name bound only by this module's
// assignments of literals or displays, no import or star import): changing
// it in place changes nothing another module holds.
// Builtins that make a new object from their arguments and change nothing.
static bool pure_builtin(const std::string& name) {
  static const std::set<std::string> names = {
      "list", "tuple", "dict", "set", "frozenset", "zip", "range", "enumerate", "sorted", "reversed", "len",
      "str", "int", "float", "bool", "bytes", "complex", "map", "filter", "min", "max", "sum", "abs", "round",
      "any", "all", "isinstance", "issubclass", "repr", "format", "divmod", "pow", "chr", "ord", "hex", "oct",
      "bin", "slice", "object", "type"};
  return names.count(name) > 0;
}

static bool own_in(const std::vector<Binding>& bound, const std::vector<Import>& imports,
                   const std::vector<Func>& funcs, const std::vector<Class>& classes, const MarkList& pytestmark,
                   const std::string& name) {
  if (name.empty() || name[0] == '*') return false;  // *NAME: reached through NAME
  for (const auto& imp : imports)
    if (imp.bound == name || imp.star) return false;
  bool made = name == "pytestmark" && pytestmark.present;  // its own mark list (bound by an assignment)
  for (const auto& b : bound) {
    if (b.name != name || (b.call && b.box) || b.store) continue;  // (NAME.append(...), NAME[0] = v: the change)
    if (b.call || !(b.box || b.literal)) return false;
    made = true;
  }
  for (const auto& fn : funcs) made = made && fn.name != name;
  for (const auto& c : classes) made = made && c.name != name;
  return made;
}

// Bound once at module level, by an assignment of a new object an
// expression made (FileFacts::made), and not imported.
static bool made_once(const FileFacts& f, const std::string& name) {
  if (star_imports(f) || std::count(f.made.begin(), f.made.end(), name) != 1) return false;
  for (const auto& imp : f.imports)
    if (imp.bound == name) return false;
  int bound = 0;
  for (const auto& b : f.bound) bound += b.name == name && !(b.call && b.box) && !b.literal && !b.store;
  return bound == 1;
}

static bool own_object(const FileFacts& f, const std::string& name) {
  if (star_imports(f)) return false;
  return own_in(f.bound, f.imports, f.funcs, f.classes, f.pytestmark, name);
}

// A class body (or a nested one) that changes in place an object its own
// body did not make: the name of that object, else "".
static std::string class_store(const Class& c) {
  for (const auto& name : c.stores)
    if (!own_in(c.bound, c.imports, c.funcs, c.classes, c.pytestmark, name)) return name;
  for (const auto& nested : c.classes)
    if (std::string n = class_store(nested); !n.empty()) return n;
  return {};
}

// A call statement at module or class level into pytest or the stdlib, or
// an in-place method of a module-level list, dict or set display
// (`CASES.extend([...])`: like an assignment, only its arguments run code).
bool safe_call(const FileFacts& f, const Binding& call, const ModelConfig& cfg) {
  if (call.name.empty()) return false;
  if (call.box && !star_imports(f) && module_bindings(f, call.name) == 1) {
    for (const auto& b : f.bound)
      if (!b.call && b.name == call.name && b.box) return true;
  }
  return stdlib_name(f, call.name, cfg);
}

bool is_mark_kind(DecoKind k) {
  return k == DecoKind::Mark || k == DecoKind::Parametrize || k == DecoKind::Usefixtures;
}

// What the enclosing module/classes contribute to each of their functions.
struct Outer {
  std::vector<std::string> keywords;        // lowercased chain names and outer marker names
  std::vector<std::string> marks;
  bool fuzzy = false;                       // a keyword has non-ASCII characters
  bool open_marks = false;
  std::string open_why;
  bool parametrized = false;                // class/module-level parametrize or generate_tests
  std::string param_why;
  bool param_marks_unknown = false;
  std::vector<std::string> usefixtures;
  bool usefixtures_unknown = false;
  std::map<std::string, FixtureInfo> class_fixtures;  // fixtures defined in enclosing classes
  std::set<std::string> class_autouse;
  std::string opaque;                       // unseen fixtures in enclosing classes
  const Class* cls = nullptr;               // the class whose body holds the functions (names resolve there first)
  // Parametrize marks of the enclosing classes and the module whose ids are
  // known, in the order pytest's parametrize calls take them (iter_markers:
  // the nearest node first, each node's marks in list order).
  std::vector<std::pair<const Decorator*, const ParamSets*>> outer_sets;
  void add_keyword(const std::string& kw) {
    if (non_ascii(kw)) fuzzy = true;
    keywords.push_back(lower(kw));
  }
  void add_mark(const std::string& m) {
    marks.push_back(m);
    add_keyword(m);
  }
};

// One item's keywords and markers as far as they are known: the enclosing
// scopes' (shared) plus its own.
struct Item {
  const Outer* outer = nullptr;
  std::string name;                   // for reasons
  std::vector<std::string> kw;        // own lowercased keywords
  std::vector<std::string> prefixes;  // lowercased: keyword = prefix + something unknown
  std::vector<std::string> marks;     // own marker names
  std::vector<std::string> maybe;     // marker names some but not all of these items may carry
  const std::string* extra_kw = nullptr;               // per parameter set: the item name
  const std::vector<const std::vector<std::string>*>* extra_marks = nullptr;  // per set marks
  bool open_kw = false;               // other keywords may exist
  bool open_marks = false;            // other markers may exist
  bool fuzzy = false;
  std::string why;                    // first reason for anything open
  void open(bool k, bool mk, const std::string& reason) {
    open_kw = open_kw || k;
    open_marks = open_marks || mk;
    if (why.empty()) why = reason;
  }
  void add_keyword(const std::string& k) {
    if (non_ascii(k)) fuzzy = true;
    kw.push_back(lower(k));
  }
};

bool contains_any(const std::vector<std::string>& hay, const std::string& needle) {
  for (const auto& k : hay)
    if (k.find(needle) != std::string::npos) return true;
  return false;
}

Tri keyword_match(const Item& it, const std::string& ident_lower) {
  if (contains_any(it.outer->keywords, ident_lower) || contains_any(it.kw, ident_lower) ||
      contains_any(it.prefixes, ident_lower))
    return Tri::True;
  if (it.extra_kw && it.extra_kw->find(ident_lower) != std::string::npos) return Tri::True;
  if (it.extra_marks) {
    for (const auto* ms : *it.extra_marks)
      for (const auto& m : *ms)
        if (lower(m).find(ident_lower) != std::string::npos) return Tri::True;
  }
  for (const auto& m : it.maybe)
    if (lower(m).find(ident_lower) != std::string::npos) return Tri::Unknown;
  // A marker name is a keyword too: unknown markers mean unknown keywords.
  if (it.open_kw || it.open_marks || !it.prefixes.empty() || it.fuzzy || it.outer->fuzzy) return Tri::Unknown;
  if (it.extra_kw && non_ascii(*it.extra_kw)) return Tri::Unknown;
  return Tri::False;
}

bool has_mark(const std::vector<std::string>& v, const std::string& name) {
  return std::find(v.begin(), v.end(), name) != v.end();
}

Tri mark_match(const Item& it, const ExprNode& n) {
  bool has = has_mark(it.outer->marks, n.name) || has_mark(it.marks, n.name);
  if (!has && it.extra_marks)
    for (const auto* ms : *it.extra_marks) has = has || has_mark(*ms, n.name);
  if (has) return n.has_kwargs ? Tri::Unknown : Tri::True;  // kwargs are not modelled
  if (has_mark(it.maybe, n.name)) return Tri::Unknown;
  return it.open_marks ? Tri::Unknown : Tri::False;
}

Tri evaluate(const Item& it, const Filter& flt) {
  Tri r = Tri::True;
  if (flt.keyword) {
    r = flt.keyword->eval([&](const ExprNode& n) { return keyword_match(it, n.lname); });
    if (r == Tri::False) return r;
  }
  if (flt.mark) r = tri_and(r, flt.mark->eval([&](const ExprNode& n) { return mark_match(it, n); }));
  return r;
}

// An enclosing scope's parametrize whose sets are not modelled: every item's
// ids are open, and so are its marks if any set may carry some.
void open_params(Outer& o, const Decorator& d, const std::string& why) {
  o.parametrized = true;
  if (o.param_why.empty()) o.param_why = why;
  if (!d.params.marks_known) o.param_marks_unknown = true;
  for (const auto& m : d.params.marks)
    if (!m.empty()) o.param_marks_unknown = true;
}

// `params` (when given) takes the parametrize marks (the caller models their
// sets or calls open_params); otherwise they leave the items' ids open.
void add_marklist(const MarkList& ml, Outer& o, const char* where, std::vector<const Decorator*>* params = nullptr) {
  if (!ml.known) {
    o.open_marks = true;
    if (o.open_why.empty()) o.open_why = std::string(where) + " pytestmark is not a literal list of marks";
  }
  for (const auto& d : ml.marks) {
    o.add_mark(d.name);
    if (d.kind == DecoKind::Parametrize) {
      if (params) params->push_back(&d);
      else open_params(o, d, std::string(where) + "-level parametrize");
    }
    if (d.kind == DecoKind::Usefixtures) {
      if (!d.args_known) o.usefixtures_unknown = true;
      o.usefixtures.insert(o.usefixtures.end(), d.args.begin(), d.args.end());
    }
  }
}

// Two definitions whose items get the same ids (the conftest pytest scopes
// to the session is among the plugin fixtures and folded in its directory
// too; a closer definition with the same params): the ids hold.
static bool same_ids(const FixtureInfo& a, const FixtureInfo& b) {
  return a.has_params == b.has_params && a.param_marks_unknown == b.param_marks_unknown &&
         a.ids_known == b.ids_known && a.ids == b.ids;
}

void merge_fixture(std::map<std::string, FixtureInfo>& defs, const std::string& name, const Func& fn,
                   const Decorator& d) {
  FixtureInfo& fi = defs[name];
  fi.ids_known = false;  // a definition read from source: its ids are not computed
  fi.ids.clear();
  fi.has_params = fi.has_params || d.has_params;
  if (d.has_params) {
    if (!d.params.marks_known) fi.param_marks_unknown = true;
    for (const auto& m : d.params.marks)
      if (!m.empty()) fi.param_marks_unknown = true;
  }
  fi.deps.insert(fi.deps.end(), fn.params.begin(), fn.params.end());
}

// Records fixtures defined by `funcs` into defs/autouse; returns a reason if
// some definition could hide a fixture.
std::string collect_fixtures(const FileFacts& file, const std::vector<Func>& funcs, const ModelConfig& cfg,
                             std::map<std::string, FixtureInfo>& defs, std::set<std::string>& autouse,
                             bool test_scope) {
  std::string opaque;
  for (const auto& fn : funcs) {
    for (const auto& d : fn.decorators) {
      if (d.kind == DecoKind::Fixture) {
        if (!d.fixture_name_known && opaque.empty()) opaque = "fixture '" + fn.name + "' has a computed name";
        std::string name = d.fixture_name.empty() ? fn.name : d.fixture_name;
        merge_fixture(defs, name, fn, d);
        if (!d.autouse_known && opaque.empty()) opaque = "fixture '" + fn.name + "' has a computed autouse";
        if (d.autouse) autouse.insert(name);
      } else if (d.kind == DecoKind::Unknown && !stdlib_name(file, d.root, cfg)) {
        // A third-party decorator may register a fixture (pytest_asyncio.fixture, ...).
        bool is_test = test_scope && name_matches(fn.name, cfg.python_functions);
        if (!is_test && opaque.empty()) opaque = "'" + fn.name + "' has decorator @" + d.name + " (may be a fixture)";
      }
    }
  }
  return opaque;
}

class ModuleEval {
 public:
  ModuleEval(const FileFacts& f, const ConftestScope& scope, const ModelConfig& cfg, const Filter& flt,
             ImportResolver* resolver)
      : f_(f), scope_(scope), cfg_(cfg), flt_(flt), resolver_(resolver) {
    suffixes_.ids_known = suffixes_.marks_known = true;
    suffixes_.ids = cfg.id_suffixes;
    suffixes_.marks.resize(cfg.id_suffixes.size());
  }

  // Returns false (with reason) as soon as some item may be selected.
  bool all_false(const std::vector<std::string>& chain, std::string& reason) {
    Outer o;
    for (const auto& name : chain) o.add_keyword(name);
    std::vector<const Decorator*> module_params;
    add_marklist(f_.pytestmark, o, "module", &module_params);
    for (const Decorator* d : module_params) {
      if (d->args_known && d->params.ids_known) o.outer_sets.emplace_back(d, &d->params);
      else open_params(o, *d, "module-level parametrize: ids are not literal");
    }
    for (const auto& fn : f_.funcs)
      if (fn.name == "pytest_generate_tests") {
        o.parametrized = true;
        o.param_marks_unknown = true;
        o.param_why = "module defines pytest_generate_tests";
      }
    std::set<std::string> module_autouse;
    std::string opaque = collect_fixtures(f_, f_.funcs, cfg_, module_defs_, module_autouse, true);
    for (const auto& imp : f_.imports) {
      if (!imp.from || pytest_or_stdlib(imp.module, cfg_)) continue;
      if (imp.bound == "pytest_generate_tests") {
        o.parametrized = true;
        o.param_marks_unknown = true;
        o.param_why = "module imports pytest_generate_tests";
      }
    }
    if (!imported_names(f_.imports, "module", module_defs_, module_autouse, opaque, reason)) return false;
    o.class_autouse = module_autouse;
    o.opaque = opaque;
    for (const auto& fn : f_.funcs) {
      if (!name_matches(fn.name, cfg_.python_functions)) continue;
      if (!function(fn, o, reason)) return false;
    }
    for (const auto& c : f_.classes)
      if (!klass(c, o, reason)) return false;
    return true;
  }

 private:
  const FileFacts& f_;
  const ConftestScope& scope_;
  const ModelConfig& cfg_;
  const Filter& flt_;
  ImportResolver* resolver_;
  mutable bool path_checked_ = false;  // path_changer asked (once per module)
  mutable std::string path_why_;
  std::map<std::string, FixtureInfo> module_defs_;
  ParamSets suffixes_;  // ids a plugin adds to every test function (ModelConfig::id_suffixes)
  mutable std::deque<ParamSets> resolved_;  // ids computed from pending parts (stable addresses)

  // Any fixture with params this module's tests could reach (pytest-lazy-fixtures).
  bool parametrized_fixture_visible(const Outer& o) const {
    for (const auto* defs : {&o.class_fixtures, &module_defs_, &scope_.env.defs})
      for (const auto& [name, fi] : *defs)
        if (fi.has_params) return true;
    return false;
  }

  // The from-imports of a module or class body (`imports`): a fixture one binds
  // joins `defs`/`autouse`; false (with reason) when one may be anything else
  // that matters - a unittest.TestCase, an unresolved object.
  bool imported_names(const std::vector<Import>& imports, const char* where, std::map<std::string, FixtureInfo>& defs,
                      std::set<std::string>& autouse, std::string& opaque, std::string& reason) const {
    for (const auto& imp : imports) {
      if (imp.star) continue;  // a `dynamic` reason of its own
      if (!imp.from || !import_runs(f_, imp, cfg_.type_checking_set)) continue;
      if (pytest_or_stdlib(imp.module, cfg_)) {
        // unittest's and doctest's TestCase classes are collected under any name.
        if ((imp.module == "unittest" || imp.module == "doctest") && imp.name.find("Case") != std::string::npos) {
          reason = std::string(where) + " imports '" + imp.bound + "' from " + imp.module + " (may be a TestCase)";
          return false;
        }
        continue;
      }
      const std::string from = imp.module.empty() ? "a relative module" : imp.path;
      if (f_.mentions_sys_path) {  // the import may look where resolution does not
        reason = std::string(where) + " imports '" + imp.bound + "' from " + from + " and changes sys.path";
        return false;
      }
      if (!resolver_) {
        reason = std::string(where) + " imports '" + imp.bound + "' from " + from + " (may be a fixture)";
        return false;
      }
      if (!path_checked_) {
        path_checked_ = true;
        path_why_ = resolver_->path_changer(f_);
      }
      if (!path_why_.empty()) {
        reason = std::string(where) + " imports '" + imp.bound + "' from " + from + " after " + path_why_;
        return false;
      }
      ImportedName r = resolver_->resolve(imp);
      switch (r.kind) {
        case ImportedName::Unknown:
          reason = std::string(where) + " imports '" + imp.bound + "' from " + from + ": " + r.why;
          return false;
        case ImportedName::NotFixture:
          if (!r.plain) {
            reason = std::string(where) + " imports '" + imp.bound + "' from " + from + " (may be a TestCase)";
            return false;
          }
          break;
        case ImportedName::Fixture: {
          const std::string name = r.name.empty() ? imp.bound : r.name;
          if (!r.name_known && opaque.empty()) opaque = "imported fixture '" + imp.bound + "' has a computed name";
          if (!r.autouse_known && opaque.empty()) opaque = "imported fixture '" + imp.bound + "' has a computed autouse";
          FixtureInfo& fi = defs[name];
          fi.ids_known = false;
          fi.ids.clear();
          fi.has_params = fi.has_params || r.info.has_params;
          fi.param_marks_unknown = fi.param_marks_unknown || r.info.param_marks_unknown;
          fi.deps.insert(fi.deps.end(), r.info.deps.begin(), r.info.deps.end());
          if (r.autouse) autouse.insert(name);
          break;
        }
      }
    }
    return true;
  }

  const FixtureInfo* find_fixture(const Outer& o, const std::string& name) const {
    auto a = o.class_fixtures.find(name);
    if (a != o.class_fixtures.end()) return &a->second;
    auto b = module_defs_.find(name);
    if (b != module_defs_.end()) return &b->second;
    auto c = scope_.env.defs.find(name);
    if (c != scope_.env.defs.end()) return &c->second;
    return nullptr;
  }

  // Could the fixture closure of these requested names parametrize the test?
  // Returns a reason, or empty when it cannot; sets marks_unknown.
  // `only` (when given): the single parametrized fixture of the closure
  // whose ids are known, defined only outside the module (null otherwise:
  // several, ids unknown, a conftest hook's gate).
  std::string fixture_params(const Outer& o, std::vector<std::string> names, bool& marks_unknown,
                             const FixtureInfo** only = nullptr) const {
    if (only) *only = nullptr;
    int parametrized = 0;
    bool exact = true;
    if (!scope_.env.opaque.empty()) {
      marks_unknown = true;
      return scope_.env.opaque;
    }
    if (!o.opaque.empty()) {
      marks_unknown = true;
      return o.opaque;
    }
    names.insert(names.end(), scope_.env.autouse.begin(), scope_.env.autouse.end());
    names.insert(names.end(), o.class_autouse.begin(), o.class_autouse.end());
    // Breadth-first over requested names; closures are small, so vectors beat sets.
    std::vector<std::string> seen;
    std::string why;
    for (size_t i = 0; i < names.size() && i < 10000; ++i) {
      const std::string& n = names[i];
      if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
      seen.push_back(n);
      if (std::find(scope_.param_gates.begin(), scope_.param_gates.end(), n) != scope_.param_gates.end()) {
        if (why.empty()) why = "a conftest's pytest_generate_tests parametrizes '" + n + "'";
        marks_unknown = true;
        exact = false;
      }
      const FixtureInfo* fi = find_fixture(o, n);
      if (!fi) continue;  // builtin or missing fixture: no params (missing errors at setup)
      if (fi->has_params) {
        if (why.empty()) why = "uses parametrized fixture '" + n + "'";
        if (fi->param_marks_unknown) marks_unknown = true;
        ++parametrized;
        exact = exact && fi->ids_known && !fi->param_marks_unknown && !o.class_fixtures.count(n) &&
                !module_defs_.count(n);
        if (only && exact && parametrized == 1) *only = fi;
      }
      names.insert(names.end(), fi->deps.begin(), fi->deps.end());
    }
    if (only && (!exact || parametrized != 1)) *only = nullptr;
    return why;
  }

  // Does anything but the builtin answer to `name` in the scope of `o`'s functions?
  bool builtin_untouched(const std::string& name, const Outer& o) const {
    if (cfg_.patched_builtins.count(name) || star_imports(f_) || module_bindings(f_, name) > 0) return false;
    return !(o.cls && class_binds(*o.cls, name));
  }

  // Builtin functions and types whose __name__ is their name.
  static bool builtin_callable(const std::string& name) {
    static const std::set<std::string> names = {
        "abs",   "all",       "any",  "ascii",  "bin",       "bool",     "bytearray", "bytes",  "callable", "chr",
        "complex", "dict",    "divmod", "enumerate", "filter", "float",  "format",    "frozenset", "getattr",
        "hasattr", "hash",    "hex",  "id",     "int",       "isinstance", "issubclass", "iter", "len",  "list",
        "map",   "max",       "min",  "next",   "object",    "oct",      "ord",       "pow",    "range",    "repr",
        "reversed", "round",  "set",  "setattr", "slice",    "sorted",   "str",       "sum",    "tuple",    "type",
        "zip"};
    return names.count(name) > 0;
  }

  static bool class_binds(const Class& c, const std::string& name) {
    for (const auto& fn : c.funcs)
      if (fn.name == name) return true;
    for (const auto& k : c.classes)
      if (k.name == name) return true;
    for (const auto& b : c.bound)
      if (!b.call && b.name == name) return true;
    for (const auto& imp : c.imports)
      if (imp.bound == name || imp.star) return true;
    return false;
  }

  // The id part of a parameter value written as a name (`nx.DiGraph`,
  // `helper`) in a decorator of `fn`: through the single module-level
  // statement that binds its first name before `fn` - an import (resolved),
  // or a def without decorators (its name).
  ValueId ref_value(const std::string& dotted, const Func& fn, const Outer& o) const {
    ValueId v;
    std::vector<std::string> attrs;
    size_t start = 0;
    for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1)
      attrs.push_back(dotted.substr(start, dot - start));
    attrs.push_back(dotted.substr(start));
    const std::string root = attrs.front();
    attrs.erase(attrs.begin());
    v.why = "parametrize value " + dotted;
    if ((o.cls && class_binds(*o.cls, root)) || star_imports(f_)) return v;
    const int binds = module_bindings(f_, root);
    if (binds == 0 && attrs.empty() && builtin_callable(root) && !cfg_.patched_builtins.count(root)) {
      v.kind = ValueId::Id;  // a builtin function or type: its __name__
      v.id = root;
      return v;
    }
    if (binds != 1) return v;
    for (const auto& b : f_.bound) {
      if (b.call || b.name != root) continue;
      if (attrs.empty() && b.box && b.line > 0 && b.line < fn.line) v.kind = ValueId::Fallback;
      return v;
    }
    for (const auto& g : f_.funcs) {
      if (g.name != root) continue;
      if (attrs.empty() && g.decorators.empty() && !g.conditional && g.line < fn.line && !f_.sets_dunder_name) {
        v.kind = ValueId::Id;
        v.id = g.name;
      }
      return v;
    }
    for (const auto& imp : f_.imports) {
      if (imp.bound != root) continue;
      if (imp.conditional || imp.line == 0 || imp.line >= fn.line || !import_runs(f_, imp, cfg_.type_checking_set) ||
          !resolver_ || f_.mentions_sys_path)
        return v;
      if (!path_checked_) {
        path_checked_ = true;
        path_why_ = resolver_->path_changer(f_);
      }
      if (!path_why_.empty()) return v;
      ValueId r = resolver_->value_id(imp, attrs);
      if (r.kind == ValueId::Unknown) r.why = v.why + (r.why.empty() ? "" : ": " + r.why);
      return r;
    }
    return v;
  }

  // A parametrize decorator's ids that depend on names (ParamSets::pending),
  // computed; null (and why) when some part cannot be known.
  const ParamSets* resolve_pending(const Decorator& d, const Func& fn, const Outer& o, std::string& why) const {
    const ParamSets& p = d.params;
    if (p.pending.empty()) return nullptr;
    for (const auto& b : p.pending_builtins) {
      if (!builtin_untouched(b, o)) {
        why = "parametrize values call " + b + "(), which may not be the builtin";
        return nullptr;
      }
    }
    ParamSets out;
    out.marks = p.marks;
    out.marks_known = p.pending_marks_known;
    // Values read from a display bound earlier: its names were looked up at
    // the display's line, so only bindings before it count.
    Func looked_up;
    if (p.values_line && p.values_line < fn.line) {
      looked_up.name = fn.name;
      looked_up.line = p.values_line;
    }
    const Func& at = looked_up.line ? looked_up : fn;
    std::map<std::string, ValueId> seen;
    for (size_t idx = 0; idx < p.pending.size(); ++idx) {
      const auto& parts = p.pending[idx];
      std::string id;
      for (size_t k = 0; k < parts.size(); ++k) {
        std::string one = parts[k];
        if (!one.empty() && one[0] == kRefPart) {
          if (k >= d.args.size()) return nullptr;
          const std::string dotted = one.substr(1);
          auto it = seen.find(dotted);
          if (it == seen.end()) it = seen.emplace(dotted, ref_value(dotted, at, o)).first;
          const ValueId& v = it->second;
          if (v.kind == ValueId::Unknown) {
            why = v.why;
            return nullptr;
          }
          one = v.kind == ValueId::Fallback ? d.args[k] + std::to_string(idx) : v.id;
        }
        id += (k ? "-" : "") + one;
      }
      out.ids.push_back(std::move(id));
    }
    std::set<std::string> unique(out.ids.begin(), out.ids.end());
    if (unique.size() != out.ids.size()) {
      why = "parametrize ids repeat (pytest adds suffixes)";
      return nullptr;
    }
    out.ids_known = true;
    resolved_.push_back(std::move(out));
    return &resolved_.back();
  }

  bool check(const Item& it, std::string& reason) const {
    Tri t = evaluate(it, flt_);
    if (t == Tri::False) return true;
    std::string why = it.why;
    if (why.empty() && !it.maybe.empty()) why = "may carry marker '" + it.maybe.front() + "' (hook or parameter set)";
    reason = t == Tri::True ? "may select " + it.name
                            : "cannot decide " + it.name + ": " + (why.empty() ? "partly known" : why);
    return false;
  }

  // What one test function's decorators, enclosing scopes and plugins make of it.
  struct FnState {
    Item base;
    bool partial = false;  // some item's ids are not known
    std::string partial_why;
    bool set_marks_unknown = false;
    std::vector<std::string> requested;  // fixtures it asks for
    bool usefixtures_unknown = false;
    std::vector<const ParamSets*> sets;      // known ids, bottom decorator first, as pytest applies them
    std::vector<const ParamSets*> all_sets;  // every parametrize decorator's sets
    void open_ids(const std::string& why) {
      partial = true;
      if (partial_why.empty()) partial_why = why;
    }
  };

  // The function's own decorators, bottom first. False: it is a fixture.
  bool own_decorators(const Func& fn, const Outer& o, FnState& st) const {
    bool own_mark = false;
    size_t static_at = fn.decorators.size();
    for (size_t i = 0; i < fn.decorators.size(); ++i) {
      const Decorator& d = fn.decorators[i];
      if (d.kind == DecoKind::Builtin && d.name == "staticmethod") static_at = std::min(static_at, i);
    }
    for (size_t i = fn.decorators.size(); i-- > 0;) {
      const Decorator& d = fn.decorators[i];
      if (d.kind == DecoKind::Fixture) return false;  // a fixture, not a test
      if (d.kind == DecoKind::Unknown) {
        st.base.open(true, true, "decorator @" + d.name);
        st.open_ids("decorator @" + d.name);
        continue;
      }
      if (!is_mark_kind(d.kind)) continue;
      own_mark = true;
      if (i < static_at && static_at != fn.decorators.size()) st.base.open(true, true, "mark applied to a staticmethod object");
      st.base.marks.push_back(d.name);
      st.base.add_keyword(d.name);
      if (d.kind == DecoKind::Usefixtures) {
        if (!d.args_known) st.usefixtures_unknown = true;
        st.requested.insert(st.requested.end(), d.args.begin(), d.args.end());
      }
      if (d.kind == DecoKind::Parametrize) own_parametrize(fn, o, d, st);
    }
    if (own_mark) st.base.add_keyword("pytestmark");  // store_mark sets func.pytestmark
    return true;
  }

  void own_parametrize(const Func& fn, const Outer& o, const Decorator& d, FnState& st) const {
    std::string pending_why;
    const ParamSets* ps = d.params.ids_known ? &d.params : resolve_pending(d, fn, o, pending_why);
    if (!ps) ps = &d.params;
    st.all_sets.push_back(ps);
    if (!ps->marks_known) st.set_marks_unknown = true;
    if (!ps->ids_known) st.open_ids(pending_why.empty() ? "parametrize ids are not literal" : pending_why);
    else st.sets.push_back(ps);
  }

  // The enclosing scopes' parametrize calls come after the function's own.
  void outer_parametrize(const Func& fn, const Outer& o, FnState& st) const {
    std::set<std::string> argnames_seen;
    for (const Decorator& own : fn.decorators)
      if (own.kind == DecoKind::Parametrize) argnames_seen.insert(own.args.begin(), own.args.end());
    for (const auto& [d, ps] : o.outer_sets) {
      st.all_sets.push_back(ps);
      if (!ps->marks_known) st.set_marks_unknown = true;
      for (const auto& a : d->args) {
        // pytest fails the collection for an argname the function lacks or
        // one parametrized twice (here or by two enclosing scopes): leave
        // that to pytest.
        const bool has = std::find(fn.params.begin(), fn.params.end(), a) != fn.params.end();
        const bool twice = !argnames_seen.insert(a).second;
        if (!has || twice) st.open_ids("outer parametrize of '" + a + "' (not a plain parameter)");
      }
      st.sets.push_back(ps);
    }
  }

  // Plugins that parametrize items by their markers, or lazy fixtures.
  void plugin_parametrize(const Outer& o, FnState& st) const {
    for (const auto& pm : cfg_.param_marks)
      if (has_mark(st.base.marks, pm) || has_mark(o.marks, pm) || has_mark(st.base.maybe, pm))
        st.open_ids("marker '" + pm + "' makes a plugin parametrize it");
    for (const auto& pm : cfg_.repeated_param_marks)
      if (std::count(st.base.marks.begin(), st.base.marks.end(), pm) > 1)  // other decorators: partial already
        st.open_ids("several '" + pm + "' markers make a plugin parametrize it");
    if (cfg_.lazy_fixtures && !st.all_sets.empty() && parametrized_fixture_visible(o))
      st.open_ids("a parameter may be a lazy fixture with parameters (pytest-lazy-fixtures)");
  }

  bool function(const Func& fn, const Outer& o, std::string& reason) const {
    FnState st;
    st.base.outer = &o;
    st.base.name = fn.name;
    st.base.maybe = scope_.maybe_marks;
    if (o.open_marks) st.base.open(true, true, o.open_why);
    st.set_marks_unknown = o.param_marks_unknown;
    st.requested = fn.params;
    st.requested.insert(st.requested.end(), o.usefixtures.begin(), o.usefixtures.end());
    st.usefixtures_unknown = o.usefixtures_unknown;
    if (!own_decorators(fn, o, st)) return true;
    if (fn.is_async) st.base.open(true, true, "async test (plugins may add markers)");
    if (st.usefixtures_unknown) {
      st.open_ids("usefixtures arguments are not literal");
      st.set_marks_unknown = true;
    }
    if (o.parametrized) st.open_ids(o.param_why);
    outer_parametrize(fn, o, st);
    plugin_parametrize(o, st);
    bool fixture_marks_unknown = false;
    const FixtureInfo* only = nullptr;
    std::string fx = fixture_params(o, st.requested, fixture_marks_unknown, &only);
    // pytest's FixtureManager parametrizes the item by the fixture's params
    // with its ids; when that is the item's only parametrization, its ids
    // are those (the order of several sources is not modelled).
    const bool by_fixture = !fx.empty() && only && !st.partial && st.all_sets.empty() && suffixes_.ids.empty();
    if (!fx.empty() && !by_fixture) st.open_ids(fx);
    if (fixture_marks_unknown) st.set_marks_unknown = true;
    if (st.partial) return partial_items(fn, st, reason);
    if (st.set_marks_unknown) st.base.open(true, true, "parameter marks are not literal");
    if (by_fixture) {
      ParamSets ps;
      ps.ids_known = ps.marks_known = true;
      ps.ids = only->ids;
      ps.marks.resize(only->ids.size());
      resolved_.push_back(std::move(ps));
      st.sets.push_back(&resolved_.back());
    }
    if (!suffixes_.ids.empty()) st.sets.push_back(&suffixes_);  // a plugin's own parametrize runs last
    return exact_items(fn, st.base, st.sets, reason);
  }

  // Items whose ids are not all known: matched by the function's name as a prefix.
  bool partial_items(const Func& fn, const FnState& st, std::string& reason) const {
    Item it = st.base;
    it.prefixes.push_back(lower(fn.name));
    if (non_ascii(fn.name)) it.fuzzy = true;
    // Which parameter set an item has is not known: its marks may or may not apply.
    for (const ParamSets* s : st.all_sets)
      for (const auto& m : s->marks) it.maybe.insert(it.maybe.end(), m.begin(), m.end());
    if (st.set_marks_unknown) it.open(true, true, st.partial_why);
    if (it.why.empty()) it.why = st.partial_why;
    return check(it, reason);
  }

  // Exact items: the cartesian product of the parameter sets (ids known),
  // each checked; false (and a reason) as soon as one may be selected.
  bool exact_items(const Func& fn, const Item& base, const std::vector<const ParamSets*>& sets,
                   std::string& reason) const {
    size_t total = 1;
    for (const ParamSets* s : sets) {
      total *= std::max<size_t>(s->ids.size(), 1);
      if (total > kMaxItemsPerFunction) {
        Item it = base;
        it.prefixes.push_back(lower(fn.name));
        it.open(false, false, "too many parameter combinations");
        return check(it, reason);
      }
    }
    std::vector<size_t> pick(sets.size(), 0);
    std::vector<const std::vector<std::string>*> set_marks(sets.size());
    Item it = base;
    it.extra_marks = &set_marks;
    std::string name;
    for (size_t n = 0; n < total; ++n) {
      size_t rem = n;
      for (size_t k = sets.size(); k-- > 0;) {
        pick[k] = rem % sets[k]->ids.size();
        rem /= sets[k]->ids.size();
      }
      name = fn.name;
      if (!sets.empty()) {
        name += "[";
        for (size_t k = 0; k < sets.size(); ++k) {
          if (k) name += "-";
          name += sets[k]->ids[pick[k]];
          set_marks[k] = &sets[k]->marks[pick[k]];
        }
        name += "]";
      }
      it.name = name;
      std::string lowered = lower(name);
      it.extra_kw = &lowered;
      if (!check(it, reason)) return false;
    }
    return true;
  }

  // The classes of the module a module-level class derives from, in method
  // resolution order (C3), itself first; empty (and why) unless every base is
  // `object` or a class statement of this module before it, bound once.
  std::vector<const Class*> linearize(const Class& c, std::string& why, int depth = 0) const {
    if (depth > 32) {
      why = "bases nest too deep";
      return {};
    }
    std::vector<std::vector<const Class*>> seqs;
    std::vector<const Class*> direct;
    for (std::string b : c.bases) {
      b.erase(std::remove_if(b.begin(), b.end(), [](char ch) { return ch == ' ' || ch == '\n' || ch == '\t'; }),
              b.end());
      if (star_imports(f_)) {
        why = "a star import may rebind '" + b + "'";
        return {};
      }
      if (b == "object" && module_bindings(f_, "object") == 0) continue;
      const Class* base = nullptr;
      if (module_bindings(f_, b) == 1)
        for (const auto& k : f_.classes)
          if (k.name == b && !k.conditional && k.line < c.line) base = &k;
      if (!base) {
        why = "base '" + b + "' is not a class of this module";
        return {};
      }
      std::vector<const Class*> sub = base->bases.empty() ? std::vector<const Class*>{base}
                                                          : linearize(*base, why, depth + 1);
      if (sub.empty()) return {};
      seqs.push_back(std::move(sub));
      direct.push_back(base);
    }
    seqs.push_back(direct);
    std::vector<const Class*> out{&c};
    for (;;) {
      seqs.erase(std::remove_if(seqs.begin(), seqs.end(), [](const auto& q) { return q.empty(); }), seqs.end());
      if (seqs.empty()) return out;
      const Class* next = nullptr;
      for (const auto& q : seqs) {
        const Class* cand = q.front();
        bool in_tail = false;
        for (const auto& r : seqs) in_tail = in_tail || std::find(r.begin() + 1, r.end(), cand) != r.end();
        if (!in_tail) {
          next = cand;
          break;
        }
      }
      if (!next) {
        why = "no consistent method resolution order";
        return {};
      }
      out.push_back(next);
      for (auto& q : seqs)
        if (q.front() == next) q.erase(q.begin());
    }
  }

  // A module-level class with bases of this module, as pytest sees it: the
  // attributes of every class in its MRO, the first binding of a name
  // hiding later ones, and the marks of all of them.
  bool merge_bases(const Class& c, Class& out, std::string& why) const {
    std::vector<const Class*> mro = linearize(c, why);
    if (mro.empty()) return false;
    out = Class{};
    out.name = c.name;
    out.line = c.line;
    out.conditional = c.conditional;
    std::set<std::string> seen;
    for (const Class* k : mro) {
      for (const auto& fn : k->funcs) {
        if (fn.name == "__init_subclass__" || fn.name == "__class_getitem__") {
          why = "class '" + k->name + "' defines " + fn.name;
          return false;
        }
      }
      out.decorators.insert(out.decorators.end(), k->decorators.begin(), k->decorators.end());
      out.pytestmark.known = out.pytestmark.known && k->pytestmark.known;
      out.pytestmark.present = out.pytestmark.present || k->pytestmark.present;
      out.pytestmark.marks.insert(out.pytestmark.marks.end(), k->pytestmark.marks.begin(), k->pytestmark.marks.end());
      out.dynamic.insert(out.dynamic.end(), k->dynamic.begin(), k->dynamic.end());
      out.bound.insert(out.bound.end(), k->bound.begin(), k->bound.end());
      out.imports.insert(out.imports.end(), k->imports.begin(), k->imports.end());
      std::vector<std::string> names;
      for (const auto& fn : k->funcs) {
        if (!seen.count(fn.name)) out.funcs.push_back(fn);
        names.push_back(fn.name);
      }
      for (const auto& n : k->classes) {
        if (!seen.count(n.name)) out.classes.push_back(n);
        names.push_back(n.name);
      }
      for (const auto& b : k->bound)
        if (!b.call) names.push_back(b.name);
      for (const auto& imp : k->imports) names.push_back(imp.bound);
      seen.insert(names.begin(), names.end());
    }
    return true;
  }

  // Why a collected class's body defeats the model ("" if nothing does).
  std::string unreadable_class(const Class& c) const {
    if (!c.dynamic.empty()) return "class " + c.name + ": " + c.dynamic[0];
    for (const auto& b : c.bound) {
      if (b.call) {
        if (safe_call(f_, b, cfg_) && !(b.box && class_binds(c, b.name))) continue;
        return "class " + c.name + " body calls " + b.name + "()";
      }
      if (b.name == "__test__" || name_matches(b.name, cfg_.python_functions) ||
          name_matches(b.name, cfg_.python_classes))
        return "class " + c.name + " binds '" + b.name + "' by assignment or import";
    }
    for (const auto& imp : c.imports) {
      if (imp.star) continue;  // a SyntaxError in a class body
      if (imp.bound == "__test__" || imp.bound == "pytestmark" || imp.bound == "pytest_generate_tests" ||
          name_matches(imp.bound, cfg_.python_functions) || name_matches(imp.bound, cfg_.python_classes))
        return "class " + c.name + " imports '" + imp.bound + "'";
    }
    for (const auto& d : c.decorators)
      if (!is_mark_kind(d.kind)) return "class " + c.name + " has decorator @" + d.name;
    return {};
  }

  // Parametrize marks of a class without bases (marks of bases would come
  // first): the class body's pytestmark in list order, then the decorators
  // as applied (bottom first), ahead of the enclosing scopes' sets.
  void class_marks(const Class& c, bool own_sets, const Outer& outer, Outer& o) const {
    std::vector<const Decorator*> deco_params, body_params;
    for (const auto& d : c.decorators) {
      MarkList one;
      one.marks.push_back(d);
      std::vector<const Decorator*> taken;  // points into `one`: keep `d` itself
      add_marklist(one, o, "class", own_sets ? &taken : nullptr);
      if (!taken.empty()) deco_params.push_back(&d);
    }
    add_marklist(c.pytestmark, o, "class", own_sets ? &body_params : nullptr);
    if (!own_sets || (deco_params.empty() && body_params.empty())) return;
    std::vector<std::pair<const Decorator*, const ParamSets*>> mine;
    std::string why;
    for (const Decorator* d : body_params)
      if (d->args_known && d->params.ids_known) mine.emplace_back(d, &d->params);
      else why = "class-level parametrize: ids are not literal";
    // Decorators run in the enclosing scope, before the class exists.
    Func at;
    at.name = c.name;
    at.line = c.line;
    for (size_t i = deco_params.size(); i-- > 0 && why.empty();) {
      const Decorator* d = deco_params[i];
      const ParamSets* ps = d->params.ids_known ? &d->params : nullptr;
      std::string pending_why;
      if (!ps && d->args_known) ps = resolve_pending(*d, at, outer, pending_why);
      if (ps && ps->ids_known) mine.emplace_back(d, ps);
      else why = pending_why.empty() ? "class-level parametrize: ids are not literal" : pending_why;
    }
    if (why.empty()) {
      mine.insert(mine.end(), outer.outer_sets.begin(), outer.outer_sets.end());
      o.outer_sets = std::move(mine);
    } else {
      for (const auto* list : {&body_params, &deco_params})
        for (const Decorator* d : *list) open_params(o, *d, why);
    }
  }

  bool klass(const Class& given, const Outer& outer, std::string& reason) const {
    const Class* cp = &given;
    Class merged;
    if (!given.bases.empty()) {
      std::string why;
      if (outer.cls || !merge_bases(given, merged, why)) {
        reason = "class '" + given.name + "' has base classes ('" + given.bases[0] + "')" +
                 (why.empty() ? "" : ": " + why);
        return false;
      }
      cp = &merged;
    }
    const Class& c = *cp;
    if (!name_matches(c.name, cfg_.python_classes)) return true;  // neither it nor its nested classes are collected
    reason = unreadable_class(c);
    if (!reason.empty()) return false;
    Outer o = outer;
    o.cls = &c;
    o.add_keyword(c.name);
    class_marks(c, given.bases.empty(), outer, o);
    for (const auto& fn : c.funcs)
      if (fn.name == "pytest_generate_tests") {
        o.parametrized = true;
        o.param_marks_unknown = true;
        o.param_why = "class defines pytest_generate_tests";
      }
    std::string op = collect_fixtures(f_, c.funcs, cfg_, o.class_fixtures, o.class_autouse, true);
    if (!imported_names(c.imports, ("class " + c.name).c_str(), o.class_fixtures, o.class_autouse, op, reason))
      return false;
    if (o.opaque.empty()) o.opaque = op;
    for (const auto& fn : c.funcs) {
      if (!name_matches(fn.name, cfg_.python_functions)) continue;
      if (!function(fn, o, reason)) return false;
    }
    for (const auto& nested : c.classes)
      if (!klass(nested, o, reason)) return false;
    return true;
  }
};

}  // namespace

bool name_matches(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (name.rfind(p, 0) == 0) return true;
    if (p.find_first_of("*?[") != std::string::npos && ::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

std::string conftest_global_effect(const FileFacts& f, const std::string& path, const ModelConfig& cfg,
                                   const std::set<std::string>& read_hooks) {
  auto live = cfg.live_conftests.find(path);
  if (live != cfg.live_conftests.end()) {
    for (const auto& name : live->second) {
      if (!starts_with(name, "pytest_") || harmless_hooks().count(name) || path_scoped_hooks().count(name)) continue;
      if (name == "pytest_configure") continue;  // has run: plugins it registered are live plugins
      if (read_hooks.count(name)) continue;
      return path + " defines hook " + name + " (sees every item)";
    }
    return {};
  }
  if (!f.parsed || f.syntax_error) return path + " could not be parsed";
  if (!f.dynamic.empty()) return path + ": " + f.dynamic[0];
  for (const auto& fn : f.funcs) {
    if (!starts_with(fn.name, "pytest_") || harmless_hooks().count(fn.name) || path_scoped_hooks().count(fn.name))
      continue;
    if (fn.name == "pytest_configure" && !f.mentions_pluginmanager) continue;  // e.g. registers markers
    if (read_hooks.count(fn.name) && !fn.conditional) continue;  // its markers are maybe-markers of every item
    return path + " defines hook " + fn.name + " (sees every item)";
  }
  if (f.mentions_pluginmanager) {
    for (const auto& fn : f.funcs)
      if (starts_with(fn.name, "pytest_") && fn.name != "pytest_addoption")
        return path + " may register plugins";
  }
  for (const auto& b : f.bound) {
    if (b.call) {
      if (!safe_call(f, b, cfg)) return path + " calls " + b.name + "() at import";
    } else if (b.name == "pytest_plugins") {
      return path + " sets pytest_plugins";
    } else if (starts_with(b.name, "pytest_")) {
      return path + " binds hook " + b.name;
    }
  }
  for (const auto& imp : f.imports)
    if (starts_with(imp.bound, "pytest_")) return path + " imports hook " + imp.bound;
  return {};
}

// A conftest's pytest_generate_tests read as gated (ModelConfig::generate_gates): its names join the scope's.
static bool gated(const ModelConfig& cfg, const std::string& path, ConftestScope& scope) {
  auto g = cfg.generate_gates.find(path);
  if (g == cfg.generate_gates.end() || g->second.empty()) return false;
  scope.param_gates.insert(scope.param_gates.end(), g->second.begin(), g->second.end());
  return true;
}

void apply_conftest(const FileFacts& f, const std::string& path, const ModelConfig& cfg, ConftestScope& scope,
                    ImportResolver* resolver) {
  if (!scope.unknown.empty()) return;
  auto unknown = [&](const std::string& why) {
    if (scope.unknown.empty()) scope.unknown = path + ": " + why;
  };
  auto live = cfg.live_conftests.find(path);
  if (live != cfg.live_conftests.end()) {
    for (const auto& name : live->second) {
      if (name == "pytest_generate_tests" && gated(cfg, path, scope)) continue;
      if (path_scoped_hooks().count(name) && !harmless_hooks().count(name)) return unknown("defines hook " + name);
    }
    // Its fixtures as pytest parses them, visible in this directory.
    auto fx = cfg.live_fixtures.find(path);
    if (fx != cfg.live_fixtures.end())
      for (const auto& [name, live_fi] : fx->second) {
        auto [it, fresh] = scope.env.defs.emplace(name, live_fi);
        FixtureInfo& fi = it->second;
        if (fresh) continue;
        fi.deps.insert(fi.deps.end(), live_fi.deps.begin(), live_fi.deps.end());
        if (same_ids(fi, live_fi)) continue;
        // Overrides an outer one (which it may request): its ids are not known.
        fi.ids_known = false;
        fi.ids.clear();
        fi.has_params = fi.has_params || live_fi.has_params;
        fi.param_marks_unknown = fi.param_marks_unknown || live_fi.param_marks_unknown;
      }
    auto au = cfg.live_autouse.find(path);
    if (au != cfg.live_autouse.end()) scope.env.autouse.insert(au->second.begin(), au->second.end());
    return;
  }
  if (!f.parsed || f.syntax_error) return unknown("could not be parsed");
  if (!f.dynamic.empty()) return unknown(f.dynamic[0]);
  // Hooks pytest calls per node see only this subtree; the others are
  // conftest_global_effect's business.
  for (const auto& fn : f.funcs) {
    if (fn.name == "pytest_generate_tests" && !fn.conditional && gated(cfg, path, scope)) continue;
    if (path_scoped_hooks().count(fn.name) && !harmless_hooks().count(fn.name))
      return unknown("defines hook " + fn.name);
  }
  for (const auto& b : f.bound) {
    if (b.call) {
      if (!safe_call(f, b, cfg)) return unknown("calls " + b.name + "() at import");
    } else if (b.name == "pytest_plugins") {
      return unknown("sets pytest_plugins");
    } else if (starts_with(b.name, "pytest_")) {
      return unknown("binds hook " + b.name);
    }
  }
  for (const auto& imp : f.imports) {
    if (!imp.from || pytest_or_stdlib(imp.module, cfg)) continue;
    if (starts_with(imp.bound, "pytest_")) return unknown("imports hook " + imp.bound);
    if (!import_runs(f, imp, cfg.type_checking_set)) continue;
    ImportedName r = resolver && !f.mentions_sys_path ? resolver->resolve(imp) : ImportedName{};
    if (r.kind == ImportedName::Fixture && r.name_known && r.autouse_known) {
      const std::string name = r.name.empty() ? imp.bound : r.name;
      FixtureInfo& fi = scope.env.defs[name];
      fi.ids_known = false;
      fi.ids.clear();
      fi.has_params = fi.has_params || r.info.has_params;
      fi.param_marks_unknown = fi.param_marks_unknown || r.info.param_marks_unknown;
      fi.deps.insert(fi.deps.end(), r.info.deps.begin(), r.info.deps.end());
      if (r.autouse) scope.env.autouse.insert(name);
      continue;
    }
    if (r.kind == ImportedName::NotFixture) continue;
    if (scope.env.opaque.empty())
      scope.env.opaque = path + " imports '" + imp.bound + "' (" + (r.why.empty() ? "may be a fixture" : r.why) + ")";
  }
  std::string op = collect_fixtures(f, f.funcs, cfg, scope.env.defs, scope.env.autouse, false);
  if (!op.empty() && scope.env.opaque.empty()) scope.env.opaque = path + ": " + op;
}

bool import_runs(const FileFacts& f, const Import& imp, bool type_checking_set) {
  if (!imp.type_checking || type_checking_set) return true;
  const std::string name = imp.type_checking == 1 ? "TYPE_CHECKING" : "typing";
  bool from_typing = false;
  for (const auto& i : f.imports) {
    if (i.bound != name) continue;
    const bool ok = imp.type_checking == 1 ? i.from && !i.type_checking && i.name == "TYPE_CHECKING" &&
                                                 (i.module == "typing" || i.module == "typing_extensions") &&
                                                 i.level == 0 && (i.path == "typing" || i.path == "typing_extensions")
                                           : !i.from && !i.type_checking && i.name == "typing";
    if (!ok) return true;
    from_typing = true;
  }
  for (const auto& b : f.bound)
    if (b.name == name) return true;
  for (const auto& fn : f.funcs)
    if (fn.name == name) return true;
  for (const auto& c : f.classes)
    if (c.name == name) return true;
  return !from_typing;
}

namespace {
std::string process_state_write(const std::vector<std::string>& dynamic, const std::vector<Class>& classes) {
  for (const auto& d : dynamic)
    if (d.rfind(kProcessState, 0) == 0) return d;
  for (const auto& c : classes)
    if (std::string w = process_state_write(c.dynamic, c.classes); !w.empty()) return w;
  return {};
}
}  // namespace

std::string process_state_write(const FileFacts& f) { return process_state_write(f.dynamic, f.classes); }

// decide.cpp folds conftests by directory; pytest does so only where it
// parses a conftest's fixtures with its Directory node: a conftest above the
// module's collection root (no Directory node) has them parsed for the whole
// session (the rootdir's, those loaded at start-up outside the rootdir) or
// not at all. Non-empty: why this module's fixtures are not as folded.
static std::string unscoped_conftest(const std::string& path, const std::string& root, const ModelConfig& cfg) {
  if (!cfg.node_scoped_conftests) return {};  // (below the rootdir: base node IDs follow directories)
  for (const auto& dir : cfg.session_conftest_dirs)
    if (!is_below(path, dir)) return dir + "/conftest.py: pytest scopes its fixtures to the whole session";
  for (std::string dir = parent_dir(path); !dir.empty() && in_confcutdir(dir, cfg.confcutdir); dir = parent_dir(dir)) {
    if (dir != root && !is_below(dir, root) && cfg.conftest_dirs.count(dir) && !cfg.session_conftest_dirs.count(dir))
      return dir + "/conftest.py: above the collection root, pytest parses none of its fixtures";
    if (dir == "/") break;
  }
  return {};
}

// Why the module's import may change what the modules collected after it
// see ("" if nothing): a process-state write, an object it did not make
// changed in place, or (resolving imports) naming sys.path while calling its
// own code at import. First: decide.cpp looks for this reason.
std::string state_change(const FileFacts& f, const ModelConfig& cfg, bool resolving) {
  std::string w = process_state_write(f);
  std::string made_here;  // a change of an object the module made by an expression
  for (size_t i = 0; i < f.stores.size() && w.empty(); ++i) {
    const std::string& name = f.stores[i];
    if (own_object(f, name)) continue;
    const std::string shown = "(changes '" + name.substr(name[0] == '*') + "' in place)";
    if (name[0] != '*' && made_once(f, name)) {
      if (made_here.empty()) made_here = std::string(kChangesMadeObject) + " " + shown;
    } else {
      w = std::string(kProcessState) + " " + shown;
    }
  }
  for (size_t i = 0; i < f.classes.size() && w.empty(); ++i)
    if (std::string n = class_store(f.classes[i]); !n.empty())
      w = std::string(kProcessState) + " (class " + f.classes[i].name + " changes '" + n.substr(n[0] == '*') +
          "' in place)";
  if (w.empty() && resolving && f.mentions_sys_path)
    for (const auto& b : f.bound)
      if (b.call && !safe_call(f, b, cfg)) return std::string(kProcessState) + " (names sys.path, calls " + b.name +
                                                 "() at import)";
  return w.empty() ? made_here : w;
}

// Hooks pytest calls only for the nodes below a conftest's directory: a
// conftest whose directory is not walked changes nothing elsewhere with them.
static const std::set<std::string>& directory_local_hooks() {
  static const std::set<std::string> s = {
      "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown", "pytest_runtest_makereport",
      "pytest_runtest_logreport", "pytest_runtest_logstart", "pytest_runtest_logfinish", "pytest_runtest_protocol",
      "pytest_pyfunc_call", "pytest_assertrepr_compare", "pytest_assertion_pass", "pytest_fixture_setup",
      "pytest_fixture_post_finalizer", "pytest_markeval_namespace", "pytest_generate_tests",
      "pytest_pycollect_makeitem", "pytest_itemcollected", "pytest_make_collect_report", "pytest_collectstart"};
  return s;
}

static bool collecting_hook(const std::string& name) {
  return name == "pytest_collect_file" || name == "pytest_collect_directory" ||
         name == "pytest_pycollect_makemodule" || name == "pytest_ignore_collect";
}

static bool plain_decorators(const std::vector<Decorator>& decorators) {
  for (const auto& d : decorators)
    if (d.kind == DecoKind::Unknown) return false;
  return true;
}

// A hook or decorator of the conftest's functions that may act outside its directory.
static std::string conftest_function_effect(const FileFacts& f, bool& collects) {
  for (const auto& fn : f.funcs) {
    if (starts_with(fn.name, "pytest_") && !directory_local_hooks().count(fn.name)) {
      collects = collects || collecting_hook(fn.name);
      return "defines hook " + fn.name;
    }
    if (!plain_decorators(fn.decorators)) return "decorates " + fn.name + " with code the model does not read";
  }
  for (const auto& c : f.classes)
    if (!c.bases.empty() || !plain_decorators(c.decorators) || !c.dynamic.empty())
      return "class " + c.name + " runs code the model does not read";
  return {};
}

std::string conftest_outside_effect(const FileFacts& f, const ModelConfig& cfg, bool& collects) {
  collects = false;
  if (!f.parsed || f.syntax_error) return "could not be parsed";
  if (!f.dynamic.empty()) return f.dynamic[0];
  if (f.mentions_pluginmanager) {
    collects = true;
    return "may register plugins";
  }
  if (std::string w = state_change(f, cfg, false); !w.empty()) return w;
  if (std::string w = conftest_function_effect(f, collects); !w.empty()) return w;
  for (const auto& b : f.bound) {
    if (b.call && !safe_call(f, b, cfg)) return kCallsAtImport + b.name + "() at import";
    if (!b.call && starts_with(b.name, "pytest_")) {
      collects = true;
      return "binds " + b.name;
    }
  }
  for (const auto& callee : f.assigned_calls)
    if (!safe_call(f, Binding{callee, true, false}, cfg) &&
        !(pure_builtin(callee) && module_bindings(f, callee) == 0 && !star_imports(f)))
      return kAssignsCallAtImport + callee + "() at import";
  for (const auto& imp : f.imports)
    if (imp.star || starts_with(imp.bound, "pytest_")) {
      collects = true;
      return "imports " + imp.bound;
    }
  return {};
}

bool conftest_imports(const FileFacts& f, const ModelConfig& cfg, std::vector<std::string>& out, std::string& why) {
  for (const auto& imp : f.imports) {
    if (!import_runs(f, imp, cfg.type_checking_set)) continue;
    if (imp.star || imp.level > 0 || imp.path.empty()) {
      why = "imports " + (imp.star ? std::string("*") : imp.name) + (imp.level > 0 ? " relatively" : "");
      return false;
    }
    out.push_back(imp.from ? imp.path + '\x01' + imp.name : imp.path);
  }
  return true;
}

// Why the module's top level defeats the model ("" if nothing does).
static std::string unreadable_top_level(const FileFacts& f, const ModelConfig& cfg) {
  if (!f.parsed) return f.dynamic.empty() ? "not parsed" : f.dynamic[0];
  if (f.syntax_error) return "syntax error (pytest reports it)";
  if (!f.dynamic.empty()) return f.dynamic[0];
  for (const auto& b : f.bound) {
    if (b.call) {
      if (safe_call(f, b, cfg)) continue;
      return kCallsAtImport + b.name + "() at import";
    }
    if (b.name == "pytest_plugins" || b.name == "__test__" || name_matches(b.name, cfg.python_functions) ||
        name_matches(b.name, cfg.python_classes))
      return "binds '" + b.name + "' by assignment, import or del";
  }
  for (const auto& callee : f.assigned_calls)
    if (!safe_call(f, Binding{callee, true, false}, cfg) && !(pure_builtin(callee) && module_bindings(f, callee) == 0 &&
                                                             !star_imports(f) && !cfg.patched_builtins.count(callee)))
      return kAssignsCallAtImport + callee + "() at import";
  for (const auto& imp : f.imports) {
    if (imp.star) continue;
    if (imp.bound == "pytestmark" || imp.bound == "__test__" || imp.bound == "pytest_plugins")
      return "imports '" + imp.bound + "'";
    if (!imp.from) continue;
    if (name_matches(imp.bound, cfg.python_functions) || name_matches(imp.bound, cfg.python_classes))
      return "imports test-like name '" + imp.bound + "'";
    // A name from outside pytest and the stdlib may be a fixture, or a
    // TestCase subclass or an object with __test__ (collected under any
    // name): ModuleEval::imported_names resolves it or gives up.
  }
  return {};
}

// The directory the module's node chain starts from (the Session's child,
// whose own name is no keyword); "" with `why` set when it is not known.
static std::string chain_root(const std::string& path, const ModelConfig& cfg, std::string& why) {
  if ((cfg.anchors.empty() || !cfg.node_scoped_conftests) && !is_below(path, cfg.rootdir)) {
    // pytest < 9.1 gives a conftest outside the rootdir an empty base node
    // ID: its fixtures reach every item collected after it loaded.
    why = "outside rootdir";
    return {};
  }
  if (cfg.anchors.empty()) return cfg.rootdir;
  std::set<std::string> found;
  for (const auto& [arg, anchor] : cfg.anchors)
    if (path == arg || is_below(path, arg)) found.insert(anchor);
  if (found.size() != 1) {
    why = found.empty() ? "under no collection argument" : "under arguments with different node chains";
    return {};
  }
  if (!is_below(path, *found.begin())) {
    why = "named on the command line";
    return {};
  }
  return *found.begin();
}

Decision decide(const FileFacts& f, const std::string& path, const ConftestScope& scope, const ModelConfig& cfg,
                const Filter& filter, ImportResolver* resolver) {
  Decision d;
  d.reason = state_change(f, cfg, resolver != nullptr);
  if (d.reason.empty()) d.reason = scope.unknown;
  if (d.reason.empty()) d.reason = unreadable_top_level(f, cfg);
  if (!d.reason.empty()) return d;
  const std::string root = chain_root(path, cfg, d.reason);
  if (root.empty()) return d;
  d.reason = unscoped_conftest(path, root, cfg);
  if (!d.reason.empty()) return d;
  // Node chain below the root: directories, then the module file.
  std::vector<std::string> chain;
  size_t start = root == "/" ? 1 : root.size() + 1;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      chain.push_back(path.substr(start));
      break;
    }
    chain.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  ModuleEval ev(f, scope, cfg, filter, resolver);
  std::string reason;
  if (ev.all_false(chain, reason)) {
    d.skip = true;
    d.reason = "no item can match";
  } else {
    d.reason = reason;
  }
  return d;
}

}  // namespace fc
