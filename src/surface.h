// Collection surfaces: what of a Python file collection could have seen.
//
// A learned generation depends on the files collection ran. Most of a large
// package's code never runs while pytest collects: the bodies of functions
// nobody called. A file's *surface* is its syntax tree with the bodies of the
// functions that did not run replaced by what the rest of the program can
// still observe without running them: whether it is a generator, and its
// docstring where collection read it (a function's `__doc__`, seen by the
// core's hook: doc_reads.c). Everything else is kept: module and class level code,
// decorators, signatures, default values, the bodies of the functions that
// ran. Comments (except an encoding declaration), whitespace and line
// positions are not part of a surface (see docs/design.md: collection that
// reads a file as data, as linecache and inspect.getsource do, makes the file
// count as its whole content instead).
//
// Functions are named by qualified name, as Python's __qualname__ names them
// (`Class.method`, `outer.<locals>.inner`), so a surface does not depend on
// where in the file a function sits. Every definition of a qualified name
// that ran keeps its body.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tree_sitter/api.h>

#include "bindings.h"

namespace fc {

struct FunctionSpan {
  std::string name;      // the def's own name (a code object's co_name)
  std::string qualname;  // its __qualname__
  uint32_t first_line = 0;  // 1-based line of its first decorator, else of `def` (co_firstlineno)
  bool is_class = false;    // a class body (never elided)
};

// Every function and class definition of `source`, in order. False when the
// source does not parse cleanly (then it has no surface, only its content).
bool function_spans(const TSLanguage* lang, std::string_view source, std::vector<FunctionSpan>& out);

// The hash of the surface of `source` when the functions named in `ran` ran
// (its binding statements left out, and listed in `bindings` when given).
// False when the source does not parse cleanly.
bool surface_hash(const TSLanguage* lang, std::string_view source, const std::set<std::string>& ran, uint64_t& out,
                  std::vector<BoundName>* bindings = nullptr);

// Code that ran, as the tracer saw it: (co_name, co_firstlineno). A name
// that starts with kDocRead names a function whose docstring was read, not
// one that ran; kAllDocsRead alone stands for every function of the file
// (the reads were not recorded). Mapped to qualified names, they keep the
// prefix: a surface's set of names holds both kinds.
using RanCode = std::vector<std::pair<std::string, uint32_t>>;
inline constexpr char kDocRead = '\x01';
inline constexpr const char* kAllDocsRead = "\x01*";
// typing.TYPE_CHECKING was true while collecting: `if TYPE_CHECKING:` bodies
// ran (otherwise they are dead code, left out of the surface where the file
// binds TYPE_CHECKING only by importing it from typing).
inline constexpr const char* kTypeCheckingRuns = "\x02TYPE_CHECKING";

// Maps traced code objects to qualified names. False when one of them names
// no definition of `source` (the file is not the one that ran): the file is
// then its whole content. Lambdas, comprehensions, generator expressions and
// the module body live inside code that is part of the surface and need no name.
bool ran_qualnames(const std::vector<FunctionSpan>& spans, const RanCode& ran, std::set<std::string>& out);

// The surface of one file in one parse: the traced code mapped to qualified
// names (`names` gains them, beside any it holds) and the surface's hash with
// every name in `names`. False when the source does not parse cleanly or the
// traced code does not match it.
bool file_surface(const TSLanguage* lang, std::string_view source, const RanCode& ran, std::set<std::string>& names,
                  uint64_t& out, std::vector<BoundName>* bindings = nullptr);

}  // namespace fc
