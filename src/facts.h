// Per-file facts: what a Python source could contribute to pytest's collection,
// extracted without running it. The schema is independent of pytest's
// configuration (name patterns are applied when a filter is evaluated), so one
// index serves every run of a project.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fc {

// Bumped whenever the layout or the meaning of any field changes; a stored
// record with another version is ignored and the file is parsed again.
constexpr uint32_t kFactsVersion = 15;

// The ids of one parametrize decorator (or pytest.param list), as pytest would
// build them, when every id could be computed from literals.
struct ParamSets {
  bool ids_known = false;                      // every id below is exact
  std::vector<std::string> ids;                // one per parameter set
  bool marks_known = false;                    // marks of each set are exact
  std::vector<std::vector<std::string>> marks; // marks of each set (pytest.param(marks=))
  // Ids that depend on the module's names (a parametrize value that is a
  // name or an attribute of one, argvalues `range(...)`): per set, the parts
  // its id joins with "-", each a literal id or kRefPart + the dotted name
  // whose value decides it (its __name__, or argname+index). Empty when the
  // ids are known (ids_known) or cannot be computed.
  std::vector<std::vector<std::string>> pending;
  std::vector<std::string> pending_builtins;  // builtins the parts assume untouched ("range", "list")
  // Once every reference is a plain object (no ParameterSet), the marks are
  // `marks` exactly.
  bool pending_marks_known = false;
  // Argvalues read from the display a name is bound to (collect_value_lists):
  // the display's line, where the names in it were looked up (0: inline).
  uint32_t values_line = 0;
};

// Marks a part of ParamSets::pending that names a value (literal ids are
// printable ASCII, never this byte).
constexpr char kRefPart = '\x01';

enum class DecoKind : uint8_t {
  Mark = 0,         // @pytest.mark.NAME or @pytest.mark.NAME(...)
  Parametrize = 1,  // @pytest.mark.parametrize(...)
  Usefixtures = 2,  // @pytest.mark.usefixtures(...)
  Fixture = 3,      // @pytest.fixture / @pytest.fixture(...)
  Builtin = 4,      // staticmethod, classmethod, or a decorator from the stdlib
  Unknown = 5,      // anything else: may add attributes, marks, or a fixture
};

struct Decorator {
  DecoKind kind = DecoKind::Unknown;
  std::string name;              // mark name; builtin name; unknown: source text
  std::vector<std::string> args; // usefixtures names, parametrize argnames
  bool args_known = true;        // args above are exact
  ParamSets params;              // parametrize sets, or fixture params
  bool has_params = false;       // fixture(params=...) given
  bool autouse = false;          // fixture(autouse=True); autouse_known false if not literal
  bool autouse_known = true;
  std::string fixture_name;      // fixture(name="...") or empty
  bool fixture_name_known = true;
  std::string root;              // unknown decorator: leftmost identifier (for stdlib checks)
};

// One entry of a module's or a class body's bindings, in source order: a name
// bound by assignment, import, `for`/`with`/`except` target, `del` or walrus,
// or a bare call statement (which may bind names the source does not show;
// the model accepts calls into pytest or the stdlib).
struct Binding {
  std::string name;   // the bound name; for a call, the callee's leftmost identifier
  bool call = false;  // a call statement rather than a bound name
  // Assigned (once, by this binding) a value that is never a fixture object:
  // a literal, a container display, a comprehension or a lambda.
  bool literal = false;
  // Assigned (once, by this binding) a list, tuple, dict or set display or
  // comprehension: an object whose parametrize id is argname+index. On a
  // call: the call is `name.append(...)` or another in-place method of a
  // list, dict or set (harmless where `name` is a display).
  bool box = false;
  uint32_t line = 0;  // box: where the statement starts
  // From an attribute or subscript target (`NAME.x = v`, `NAME[0] = v`,
  // `del NAME[0]`): the statement changes NAME's object, it binds no name.
  bool store = false;
};

struct Func {
  std::string name;
  uint32_t line = 0;
  bool is_async = false;
  bool conditional = false;          // defined inside if/try/for/with
  std::vector<std::string> params;   // every parameter name
  std::vector<Decorator> decorators; // in source order (top first)
};

struct MarkList {
  bool known = true;               // false: pytestmark not a literal list of marks
  bool present = false;            // pytestmark assigned at all
  std::vector<Decorator> marks;    // each a Mark/Parametrize/Usefixtures decorator
};

struct Import {
  std::string bound;   // the name bound in the module ("*" for a star import)
  std::string module;  // top-level module it comes from ("" for relative)
  bool from = false;   // from-import (binds an object, not a module)
  // Where it comes from: the dotted module of a from-import without its
  // leading dots (`from ..a.b import c`: "a.b", level 2; `from . import c`:
  // "", level 1), the imported name ("c"; a plain import: the dotted module).
  std::string path;
  uint32_t level = 0;
  std::string name;
  bool star = false;         // from X import * (also a `dynamic` reason)
  bool conditional = false;  // inside if/try/for/while/with
  // Inside `if TYPE_CHECKING:` (1) or `if typing.TYPE_CHECKING:` (2): does not
  // run, when the module binds that name from typing.
  uint8_t type_checking = 0;
  uint32_t line = 0;     // where the statement starts
  bool alias = false;    // `import a.b as c` / `from a import b as c`
};

// The `dynamic` reason a star import gives; resolution follows star imports
// (Import::star) instead.
constexpr const char* kStarImportReason = "star import from '";
// The `dynamic` reason (prefix) of a statement at module or class level that
// writes process state other modules' collection may read: the environment,
// the working directory, sys.path, typing.TYPE_CHECKING. Such a module is
// imported, and is imported before what it may affect (see decide.cpp).
constexpr const char* kProcessState = "changes process state at import";
// A test module that changes in place an object it made at import by a call
// or an operator (`subarr = np.empty(2); subarr[:] = ...`): a change of
// what others see only if the expression returned a shared object. Never
// recorded unless shown its own (links.own_changers). Like kProcessState it
// makes the skips that resolved imported names imports: a call may return a
// shared object (a module, an object whose setter writes a global).
constexpr const char* kChangesMadeObject = "changes in place an object made at import";
// Reasons (prefixes) of a module whose top level calls code the model does
// not read (`helpers.set_mode("x")`, `X = helpers.make()`): the call may
// change what other modules' decisions resolved from source, so it too
// makes the skips that resolved imported names imports.
constexpr const char* kCallsAtImport = "module calls ";
constexpr const char* kAssignsCallAtImport = "module assigns the result of ";
// Suffix of "uses exec" / "uses eval" when every use is inside a function body
// and the source names no foreign namespace: no module name is bound by it.
constexpr const char* kInFunction = " in a function";

struct Class {
  std::string name;
  uint32_t line = 0;
  bool conditional = false;
  std::vector<std::string> bases;      // source text of each base / keyword
  std::vector<Decorator> decorators;
  MarkList pytestmark;
  std::vector<Func> funcs;
  std::vector<Class> classes;
  std::vector<Binding> bound;          // other names bound in the body
  std::vector<std::string> dynamic;    // reasons the body cannot be predicted
  std::vector<Import> imports;         // imports in the body (bind class attributes)
  std::vector<std::string> stores;     // what the body changes in place (FileFacts::stores)
};


struct FileFacts {
  bool parsed = false;                 // false: not parsed (too large, unreadable)
  bool syntax_error = false;
  std::vector<std::string> dynamic;    // module-level reasons for "cannot predict"
  std::vector<Func> funcs;             // module-level functions
  std::vector<Class> classes;          // module-level classes
  MarkList pytestmark;                 // module pytestmark
  std::vector<Binding> bound;          // other module-level bindings
  std::vector<Import> imports;
  // Names whose object a statement at import changes in place (module and
  // class bodies): the root name of an attribute or subscript target of an
  // assignment or del, and the target of an augmented assignment
  // (`lib.MODE = 1`, `CASES[0] = 2`, `CASES += [3]`, `del lib.X`). Another
  // module may hold the object (links.py).
  std::vector<std::string> stores;
  // Callee roots of the calls a module-level statement makes other than the
  // statement call itself: everywhere in an assigned value
  // (`SQLITE = myproj.enable_sqlite()`, `X = list(myproj.f())`), in a
  // statement call's arguments, in any other expression statement
  // (`[reg(n) for n in NAMES]`): code that runs at import and may
  // change what other modules see (the model decides test modules with it;
  // resolution does not: such a call rebinds only its target).
  std::vector<std::string> assigned_calls;
  // Module-level names an assignment binds to a new object made by an
  // expression (a call, an operator: not a name, an attribute or a literal).
  std::vector<std::string> made;
  bool mentions_pluginmanager = false;  // source text names the plugin manager (may register plugins)
  bool mentions_sys_path = false;       // source text names sys.path (may change where imports are found)
  // Source text may set some object's __name__ (`f.__name__ = ...`, or the
  // string "__name__" given to setattr/update_wrapper): a def's name is then
  // not surely its __name__.
  bool sets_dunder_name = false;
};

// Binary form stored in the index. Decoding validates every length and fails
// (returns false) on anything malformed.
std::string encode_facts(const FileFacts& f);
bool decode_facts(const char* data, size_t size, FileFacts& out);

}  // namespace fc
