// BoundName statements: module-level code whose only effect is to bind names.
//
// A learned generation keeps a file by its surface (surface.h). Most edits of
// module-level code add, remove or change a function, an import or a
// constant that collection never read: such a statement is left out of the
// surface hash and listed instead, by the names it binds. A later content
// whose surface is equal and whose binding statements differ only in names
// collection could not have read keeps the generation (docs/design.md,
// "Bindings").
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tree_sitter/api.h>

namespace fc {

// A module-level statement whose only effect is to bind names (see
// docs/design.md, "Bindings"): an undecorated `def` whose body did not run,
// with literal defaults (annotations only under `from __future__ import
// annotations`); `name = <literal>`; `import a.b [as c]`; `from a.b import
// c [as d]` (absolute, no star); the module's
// docstring (it binds `__doc__`, the one dunder name bound this way: nothing
// reads it implicitly, while the import system, whose reads are not noted,
// and the interpreter read `__all__`, `__getattr__`, `__path__`). It is not part of
// the surface hash; each name it binds is a BoundName, and a later content may
// differ in these statements wherever collection could not have read the
// names (see binding_change).
struct BoundName {
  std::string name;    // the name bound
  std::string module;  // `import`, `from ... import`: the module that must already be loaded; else empty
  std::string attr;    // `from module import attr`: must be in the loaded module's namespace
  uint64_t hash = 0;   // the statement's surface form (an import's: of this one binding) and place
};

// Does the loaded module `module` hold `attr` in its namespace, now (so
// `from module import attr` reads it there, importing and running nothing)?
using AttrCheck = std::function<bool(const std::string& module, const std::string& attr)>;

// Stored form: (hash of the name, hash of its statements in order), sorted.
using BindingTable = std::vector<std::pair<uint64_t, uint64_t>>;
uint64_t name_hash(std::string_view name);
// A name `path`'s own code looked up in its globals.
uint64_t own_name_hash(const std::string& path, uint64_t name);
BindingTable binding_table(const std::vector<BoundName>& bindings);

// What a learning run's collection could have read, generation-wide (hashed,
// sorted): per file (own_name_hash), the names read from its namespace - by
// its own code (LOAD_GLOBAL, LOAD_NAME) and from outside it (every getattr on
// the module object: module_reads.c); the names exec'd text looked up, in
// whatever namespace it ran (name_hash); and the modules loaded before
// tracing began.
struct Observed {
  bool known = false;  // false: nothing is known, so every binding counts
  std::vector<uint64_t> names;
  std::vector<uint64_t> preloaded;
};

// The first change between a stored table and a content's bindings that
// collection could observe ("" when none): a name it could have read, any
// change in a module whose namespace was enumerated (`opaque`), an import
// of a module that was not loaded before tracing, or a from-import of a name
// `has` does not find in that module (every one, without `has`).
std::string binding_change(const BindingTable& stored, const std::vector<BoundName>& now, const Observed& seen,
                           bool opaque, const std::string& path, const AttrCheck* has = nullptr);

// Is `stmt` (a direct child of the module) a binding statement? Then its
// bindings (hash 0: the caller hashes the statement) are appended to `out`.
// `ran` holds the qualified names of the functions that ran;
// `future_annotations`: the module has `from __future__ import annotations`.
bool binding_statement(TSNode stmt, std::string_view source, bool future_annotations,
                       const std::set<std::string>& ran, std::vector<BoundName>& out);

// A string literal without interpolation (an f-string runs code), or an
// implicit concatenation of them: a docstring where it is a body's first statement.
bool plain_string(TSNode n);

// Does the module (its root node) import annotations from __future__?
bool has_future_annotations(TSNode root, std::string_view source);

}  // namespace fc
