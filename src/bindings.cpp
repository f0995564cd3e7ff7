#include "bindings.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <xxhash.h>

namespace fc {

namespace {

bool is(TSNode n, const char* type) { return std::strcmp(ts_node_type(n), type) == 0; }

std::string_view text_of(TSNode n, std::string_view src) {
  return src.substr(ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n));
}

TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

bool dunder(std::string_view name) {
  return name.size() > 4 && name.substr(0, 2) == "__" && name.substr(name.size() - 2) == "__";
}

bool literal(TSNode n, bool hashable, int depth);

// `lambda x, y=1: ...` with literal defaults: making the function runs none
// of its body and cannot raise (a lambda has no annotations). What its body
// does when called is code that ran, reached only through the value.
bool plain_lambda(TSNode n, int depth) {
  TSNode params = field(n, "parameters");
  if (ts_node_is_null(params)) return true;
  for (uint32_t i = 0; i < ts_node_named_child_count(params); ++i) {
    TSNode p = ts_node_named_child(params, i);
    if (is(p, "comment") || is(p, "identifier") || is(p, "keyword_separator") || is(p, "positional_separator") ||
        is(p, "list_splat_pattern") || is(p, "dictionary_splat_pattern"))
      continue;
    TSNode value = field(p, "value");
    if (!is(p, "default_parameter") || ts_node_is_null(value) || !literal(value, false, depth + 1)) return false;
  }
  return true;
}

// A value Python builds without running code or looking up a name, that
// cannot raise: numbers, strings, constants, lambdas (plain_lambda),
// containers of them (set elements and dict keys hashable). `hashable`: only
// what a set can hold (a function is hashable).
bool literal(TSNode n, bool hashable, int depth) {
  if (depth > 64) return false;
  if (is(n, "integer") || is(n, "float") || is(n, "true") || is(n, "false") || is(n, "none") || is(n, "ellipsis"))
    return true;
  if (is(n, "string") || is(n, "concatenated_string")) return plain_string(n);
  if (is(n, "unary_operator")) {
    TSNode arg = field(n, "argument"), op = field(n, "operator");
    return !ts_node_is_null(arg) && !ts_node_is_null(op) && (is(op, "-") || is(op, "+")) &&
           (is(arg, "integer") || is(arg, "float"));
  }
  if (is(n, "lambda")) return plain_lambda(n, depth);
  const bool tuple = is(n, "tuple") || is(n, "parenthesized_expression") || is(n, "expression_list");
  const bool container = is(n, "list") || is(n, "set") || is(n, "dictionary");
  if (!tuple && !(container && !hashable)) return false;
  for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
    TSNode c = ts_node_named_child(n, i);
    if (is(c, "comment")) continue;
    if (is(n, "dictionary")) {
      if (!is(c, "pair")) return false;  // `**other`
      TSNode k = field(c, "key"), v = field(c, "value");
      if (ts_node_is_null(k) || ts_node_is_null(v) || !literal(k, true, depth + 1) || !literal(v, false, depth + 1))
        return false;
    } else if (!literal(c, hashable || is(n, "set"), depth + 1)) {
      return false;
    }
  }
  return true;
}

// An undecorated function definition whose body did not run, whose defaults
// are literals and whose annotations are not evaluated.
bool plain_def(TSNode n, std::string_view src, bool future_annotations, const std::set<std::string>& ran,
               std::vector<BoundName>& out, bool method = false) {
  TSNode name = field(n, "name"), params = field(n, "parameters");
  if (ts_node_is_null(name) || ts_node_is_null(params) || !ts_node_is_null(field(n, "type_parameters"))) return false;
  const std::string nm(text_of(name, src));
  if ((dunder(nm) && !method) || ran.count(nm)) return false;
  if (!ts_node_is_null(field(n, "return_type")) && !future_annotations) return false;
  for (uint32_t i = 0; i < ts_node_named_child_count(params); ++i) {
    TSNode p = ts_node_named_child(params, i);
    if (is(p, "comment") || is(p, "identifier") || is(p, "keyword_separator") || is(p, "positional_separator") ||
        is(p, "list_splat_pattern") || is(p, "dictionary_splat_pattern"))
      continue;
    const bool typed = is(p, "typed_parameter") || is(p, "typed_default_parameter");
    if (typed && !future_annotations) return false;
    if (is(p, "typed_parameter")) continue;
    if (!is(p, "default_parameter") && !is(p, "typed_default_parameter")) return false;
    TSNode value = field(p, "value");
    if (ts_node_is_null(value) || !literal(value, false, 0)) return false;
  }
  out.push_back(BoundName{nm, {}, {}, 0});
  return true;
}

// `name = <literal>`, one plain name, no annotation.
bool literal_assignment(TSNode n, std::string_view src, std::vector<BoundName>& out) {
  if (ts_node_named_child_count(n) != 1) return false;
  TSNode a = ts_node_named_child(n, 0);
  if (!is(a, "assignment") || !ts_node_is_null(field(a, "type"))) return false;
  TSNode left = field(a, "left"), right = field(a, "right");
  if (ts_node_is_null(left) || ts_node_is_null(right) || !is(left, "identifier")) return false;
  const std::string nm(text_of(left, src));
  if (dunder(nm) || !literal(right, false, 0)) return false;
  out.push_back(BoundName{nm, {}, {}, 0});
  return true;
}

// A class without bases, keywords or decorators whose body only holds
// docstrings, `pass`, literal assignments and undecorated methods that did
// not run (as plain_def): building it runs nothing of the module's and
// cannot fail (object's __init_subclass__; no value has __set_name__).
bool plain_class(TSNode n, std::string_view src, bool future_annotations, const std::set<std::string>& ran,
                 std::vector<BoundName>& out) {
  TSNode name = field(n, "name"), body = field(n, "body");
  if (ts_node_is_null(name) || ts_node_is_null(body) || !ts_node_is_null(field(n, "type_parameters"))) return false;
  TSNode bases = field(n, "superclasses");
  if (!ts_node_is_null(bases) && ts_node_named_child_count(bases) > 0) return false;
  const std::string nm(text_of(name, src));
  if (dunder(nm)) return false;
  std::vector<BoundName> inner;
  for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i) {
    TSNode c = ts_node_named_child(body, i);
    if (is(c, "comment") || is(c, "pass_statement")) continue;
    if (is(c, "expression_statement") && ts_node_named_child_count(c) == 1 && plain_string(ts_node_named_child(c, 0)))
      continue;  // a docstring
    if (is(c, "function_definition")) {
      TSNode m = field(c, "name");
      if (ts_node_is_null(m)) return false;
      const std::string method(text_of(m, src));
      // Its qualified name is Class.method; dunder methods are fine here.
      if (ran.count(nm + "." + method)) return false;
      std::set<std::string> none;
      std::vector<BoundName> ignore;
      if (!plain_def(c, src, future_annotations, none, ignore, true)) return false;
      continue;
    }
    if (!literal_assignment(c, src, inner)) return false;
  }
  out.push_back(BoundName{nm, {}, {}, 0});
  return true;
}

// A dotted module name as written, without the spaces or comments it may hold
// between its parts; empty when it holds a comment or a line continuation.
std::string module_name(TSNode n, std::string_view src) {
  std::string module(text_of(n, src));
  module.erase(std::remove_if(module.begin(), module.end(), [](char ch) { return ch == ' ' || ch == '\t'; }),
               module.end());
  return module.find_first_of("#\\\n") != std::string::npos ? std::string() : module;
}

// One binding's own hash: what it binds from where (the statement around it,
// `from m import a, b`, may change without changing what `a` is).
uint64_t import_hash(const BoundName& b) {
  const std::string key = b.name + '\0' + b.module + '\0' + b.attr;
  return XXH3_64bits(key.data(), key.size()) | 1;  // never 0: 0 is "the statement's hash"
}

// `from a.b import c, d as e` (binds c and e), absolute and without a star:
// where `a.b` is loaded and holds `c` and `d` in its namespace, it only
// reads them there (binding_change asks `has`).
bool plain_from_import(TSNode n, std::string_view src, std::vector<BoundName>& out) {
  TSNode m = field(n, "module_name");
  if (ts_node_is_null(m) || !is(m, "dotted_name")) return false;  // relative: `from . import x`
  const std::string module = module_name(m, src);
  if (module.empty()) return false;
  std::vector<BoundName> found;
  for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
    TSNode c = ts_node_named_child(n, i);
    if (ts_node_eq(c, m) || is(c, "comment")) continue;
    TSNode name = c, alias = c;
    if (is(c, "aliased_import")) {
      name = field(c, "name");
      alias = field(c, "alias");
      if (ts_node_is_null(name) || ts_node_is_null(alias)) return false;
    } else if (!is(c, "dotted_name")) {
      return false;  // `*`
    }
    const std::string attr(text_of(name, src)), bound(text_of(alias, src));
    if (!is(name, "dotted_name") || ts_node_named_child_count(name) != 1 || dunder(attr) || dunder(bound))
      return false;
    found.push_back(BoundName{bound, module, attr, 0});
    found.back().hash = import_hash(found.back());
  }
  if (found.empty()) return false;
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

// `import a.b.c` (binds a) and `import a.b as c` (binds c).
bool plain_import(TSNode n, std::string_view src, std::vector<BoundName>& out) {
  std::vector<BoundName> found;
  for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
    TSNode c = ts_node_named_child(n, i);
    if (is(c, "comment")) continue;
    TSNode m = c, alias{};
    if (is(c, "aliased_import")) {
      m = field(c, "name");
      alias = field(c, "alias");
      if (ts_node_is_null(m) || ts_node_is_null(alias)) return false;
    } else if (!is(c, "dotted_name")) {
      return false;
    }
    const std::string module = module_name(m, src);  // `a . b` is a.b
    const std::string bound = ts_node_is_null(alias) ? module.substr(0, module.find('.')) : std::string(text_of(alias, src));
    if (module.empty() || dunder(bound)) return false;
    found.push_back(BoundName{bound, module, {}, 0});
    found.back().hash = import_hash(found.back());
  }
  if (found.empty()) return false;
  out.insert(out.end(), found.begin(), found.end());
  return true;
}

}  // namespace

bool plain_string(TSNode n) {
  if (is(n, "concatenated_string")) {
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (!is(c, "comment") && !plain_string(c)) return false;
    }
    return true;
  }
  if (!is(n, "string")) return false;
  for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i)
    if (is(ts_node_named_child(n, i), "interpolation")) return false;  // an f-string evaluates code
  return true;
}

bool has_future_annotations(TSNode root, std::string_view source) {
  for (uint32_t i = 0; i < ts_node_named_child_count(root); ++i) {
    TSNode c = ts_node_named_child(root, i);
    if (!is(c, "future_import_statement")) continue;
    for (uint32_t j = 0; j < ts_node_named_child_count(c); ++j) {
      TSNode nm = ts_node_named_child(c, j);
      if (is(nm, "aliased_import")) nm = field(nm, "name");
      if (!ts_node_is_null(nm) && text_of(nm, source) == "annotations") return true;
    }
  }
  return false;
}

// The module's docstring: a string (no interpolation) as its first
// statement binds `__doc__` and does nothing else. Where it is absent, the
// module's `__doc__` is None: adding or removing it changes that binding.
bool module_docstring(TSNode stmt, std::vector<BoundName>& out) {
  if (ts_node_named_child_count(stmt) != 1 || !plain_string(ts_node_named_child(stmt, 0))) return false;
  for (TSNode p = ts_node_prev_named_sibling(stmt); !ts_node_is_null(p); p = ts_node_prev_named_sibling(p))
    if (!is(p, "comment")) return false;
  out.push_back(BoundName{"__doc__", {}, {}, 0});
  return true;
}

bool binding_statement(TSNode stmt, std::string_view source, bool future_annotations,
                       const std::set<std::string>& ran, std::vector<BoundName>& out) {
  if (is(stmt, "function_definition")) return plain_def(stmt, source, future_annotations, ran, out);
  if (is(stmt, "expression_statement")) return module_docstring(stmt, out) || literal_assignment(stmt, source, out);
  if (is(stmt, "import_statement")) return plain_import(stmt, source, out);
  if (is(stmt, "import_from_statement")) return plain_from_import(stmt, source, out);
  if (is(stmt, "class_definition")) return plain_class(stmt, source, future_annotations, ran, out);
  return false;
}

uint64_t name_hash(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

uint64_t own_name_hash(const std::string& path, uint64_t name) {
  const uint64_t parts[2] = {name_hash(path), name};
  return XXH3_64bits(parts, sizeof parts);
}

BindingTable binding_table(const std::vector<BoundName>& bindings) {
  std::map<uint64_t, uint64_t> by_name;
  for (const auto& b : bindings) {
    auto it = by_name.emplace(name_hash(b.name), 0).first;
    const uint64_t parts[2] = {it->second, b.hash ^ name_hash(b.module)};
    it->second = XXH3_64bits(parts, sizeof parts);
  }
  return {by_name.begin(), by_name.end()};
}

namespace {

bool contains(const std::vector<uint64_t>& sorted, uint64_t h) { return std::binary_search(sorted.begin(), sorted.end(), h); }

// Was `module` (and every package above it) loaded before tracing began?
bool preloaded(const std::string& module, const Observed& seen) {
  for (size_t dot = 0;; ++dot) {
    dot = module.find('.', dot);
    if (!contains(seen.preloaded, name_hash(std::string_view(module).substr(0, dot)))) return false;
    if (dot == std::string::npos) return true;
  }
}

}  // namespace

std::string binding_change(const BindingTable& stored, const std::vector<BoundName>& now, const Observed& seen,
                           bool opaque, const std::string& path, const AttrCheck* has) {
  const BindingTable current = binding_table(now);
  std::map<uint64_t, const BoundName*> named;  // a name of this content, for the reason
  for (const auto& b : now) named.emplace(name_hash(b.name), &b);
  auto why = [&](uint64_t h, const char* what) {
    auto it = named.find(h);
    return std::string(what) + (it != named.end() ? " " + it->second->name : std::string(" (a removed name)"));
  };
  std::vector<uint64_t> differ;
  std::vector<std::pair<uint64_t, uint64_t>> only;
  std::set_symmetric_difference(stored.begin(), stored.end(), current.begin(), current.end(), std::back_inserter(only));
  for (const auto& [h, _] : only) differ.push_back(h);
  differ.erase(std::unique(differ.begin(), differ.end()), differ.end());
  for (uint64_t h : differ) {
    if (!seen.known) return why(h, "binding, and what collection read is not known:");
    if (opaque) return why(h, "binding in an enumerated namespace:");
    if (contains(seen.names, h)) return why(h, "binding of a name exec'd code read:");
    if (contains(seen.names, own_name_hash(path, h))) return why(h, "binding of a name read from this module:");
  }
  for (const auto& b : now) {
    if (b.module.empty() || !std::binary_search(differ.begin(), differ.end(), name_hash(b.name))) continue;
    if (!preloaded(b.module, seen)) return "import of " + b.module + ", not loaded before collection";
    if (!b.attr.empty() && !(has && *has && (*has)(b.module, b.attr)))
      return "import of " + b.attr + " from " + b.module + ", not in its namespace";
  }
  return {};
}

}  // namespace fc
