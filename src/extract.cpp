// Walks a tree-sitter Python tree and records the facts of facts.h.
//
// The walk is deliberately conservative: every construct it does not fully
// understand is written down (as an Unknown decorator, a bound name, or a
// "dynamic" reason) so that the model can treat it as Unknown. Statement
// nesting is bounded, so hostile input cannot exhaust the stack.
#include "extract.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

namespace fc {

int min_language_version() { return TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION; }
int max_language_version() { return TREE_SITTER_LANGUAGE_VERSION; }
bool language_supported(const TSLanguage* lang) {
  if (lang == nullptr) return false;
  auto v = static_cast<int>(ts_language_version(lang));
  return v >= min_language_version() && v <= max_language_version();
}

namespace {

constexpr int kMaxDepth = 64;

bool is(TSNode n, const char* type) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), type) == 0; }

// The named children of n, in order, for long lists (a module's statements,
// a parametrize list): one cursor visits each child once, where
// ts_node_named_child(n, i) descends from n again on every call. For nodes
// with a few children the index loop is cheaper, and is used.
std::vector<TSNode> named_children(TSNode n) {
  std::vector<TSNode> out;
  if (ts_node_is_null(n) || ts_node_child_count(n) == 0) return out;
  TSTreeCursor cur = ts_tree_cursor_new(n);
  if (ts_tree_cursor_goto_first_child(&cur)) {
    do {
      TSNode ch = ts_tree_cursor_current_node(&cur);
      if (ts_node_is_named(ch)) out.push_back(ch);
    } while (ts_tree_cursor_goto_next_sibling(&cur));
  }
  ts_tree_cursor_delete(&cur);
  return out;
}

// Field ids, resolved once per grammar (name lookups scan the grammar's field table).
struct Fields {
  TSFieldId alias = 0;
  TSFieldId argument = 0;
  TSFieldId arguments = 0;
  TSFieldId attribute = 0;
  TSFieldId body = 0;
  TSFieldId consequence = 0;
  TSFieldId definition = 0;
  TSFieldId function = 0;
  TSFieldId left = 0;
  TSFieldId module_name = 0;
  TSFieldId name = 0;
  TSFieldId object = 0;
  TSFieldId parameters = 0;
  TSFieldId right = 0;
  TSFieldId superclasses = 0;
  TSFieldId value = 0;
};

Fields resolve_fields(const TSLanguage* lang) {
  Fields f;
  f.alias = ts_language_field_id_for_name(lang, "alias", 5);
  f.argument = ts_language_field_id_for_name(lang, "argument", 8);
  f.arguments = ts_language_field_id_for_name(lang, "arguments", 9);
  f.attribute = ts_language_field_id_for_name(lang, "attribute", 9);
  f.body = ts_language_field_id_for_name(lang, "body", 4);
  f.consequence = ts_language_field_id_for_name(lang, "consequence", 11);
  f.definition = ts_language_field_id_for_name(lang, "definition", 10);
  f.function = ts_language_field_id_for_name(lang, "function", 8);
  f.left = ts_language_field_id_for_name(lang, "left", 4);
  f.module_name = ts_language_field_id_for_name(lang, "module_name", 11);
  f.name = ts_language_field_id_for_name(lang, "name", 4);
  f.object = ts_language_field_id_for_name(lang, "object", 6);
  f.parameters = ts_language_field_id_for_name(lang, "parameters", 10);
  f.right = ts_language_field_id_for_name(lang, "right", 5);
  f.superclasses = ts_language_field_id_for_name(lang, "superclasses", 12);
  f.value = ts_language_field_id_for_name(lang, "value", 5);
  return f;
}


TSNode field(const struct Ctx& c, TSNode n, TSFieldId Fields::*which);

// Parenthesised expressions are transparent everywhere we look at values.
TSNode unparen(TSNode n) {
  while (is(n, "parenthesized_expression") && ts_node_named_child_count(n) == 1) n = ts_node_named_child(n, 0);
  return n;
}

struct Ctx {
  std::string_view src;
  Fields fields;
  // Names bound to the pytest module, to pytest.mark, pytest.param, pytest.fixture.
  std::set<std::string> pytest_names, mark_names, param_names, fixture_names;
  // Module-level names assigned exactly once to a mark expression (slow = pytest.mark.slow).
  std::map<std::string, Decorator> mark_aliases;
  // Inside the body of `if TYPE_CHECKING:` (1) / `if typing.TYPE_CHECKING:` (2).
  uint8_t type_checking = 0;
  // Names that argvalues/params may stand for (collect_value_lists): the
  // display they are bound to, and where (0: module, else the class
  // statement's start byte).
  struct ValueList {
    TSNode display;
    uint32_t scope;
  };
  std::map<std::string, ValueList> value_lists;
  // Per class statement (start byte): the names its body may bind
  // (class_binds), for value lists of the module read in a class body.
  std::map<uint32_t, std::set<std::string>> class_names;
  uint32_t class_scope = 0;  // the class body being read (0: module level)
  // The source names something a process-state write needs (note_process_state
  // looks at statements only then).
  bool state_tokens = false;

  // The node's source text, at most `limit` bytes of it.
  std::string text(TSNode n, size_t limit = std::string::npos) const {
    uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
    if (b > src.size() || a > b) return {};
    return std::string(src.substr(a, std::min<size_t>(b - a, limit)));
  }
};

TSNode field(const Ctx& c, TSNode n, TSFieldId Fields::*which) {
  TSFieldId id = c.fields.*which;
  return id ? ts_node_child_by_field_id(n, id) : TSNode{};
}

// A plain string literal's value; false for f-strings, bytes, escapes,
// implicit concatenation, or anything that is not a string.
bool string_value(const Ctx& c, TSNode n, std::string& out) {
  n = unparen(n);
  if (!is(n, "string")) return false;
  out.clear();
  uint32_t count = ts_node_child_count(n);
  for (uint32_t i = 0; i < count; ++i) {
    TSNode ch = ts_node_child(n, i);
    const char* t = ts_node_type(ch);
    if (std::strcmp(t, "string_start") == 0) {
      std::string s = c.text(ch);
      for (char q : s) {
        if (q == '"' || q == '\'') break;
        if (q != 'r' && q != 'R' && q != 'u' && q != 'U') return false;  // f, b prefixes
      }
    } else if (std::strcmp(t, "string_content") == 0) {
      // Escapes inside content appear as separate children; reject them.
      uint32_t inner = ts_node_named_child_count(ch);
      if (inner != 0) return false;
      out += c.text(ch);
    } else if (std::strcmp(t, "string_end") == 0) {
    } else {
      return false;  // interpolation, escape_sequence, ...
    }
  }
  return true;
}

// Dotted chain of identifiers: pytest.mark.slow -> {"pytest","mark","slow"}.
bool dotted(const Ctx& c, TSNode n, std::vector<std::string>& out) {
  n = unparen(n);
  if (is(n, "identifier")) {
    out.push_back(c.text(n));
    return true;
  }
  if (is(n, "attribute")) {
    if (!dotted(c, field(c, n, &Fields::object), out)) return false;
    TSNode attr = field(c, n, &Fields::attribute);
    if (ts_node_is_null(attr)) return false;
    out.push_back(c.text(attr));
    return true;
  }
  return false;
}

std::string leftmost_identifier(const Ctx& c, TSNode n) {
  for (int guard = 0; guard < kMaxDepth && !ts_node_is_null(n); ++guard) {
    n = unparen(n);
    if (is(n, "identifier")) return c.text(n);
    if (is(n, "attribute")) n = field(c, n, &Fields::object);
    else if (is(n, "call")) n = field(c, n, &Fields::function);
    else if (is(n, "subscript")) n = field(c, n, &Fields::value);
    else return {};
  }
  return {};
}

struct Args {
  std::vector<TSNode> positional;
  std::vector<std::pair<std::string, TSNode>> keyword;
  bool splat = false;  // *args or **kwargs: nothing is known for sure
  TSNode kw(const char* name) const {
    for (const auto& [k, v] : keyword)
      if (k == name) return v;
    return TSNode{};
  }
};

Args call_args(const Ctx& c, TSNode call) {
  Args a;
  TSNode list = field(c, call, &Fields::arguments);
  if (ts_node_is_null(list)) return a;
  if (!is(list, "argument_list")) {  // generator argument: f(x for x in y)
    a.splat = true;
    return a;
  }
  uint32_t n = ts_node_named_child_count(list);
  for (uint32_t i = 0; i < n; ++i) {
    TSNode ch = ts_node_named_child(list, i);
    if (is(ch, "keyword_argument")) {
      a.keyword.emplace_back(c.text(field(c, ch, &Fields::name)), field(c, ch, &Fields::value));
    } else if (is(ch, "list_splat") || is(ch, "dictionary_splat")) {
      a.splat = true;
    } else if (is(ch, "comment")) {
    } else {
      a.positional.push_back(ch);
    }
  }
  return a;
}

// Elements of a list/tuple literal (a splat of a display spelled out); false
// if the node is not one or holds any other splat.
bool sequence(TSNode n, std::vector<TSNode>& out) {
  n = unparen(n);
  if (!(is(n, "list") || is(n, "tuple"))) return false;
  const size_t had = out.size();
  for (TSNode ch : named_children(n)) {
    if (is(ch, "comment")) continue;
    if (is(ch, "list_splat") || is(ch, "parenthesized_list_splat")) {
      // `*(a, b)` / `*[a, b]`: the display's elements, in place
      std::vector<TSNode> inner = named_children(ch);
      if (!is(ch, "list_splat") || inner.size() != 1 || !sequence(inner[0], out)) {
        out.resize(had);
        return false;
      }
      continue;
    }
    out.push_back(ch);
  }
  return true;
}

// Source text that may set an object's __name__: `X.__name__ =` (not `==`),
// the string "__name__" (setattr, __dict__), functools' update_wrapper/wraps.
bool sets_dunder_name(std::string_view src) {
  if (src.find("update_wrapper") != std::string_view::npos || src.find("wraps") != std::string_view::npos)
    return true;
  for (size_t at = src.find("__name__"); at != std::string_view::npos; at = src.find("__name__", at + 1)) {
    if (at > 0 && (src[at - 1] == '"' || src[at - 1] == '\'')) return true;
    size_t k = at + 8;
    while (k < src.size() && (src[k] == ' ' || src[k] == '\t')) ++k;
    if (k < src.size() && src[k] == '=' && (k + 1 >= src.size() || src[k + 1] != '=')) return true;
    if (k + 1 < src.size() && src[k + 1] == '=' && std::string_view("+|&").find(src[k]) != std::string_view::npos)
      return true;
  }
  return false;
}

bool printable_plain(const std::string& s) {
  for (unsigned char ch : s)
    if (ch < 0x20 || ch > 0x7e || ch == '\\') return false;
  return true;
}

// str() of a float literal, as CPython writes it (repr: the shortest digits
// that read back the same double; an exponent below 1e-4 and from 1e16 on;
// ".0" on integral values). False for complex literals and what does not read
// back as a finite double here (Python gives inf or 0.0: not worth modelling).
bool float_str(std::string_view text, bool negative, std::string& out) {
  std::string t;
  for (char ch : text) {
    if (ch == 'j' || ch == 'J') return false;
    if (ch != '_') t += ch;
  }
  double v = 0;
  auto rd = std::from_chars(t.data(), t.data() + t.size(), v);
  if (rd.ec != std::errc() || rd.ptr != t.data() + t.size() || !std::isfinite(v)) return false;
  const std::string sign = negative ? "-" : "";
  if (v == 0) {
    if (t.find_first_of("123456789") != std::string::npos) return false;  // underflow
    out = sign + "0.0";
    return true;
  }
  char buf[64];
  auto wr = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  if (wr.ec != std::errc()) return false;
  const std::string sci(buf, wr.ptr);
  const size_t e = sci.find('e');
  if (e == std::string::npos) return false;
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int decpt = std::stoi(sci.substr(e + 1)) + 1;  // value = 0.DIGITS x 10^decpt
  const int n = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    const int x = decpt - 1;
    std::string ex = std::to_string(x < 0 ? -x : x);
    if (ex.size() < 2) ex = "0" + ex;
    out = sign + digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "") + "e" + (x < 0 ? "-" : "+") + ex;
  } else if (decpt <= 0) {
    out = sign + "0." + std::string(-decpt, '0') + digits;
  } else if (decpt >= n) {
    out = sign + digits + std::string(decpt - n, '0') + ".0";
  } else {
    out = sign + digits.substr(0, decpt) + "." + digits.substr(decpt);
  }
  return true;
}

// An int literal (`12`, `0x1f`; not the complex `2j`).
bool int_literal(const Ctx& c, TSNode n) {
  return is(n, "integer") && c.text(n).find_first_of("jJ") == std::string::npos;
}

// A value that is a list or a tuple made without running user code: a display,
// `display + display` of one kind, `display * integer` (either order).
bool container_value(const Ctx& c, TSNode v, std::string& kind) {
  v = unparen(v);
  if (is(v, "list") || is(v, "tuple")) {
    kind = ts_node_type(v);
    return true;
  }
  if (!is(v, "binary_operator")) return false;
  const std::string op = c.text(ts_node_child(v, 1));
  TSNode l = unparen(field(c, v, &Fields::left)), r = unparen(field(c, v, &Fields::right));
  std::string kl, kr;
  if (op == "+") return container_value(c, l, kl) && container_value(c, r, kr) && kl == kr && (kind = kl, true);
  if (op != "*") return false;
  if (int_literal(c, r) && container_value(c, l, kind)) return true;
  return int_literal(c, l) && container_value(c, r, kind);
}

// pytest's id for one literal value, or false if it cannot be known here.
bool literal_id(const Ctx& c, TSNode v, const std::string& argname, size_t idx, std::string& out) {
  v = unparen(v);
  std::string s;
  if (string_value(c, v, s)) {
    if (!printable_plain(s)) return false;
    out = s;
    return true;
  }
  if (is(v, "integer")) {
    s = c.text(v);
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
    for (char ch : s)
      if (ch < '0' || ch > '9') return false;
    out = s;
    return true;
  }
  if (is(v, "float")) return float_str(c.text(v), false, out);
  if (is(v, "unary_operator")) {
    TSNode op = ts_node_child(v, 0);
    TSNode arg = field(c, v, &Fields::argument);
    std::string inner;
    if (c.text(op) == "-" && is(unparen(arg), "float")) return float_str(c.text(unparen(arg)), true, out);
    if (c.text(op) == "-" && is(unparen(arg), "integer") && literal_id(c, arg, argname, idx, inner)) {
      if (inner == "0") return false;  // str(-0) is "0"
      out = "-" + inner;
      return true;
    }
    return false;
  }
  if (is(v, "true")) { out = "True"; return true; }
  if (is(v, "false")) { out = "False"; return true; }
  if (is(v, "none")) { out = "None"; return true; }
  std::string kind;
  if (is(v, "dictionary") || is(v, "set") || is(v, "list_comprehension") || is(v, "set_comprehension") ||
      is(v, "dictionary_comprehension") || container_value(c, v, kind)) {
    out = argname + std::to_string(idx);  // no __name__: pytest falls back to argname+index
    return true;
  }
  return false;
}

// An explicit id (pytest.param(id=...) or an ids=[...] entry).
// Returns 1 known, 0 "None" (generate), -1 unknown.
int explicit_id(const Ctx& c, TSNode v, std::string& out) {
  v = unparen(v);
  if (is(v, "none")) return 0;
  std::string s;
  if (string_value(c, v, s)) {
    if (!printable_plain(s)) return -1;
    out = s;
    return 1;
  }
  if (is(v, "integer")) {
    s = c.text(v);
    for (char ch : s)
      if (ch < '0' || ch > '9') return -1;
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return -1;
    out = s;
    return 1;
  }
  if (is(v, "true")) { out = "True"; return 1; }
  if (is(v, "false")) { out = "False"; return 1; }
  return -1;
}

Decorator resolve_decorator(const Ctx& c, TSNode expr);

// marks=... of pytest.param: a mark or a list/tuple of marks.
bool mark_names_of(const Ctx& c, TSNode v, std::vector<std::string>& out) {
  v = unparen(v);
  std::vector<TSNode> elems;
  if (!sequence(v, elems)) elems.push_back(v);
  for (TSNode e : elems) {
    Decorator d = resolve_decorator(c, e);
    if (d.kind != DecoKind::Mark && d.kind != DecoKind::Parametrize && d.kind != DecoKind::Usefixtures)
      return false;
    out.push_back(d.name);
  }
  return true;
}

bool is_param_call(const Ctx& c, TSNode e, TSNode& call) {
  e = unparen(e);
  if (!is(e, "call")) return false;
  std::vector<std::string> chain;
  if (!dotted(c, field(c, e, &Fields::function), chain)) return false;
  bool ok = (chain.size() == 2 && c.pytest_names.count(chain[0]) && chain[1] == "param") ||
            (chain.size() == 1 && c.param_names.count(chain[0]));
  if (ok) call = e;
  return ok;
}

// ids=[...] (null: none given): each entry's state (explicit_id) and text;
// false when the ids cannot be known.
bool explicit_ids(const Ctx& c, TSNode ids, size_t sets, std::vector<int>& state, std::vector<std::string>& text) {
  if (ts_node_is_null(ids) || is(unparen(ids), "none")) return true;  // ids=None: generated
  std::vector<TSNode> id_nodes;
  if (!sequence(ids, id_nodes) || id_nodes.size() != sets) return false;
  bool ok = true;
  for (TSNode n : id_nodes) {
    std::string s;
    int st = explicit_id(c, n, s);
    if (st < 0) ok = false;
    state.push_back(st);
    text.push_back(s);
  }
  return ok;
}

// A literal number, string, bool or None, or an operator over such values only.
bool scalar_literal(TSNode v) {
  v = unparen(v);
  static const char* const leaf[] = {"string", "concatenated_string", "integer", "float", "true", "false", "none"};
  for (const char* k : leaf)
    if (is(v, k)) return true;
  if (!(is(v, "unary_operator") || is(v, "binary_operator") || is(v, "boolean_operator") ||
        is(v, "comparison_operator")))
    return false;
  for (TSNode ch : named_children(v))
    if (!is(ch, "comment") && !scalar_literal(ch)) return false;
  return true;
}

bool builtin_container_call(const Ctx& c, TSNode v, std::string& name);

// A value that cannot be a ParameterSet (so brings no marks): literals,
// displays and comprehensions (whatever they hold), lambdas, `not x`,
// list/tuple arithmetic (container_value), operators over literals, a
// conditional whose two values are such. Any other operator may be a user
// type's, which may return anything.
bool no_param_set(const Ctx& c, TSNode v) {
  v = unparen(v);
  static const char* const safe[] = {"list", "tuple", "dictionary", "set", "list_comprehension", "set_comprehension",
                                     "dictionary_comprehension", "generator_expression", "lambda", "not_operator"};
  for (const char* k : safe)
    if (is(v, k)) return true;
  std::string kind;
  if (scalar_literal(v) || container_value(c, v, kind)) return true;
  if (!is(v, "conditional_expression")) return false;
  std::vector<TSNode> parts;
  for (TSNode ch : named_children(v))
    if (!is(ch, "comment")) parts.push_back(ch);
  return parts.size() == 3 && no_param_set(c, parts[0]) && no_param_set(c, parts[2]);  // a if TEST else b
}

// The values of one parameter set that is not a pytest.param(...) call;
// `whole`: the element is the one value (a single argname given as a string).
// `marks_if_refs`: as marks_known, where a name or an attribute of one (a
// reference the model may resolve to a plain object) does not count.
void plain_values(const Ctx& c, TSNode e, bool whole, std::vector<TSNode>& vals, bool& ids_ok, bool& marks_known,
                  bool& marks_if_refs) {
  TSNode inner = unparen(e);
  if (whole) {
    vals.push_back(inner);
  } else if (!sequence(inner, vals)) {
    ids_ok = false;  // a variable: values unknown
    // A variable may hold pytest.param objects with marks.
    if (!(is(inner, "list") || is(inner, "tuple"))) marks_known = marks_if_refs = false;
  }
  // Any call in a plain value might produce a ParameterSet (marks) -- only
  // pytest.param does, but an alias of it would too; so might an operator of
  // a user's type.
  // A reference, or a builtin's call, is no ParameterSet once the model has
  // resolved it (marks_if_refs).
  std::string builtin;
  for (TSNode v : vals) {
    TSNode uv = unparen(v);
    if (!no_param_set(c, uv)) {
      const bool ref = is(uv, "identifier") || is(uv, "attribute") || builtin_container_call(c, uv, builtin);
      marks_known = false;
      marks_if_refs = marks_if_refs && ref;
    }
  }
}

// A value that is a call of the builtin range/list/tuple/set/frozenset/dict
// over literals only (`range(4, 7)`, `set()`, `list((1, 2))`): an object
// without __name__, so its id is argname+index, once the model has checked
// that the module leaves the builtin `name` alone.
bool builtin_container_call(const Ctx& c, TSNode v, std::string& name) {
  v = unparen(v);
  if (!is(v, "call")) return false;
  std::vector<std::string> fn;
  if (!dotted(c, field(c, v, &Fields::function), fn) || fn.size() != 1) return false;
  static const std::set<std::string> kinds{"range", "list", "tuple", "set", "frozenset", "dict"};
  if (!kinds.count(fn[0])) return false;
  Args a = call_args(c, v);
  if (a.splat || !a.keyword.empty()) return false;
  if (fn[0] == "range") {
    if (a.positional.empty() || a.positional.size() > 3) return false;
    for (TSNode arg : a.positional) {
      TSNode u = unparen(arg);
      if (is(u, "unary_operator") && c.text(ts_node_child(u, 0)) == "-") u = unparen(field(c, u, &Fields::argument));
      if (!int_literal(c, u)) return false;
    }
  } else if (a.positional.size() > 1) {
    return false;
  } else if (a.positional.size() == 1) {
    std::vector<TSNode> elems;
    if (!sequence(a.positional[0], elems)) return false;
    for (TSNode e : elems)
      if (!scalar_literal(e)) return false;
  }
  name = fn[0];
  return true;
}

// A value the model may resolve: a name or an attribute of one ("a.b.c").
bool reference(const Ctx& c, TSNode v, std::string& out) {
  std::vector<std::string> chain;
  v = unparen(v);
  if (!(is(v, "identifier") || is(v, "attribute")) || !dotted(c, v, chain)) return false;
  out = std::string(1, kRefPart);
  for (size_t i = 0; i < chain.size(); ++i) out += (i ? "." : "") + chain[i];
  return true;
}

// argvalues `range(...)` (or list(range(...)) / tuple(range(...))) of literal
// integers: the ints it yields; false otherwise (or when too many).
bool range_values(const Ctx& c, TSNode v, std::vector<long long>& out, std::vector<std::string>& builtins) {
  constexpr long long kMaxValues = 1000;
  v = unparen(v);
  if (!is(v, "call")) return false;
  std::vector<std::string> fn;
  if (!dotted(c, field(c, v, &Fields::function), fn) || fn.size() != 1) return false;
  Args a = call_args(c, v);
  if (a.splat || !a.keyword.empty()) return false;
  if (fn[0] == "list" || fn[0] == "tuple") {
    if (a.positional.size() != 1) return false;
    builtins.push_back(fn[0]);
    return range_values(c, a.positional[0], out, builtins);
  }
  if (fn[0] != "range" || a.positional.empty() || a.positional.size() > 3) return false;
  std::vector<long long> n;
  for (TSNode arg : a.positional) {
    TSNode u = unparen(arg);
    bool neg = false;
    if (is(u, "unary_operator")) {
      if (c.text(ts_node_child(u, 0)) != "-") return false;
      neg = true;
      u = unparen(field(c, u, &Fields::argument));
    }
    if (!is(u, "integer")) return false;
    const std::string t = c.text(u);
    if (t.empty() || t.size() > 9 || (t.size() > 1 && t[0] == '0')) return false;
    for (char ch : t)
      if (ch < '0' || ch > '9') return false;
    n.push_back(neg ? -std::stoll(t) : std::stoll(t));
  }
  long long start = 0, stop = 0, step = 1;
  if (n.size() == 1) stop = n[0];
  else start = n[0], stop = n[1];
  if (n.size() == 3) step = n[2];
  if (step == 0) return false;  // ValueError at import
  for (long long i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<long long>(out.size()) >= kMaxValues) return false;
    out.push_back(i);
  }
  builtins.push_back("range");
  return true;
}

// Does any identifier in `n` (attribute names too) appear in `names`?
bool names_any(const Ctx& c, TSNode n, const std::set<std::string>& names) {
  if (is(n, "identifier")) return names.count(c.text(n)) > 0;
  const uint32_t k = ts_node_named_child_count(n);
  for (uint32_t i = 0; i < k; ++i)
    if (names_any(c, ts_node_named_child(n, i), names)) return true;
  return false;
}

// Parameter sets of parametrize(argnames, argvalues, ids=...) or fixture(params=..., ids=...).
// `refs`: ids that depend on names go to ParamSets::pending (parametrize).
// A name bound to a display (collect_value_lists): the display, read where
// the name is used. A list of the module read in a class body: only if the
// class names none of the display's names (which it might rebind).
TSNode display_of_name(const Ctx& c, TSNode values, uint32_t& values_line) {
  if (ts_node_is_null(values) || !is(unparen(values), "identifier")) return values;
  auto it = c.value_lists.find(c.text(unparen(values)));
  if (it == c.value_lists.end() || ts_node_end_byte(it->second.display) >= ts_node_start_byte(values)) return values;
  const auto& v = it->second;
  auto cls = c.class_names.find(c.class_scope);
  if (v.scope == c.class_scope || (v.scope == 0 && cls != c.class_names.end() && !names_any(c, v.display, cls->second))) {
    values_line = ts_node_start_point(v.display).row + 1;  // its names were looked up there
    return v.display;
  }
  return values;
}

// Values that are no display: `range(...)` of literal ints (ids pending the
// model's check that the builtins are not rebound), else unknown.
void pending_range(const Ctx& c, const std::vector<std::string>& argnames, bool names_known, TSNode values,
                   TSNode ids, bool refs, ParamSets& p) {
  std::vector<long long> ints;
  std::vector<std::string> builtins;
  if (refs && names_known && argnames.size() == 1 && (ts_node_is_null(ids) || is(unparen(ids), "none")) &&
      !ts_node_is_null(values) && range_values(c, values, ints, builtins) && !ints.empty()) {
    for (long long i : ints) p.pending.push_back({std::to_string(i)});
    p.marks.resize(ints.size());
    p.pending_builtins = builtins;
    p.pending_marks_known = true;
  }
}

// What param_sets knows so far about every set's ids.
struct IdState {
  bool ids_ok;          // every id is known
  bool pend_ok;         // every id is literal or a reference the model resolves
  bool marks_if_refs = true;
};

// The id parts of one parameter set from its values (literal ids, or
// argname+index / references pending the model).
void value_id_parts(const Ctx& c, const std::vector<TSNode>& vals, const std::vector<std::string>& argnames,
                    size_t idx, IdState& st, ParamSets& p, std::vector<std::string>& parts) {
  for (size_t k = 0; k < vals.size() && (st.ids_ok || st.pend_ok); ++k) {
    std::string one, builtin;
    if (!literal_id(c, vals[k], argnames[k], idx, one)) {
      st.ids_ok = false;
      if (st.pend_ok && builtin_container_call(c, vals[k], builtin)) {
        one = argnames[k] + std::to_string(idx);  // no __name__: argname+index
        if (std::find(p.pending_builtins.begin(), p.pending_builtins.end(), builtin) == p.pending_builtins.end())
          p.pending_builtins.push_back(builtin);
      } else if (!st.pend_ok || !reference(c, vals[k], one)) {
        st.pend_ok = false;
      }
    }
    parts.push_back(one);
  }
}

// One element of the argvalues: its values, marks and id (pytest.param or a plain value).
void param_set(const Ctx& c, TSNode e, size_t idx, const std::vector<std::string>& argnames, bool names_string,
               const std::vector<int>& id_state, const std::vector<std::string>& id_text, IdState& st, ParamSets& p) {
  std::vector<TSNode> vals;
  std::vector<std::string> marks;
  std::string pid;
  int pid_state = 0;  // 0: none given
  TSNode pcall;
  if (is_param_call(c, e, pcall)) {
    Args a = call_args(c, pcall);
    if (a.splat) {
      st.ids_ok = st.pend_ok = false;
      p.marks_known = st.marks_if_refs = false;
    }
    vals = a.positional;
    TSNode idn = a.kw("id");
    if (!ts_node_is_null(idn)) {
      pid_state = explicit_id(c, idn, pid);
      if (pid_state < 0) st.ids_ok = st.pend_ok = false;
    }
    TSNode mk = a.kw("marks");
    if (!ts_node_is_null(mk) && !mark_names_of(c, mk, marks)) p.marks_known = st.marks_if_refs = false;
    for (const auto& [k, v] : a.keyword)
      if (k != "id" && k != "marks") st.ids_ok = st.pend_ok = false;  // unexpected: pytest would error
  } else {
    // argnames as a string of one name: each value is the whole set;
    // given as a list or tuple (even of one), pytest unpacks every set.
    plain_values(c, e, names_string && argnames.size() == 1, vals, st.ids_ok, p.marks_known, st.marks_if_refs);
    if (!st.ids_ok && vals.empty()) st.pend_ok = false;
  }
  p.marks.push_back(marks);
  if (!st.ids_ok && !st.pend_ok) return;
  if (vals.size() != argnames.size()) {
    st.ids_ok = st.pend_ok = false;
    return;
  }
  std::vector<std::string> parts;
  if (pid_state == 1) parts.push_back(pid);
  else if (!id_state.empty() && id_state[idx] == 1) parts.push_back(id_text[idx]);
  else value_id_parts(c, vals, argnames, idx, st, p, parts);
  std::string id;
  for (size_t k = 0; k < parts.size(); ++k) id += (k ? "-" : "") + parts[k];
  p.ids.push_back(id);
  p.pending.push_back(std::move(parts));
}

ParamSets param_sets(const Ctx& c, const std::vector<std::string>& argnames, bool names_known,
                     TSNode values, TSNode ids, bool refs = false, bool names_string = true) {
  ParamSets p;
  std::vector<TSNode> elems;
  uint32_t values_line = 0;
  values = display_of_name(c, values, values_line);
  bool values_known = !ts_node_is_null(values) && sequence(values, elems);
  p.values_line = values_line;
  if (!values_known) {
    pending_range(c, argnames, names_known, values, ids, refs, p);
    return p;  // ids and marks unknown (until the model checks the builtins)
  }
  std::vector<int> id_state;
  std::vector<std::string> id_text;
  IdState st;
  st.ids_ok = names_known && explicit_ids(c, ids, elems.size(), id_state, id_text);
  st.pend_ok = st.ids_ok && refs;
  p.marks_known = true;
  for (size_t idx = 0; idx < elems.size(); ++idx)
    param_set(c, elems[idx], idx, argnames, names_string, id_state, id_text, st, p);
  if (elems.empty()) st.ids_ok = st.pend_ok = false;  // pytest makes one "empty parameter set" item
  if (st.ids_ok) {
    std::set<std::string> seen(p.ids.begin(), p.ids.end());
    if (seen.size() != p.ids.size()) st.ids_ok = false;  // pytest adds suffixes to duplicates
  }
  p.ids_known = st.ids_ok;
  if (!st.ids_ok) p.ids.clear();
  if (st.ids_ok || !st.pend_ok) {
    p.pending.clear();
    p.pending_builtins.clear();
  } else {
    p.pending_marks_known = st.marks_if_refs;
  }
  return p;
}

void parametrize_args(const Ctx& c, const Args& a, Decorator& d) {
  d.args_known = !a.splat;
  TSNode names = a.positional.size() > 0 ? a.positional[0] : a.kw("argnames");
  TSNode values = a.positional.size() > 1 ? a.positional[1] : a.kw("argvalues");
  TSNode ids = a.positional.size() > 3 ? a.positional[3] : a.kw("ids");
  std::string s;
  std::vector<TSNode> elems;
  if (!ts_node_is_null(names) && string_value(c, names, s)) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      std::string part = s.substr(start, comma - start);
      size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
      if (b != std::string::npos) d.args.push_back(part.substr(b, e - b + 1));
      start = comma + 1;
    }
  } else if (!ts_node_is_null(names) && sequence(names, elems)) {
    for (TSNode e : elems) {
      if (!string_value(c, e, s)) {
        d.args_known = false;
        break;
      }
      d.args.push_back(s);
    }
  } else {
    d.args_known = false;
  }
  if (!d.args_known || d.args.empty()) {
    d.args_known = false;
    d.params = ParamSets{};
    // marks unknown, ids unknown
    return;
  }
  d.params = param_sets(c, d.args, d.args_known, values, ids, true, !ts_node_is_null(names) && is(unparen(names), "string"));
}

void fixture_args(const Ctx& c, const Args& a, Decorator& d) {
  if (a.splat) {
    d.autouse_known = false;
    d.fixture_name_known = false;
    d.has_params = true;
    return;
  }
  // fixture(fixture_function=None, *, scope, params, autouse, ids, name)
  if (!a.positional.empty()) {
    d.has_params = true;  // unusual form; assume the worst
    d.autouse_known = false;
  }
  TSNode params = a.kw("params");
  if (!ts_node_is_null(params)) {
    d.has_params = true;
    d.params = param_sets(c, {d.fixture_name.empty() ? std::string("param") : d.fixture_name}, true, params,
                          a.kw("ids"));
    d.params.ids_known = false;  // the argname of a fixture's ids is decided in the model
    d.params.ids.clear();
  }
  TSNode au = a.kw("autouse");
  if (!ts_node_is_null(au)) {
    au = unparen(au);
    if (is(au, "true")) d.autouse = true;
    else if (!is(au, "false")) d.autouse_known = false;
  }
  TSNode nm = a.kw("name");
  if (!ts_node_is_null(nm)) {
    std::string s;
    if (string_value(c, nm, s)) d.fixture_name = s;
    else d.fixture_name_known = false;
  }
}

Decorator resolve_decorator(const Ctx& c, TSNode expr) {
  Decorator d;
  expr = unparen(expr);
  TSNode callee = expr;
  bool called = false;
  if (is(expr, "call")) {
    callee = field(c, expr, &Fields::function);
    called = true;
  }
  std::vector<std::string> chain;
  bool is_chain = dotted(c, callee, chain);
  // An unknown decorator is named by its source text and its leftmost name
  // (only those need them, so marks and fixtures skip the work).
  auto unknown = [&]() -> Decorator& {
    d.root = leftmost_identifier(c, expr);
    d.name = c.text(expr, 200);
    return d;
  };
  if (!is_chain) return unknown();

  std::string mark;
  bool is_mark = false;
  if (chain.size() == 3 && c.pytest_names.count(chain[0]) && chain[1] == "mark") {
    is_mark = true;
    mark = chain[2];
  } else if (chain.size() == 2 && c.mark_names.count(chain[0])) {
    is_mark = true;
    mark = chain[1];
  } else if (chain.size() == 1) {
    auto it = c.mark_aliases.find(chain[0]);
    if (it != c.mark_aliases.end()) {
      if (!called) return it->second;
      // Calling a stored MarkDecorator adds arguments; the name stays.
      if (it->second.kind == DecoKind::Mark) {
        Decorator m = it->second;
        return m;
      }
      return unknown();
    }
  }
  if (is_mark) {
    d.name = mark;
    if (mark == "parametrize") {
      d.kind = DecoKind::Parametrize;
      if (!called) {
        d.args_known = false;
        return d;
      }
      parametrize_args(c, call_args(c, expr), d);
    } else if (mark == "usefixtures") {
      d.kind = DecoKind::Usefixtures;
      if (!called) return d;
      Args a = call_args(c, expr);
      d.args_known = !a.splat && a.keyword.empty();
      for (TSNode n : a.positional) {
        std::string s;
        if (string_value(c, n, s)) d.args.push_back(s);
        else d.args_known = false;
      }
    } else {
      d.kind = DecoKind::Mark;
    }
    return d;
  }
  if ((chain.size() == 2 && c.pytest_names.count(chain[0]) && chain[1] == "fixture") ||
      (chain.size() == 1 && c.fixture_names.count(chain[0]))) {
    d.kind = DecoKind::Fixture;
    d.name = "fixture";
    if (called) fixture_args(c, call_args(c, expr), d);
    return d;
  }
  if (chain.size() == 1 && (chain[0] == "staticmethod" || chain[0] == "classmethod")) {
    d.kind = DecoKind::Builtin;
    d.root = leftmost_identifier(c, expr);
    d.name = chain[0];
    return d;
  }
  return unknown();
}

void params_of(const Ctx& c, TSNode fn, std::vector<std::string>& out) {
  TSNode ps = field(c, fn, &Fields::parameters);
  if (ts_node_is_null(ps)) return;
  uint32_t n = ts_node_named_child_count(ps);
  for (uint32_t i = 0; i < n; ++i) {
    TSNode p = ts_node_named_child(ps, i);
    if (is(p, "identifier")) {
      out.push_back(c.text(p));
    } else if (is(p, "default_parameter") || is(p, "typed_default_parameter")) {
      out.push_back(c.text(field(c, p, &Fields::name)));
    } else if (is(p, "typed_parameter")) {
      TSNode id = ts_node_named_child(p, 0);
      if (is(id, "identifier")) out.push_back(c.text(id));
    }
  }
}

// Identifiers bound by an assignment target (a, (b, c), x.y -> x, x[0] -> x).
// Names go to a list of strings or, directly, to a body's bindings.
void add_name(std::vector<std::string>& out, std::string name) { out.push_back(std::move(name)); }
void add_name(std::vector<Binding>& out, std::string name) { out.push_back(Binding{std::move(name), false}); }
void add_name(std::set<std::string>& out, std::string name) { out.insert(std::move(name)); }

template <class Out>
void bound_names(const Ctx& c, TSNode t, Out& out, int depth = 0) {
  t = unparen(t);
  if (ts_node_is_null(t) || depth > kMaxDepth) return;
  if (is(t, "identifier")) {
    add_name(out, c.text(t));
    return;
  }
  if (is(t, "attribute") || is(t, "subscript")) {
    std::string base = leftmost_identifier(c, t);
    if (!base.empty()) add_name(out, base);
    if (is(t, "attribute")) {
      TSNode attr = field(c, t, &Fields::attribute);
      if (c.text(attr) == "__test__") add_name(out, "__test__");
    }
    return;
  }
  uint32_t n = ts_node_named_child_count(t);
  for (uint32_t i = 0; i < n; ++i) bound_names(c, ts_node_named_child(t, i), out, depth + 1);
}

// The lists a module's or a class's statements add what they define to.
struct Body {
  std::vector<Func>* funcs;
  std::vector<Class>* classes;
  std::vector<Binding>* bound;
  std::vector<std::string>* dynamic;
  MarkList* pytestmark;
  std::vector<Import>* imports;  // module scope only
  bool module;
  std::vector<std::string>* stores = nullptr;  // the file's (FileFacts::stores), module and class bodies
  std::vector<std::string>* assigned_calls = nullptr;  // the file's (FileFacts::assigned_calls), module level
  std::vector<std::string>* made = nullptr;  // the file's (FileFacts::made), module level
};

void add_store(Body& s, std::string name) {
  if (std::find(s.stores->begin(), s.stores->end(), name) == s.stores->end()) s.stores->push_back(std::move(name));
}

// An assignment, augmented assignment or del target that changes an object
// in place: its root name goes to the file's stores ("*NAME" when the object
// changed is reached through NAME: `NAME[0]["k"] = v`, `NAME.a.b = v`).
void note_store(const Ctx& c, TSNode target, Body& s, bool augmented) {
  target = unparen(target);
  if (ts_node_is_null(target) || s.stores == nullptr) return;
  if (is(target, "attribute") || is(target, "subscript") || (augmented && is(target, "identifier"))) {
    if (is(target, "identifier")) return add_store(s, c.text(target));
    TSNode inner = unparen(field(c, target, is(target, "attribute") ? &Fields::object : &Fields::value));
    const bool direct = !ts_node_is_null(inner) && is(inner, "identifier");
    return add_store(s, (direct ? "" : "*") + leftmost_identifier(c, target));
  }
  if (is(target, "pattern_list") || is(target, "tuple_pattern") || is(target, "list_pattern") ||
      is(target, "tuple") || is(target, "list") || is(target, "expression_list")) {
    for (TSNode e : named_children(target)) note_store(c, e, s, false);
  }
}

void process_block(Ctx& c, TSNode block, Body& s, bool conditional, int depth);

// `setattr(OBJ, ...)` / `delattr(OBJ, ...)`: OBJ's root name is stored to, as
// by an attribute assignment.
void note_attribute_call(const Ctx& c, TSNode call, Body& s) {
  TSNode args = field(c, call, &Fields::arguments);
  if (ts_node_is_null(args) || ts_node_named_child_count(args) == 0 || s.stores == nullptr) return;
  TSNode obj = unparen(ts_node_named_child(args, 0));
  if (ts_node_is_null(obj)) return;
  if (is(obj, "list_splat") || is(obj, "dictionary_splat")) return add_store(s, "*setattr");  // an object unseen
  const std::string root = leftmost_identifier(c, obj);
  if (!root.empty()) add_store(s, (is(obj, "identifier") ? "" : "*") + root);
}

void add_dynamic(Body& s, const std::string& why) {
  if (std::find(s.dynamic->begin(), s.dynamic->end(), why) == s.dynamic->end()) s.dynamic->push_back(why);
}

void set_pytestmark(Ctx& c, Body& s, TSNode value, bool conditional) {
  MarkList& m = *s.pytestmark;
  if (m.present || conditional) m.known = false;  // reassigned: which value wins is not static
  m.present = true;
  std::vector<TSNode> elems;
  if (!sequence(value, elems)) elems.push_back(unparen(value));
  for (TSNode e : elems) {
    Decorator d = resolve_decorator(c, e);
    if (d.kind == DecoKind::Mark || d.kind == DecoKind::Parametrize || d.kind == DecoKind::Usefixtures)
      m.marks.push_back(d);
    else
      m.known = false;
  }
}

// A value that is never a fixture object: a literal, a display, a
// comprehension, a lambda (operators and calls may return anything).
bool literal_value(TSNode v) {
  v = unparen(v);
  if (ts_node_is_null(v)) return false;
  static const char* const kinds[] = {"string", "concatenated_string", "integer", "float", "true", "false", "none",
                                      "list", "tuple", "dictionary", "set", "list_comprehension",
                                      "dictionary_comprehension", "set_comprehension", "generator_expression",
                                      "lambda"};
  for (const char* k : kinds)
    if (is(v, k)) return true;
  return false;
}

// A call at module or class level (a statement or an assigned value) that
// makes a fixture (`auto = pytest.fixture(autouse=True)(impl)`) or applies a
// mark to an object (`pytest.mark.slow(test_x)`): effects on items the model
// does not place, so the body cannot be predicted.
void note_call_effects(Ctx& c, TSNode value, Body& s) {
  value = unparen(value);
  if (ts_node_is_null(value) || !is(value, "call")) return;
  Decorator d = resolve_decorator(c, field(c, value, &Fields::function));
  if (d.kind == DecoKind::Fixture) {
    add_dynamic(s, "makes a fixture by a call");
  } else if (d.kind == DecoKind::Mark || d.kind == DecoKind::Parametrize || d.kind == DecoKind::Usefixtures) {
    Args a = call_args(c, value);
    if (!a.splat && a.keyword.empty() && a.positional.size() == 1) add_dynamic(s, "applies a mark by a call");
  }
}

// Every call an expression makes when it is evaluated (`NAME = f(g(x))`,
// `X = [h() for _ in r]`, a statement call's arguments): each callee's root
// name. Lambda bodies do not run; `skip_outer` leaves out the expression's
// own call (a statement call, which the model reads as a Binding).
void note_calls_in(const Ctx& c, TSNode value, Body& s, bool skip_outer) {
  if (s.assigned_calls == nullptr || ts_node_is_null(value)) return;
  std::vector<TSNode> todo{value};
  while (!todo.empty()) {  // (a stack, not recursion: `a + b + ...` nests as deep as it is long)
    TSNode n = unparen(todo.back());
    todo.pop_back();
    if (ts_node_is_null(n) || is(n, "lambda")) continue;
    if (is(n, "call") && !(skip_outer && ts_node_eq(n, unparen(value)))) {
      std::string root = leftmost_identifier(c, n);
      if (root.empty()) root = "<expression>";
      if (std::find(s.assigned_calls->begin(), s.assigned_calls->end(), root) == s.assigned_calls->end())
        s.assigned_calls->push_back(root);
    }
    for (TSNode child : named_children(n)) todo.push_back(child);
  }
}

void note_assigned_call(const Ctx& c, TSNode value, Body& s) { note_calls_in(c, value, s, false); }

void process_assignment(Ctx& c, TSNode asg, Body& s, bool conditional) {
  std::vector<TSNode> targets;
  TSNode value = asg;
  while (is(value, "assignment")) {
    TSNode left = field(c, value, &Fields::left);
    targets.push_back(left);
    TSNode right = field(c, value, &Fields::right);
    if (ts_node_is_null(right)) {  // annotation only: x: int
      value = TSNode{};
      break;
    }
    value = right;
  }
  if (!targets.empty()) note_assigned_call(c, value, s);
  TSNode v = unparen(value);
  if (s.made != nullptr && targets.size() == 1 && is(unparen(targets[0]), "identifier") && !ts_node_is_null(v) &&
      !literal_value(v) && !is(v, "identifier") && !is(v, "attribute") && !is(v, "subscript"))
    s.made->push_back(c.text(unparen(targets[0])));
  for (TSNode t : targets) {
    note_store(c, t, s, false);
    std::vector<std::string> names;
    bound_names(c, t, names);
    bool single = is(unparen(t), "identifier");
    for (const auto& n : names) {
      if (single && n == "pytestmark" && !ts_node_is_null(value)) {
        set_pytestmark(c, s, value, conditional);
        continue;
      }
      if (n == "pytestmark") s.pytestmark->known = false, s.pytestmark->present = true;
      // (An annotation alone in a class body binds nothing: a dataclass field.)
      const bool literal = single && (literal_value(value) || (!s.module && ts_node_is_null(value)));
      Binding b{n, false, literal};
      const TSNode tn = unparen(t);
      b.store = (is(tn, "attribute") || is(tn, "subscript")) && n != "__test__";
      if (single && !ts_node_is_null(value)) {
        const TSNode shape = unparen(value);
        for (const char* k : {"list", "tuple", "dictionary", "set", "list_comprehension", "dictionary_comprehension",
                              "set_comprehension"})
          b.box = b.box || is(shape, k);
        if (b.box) b.line = ts_node_start_point(t).row + 1;
      }
      s.bound->push_back(b);
      note_call_effects(c, value, s);
      if (s.module && single && !ts_node_is_null(value)) {
        // name = pytest.mark.x  /  name = pytest (aliases)
        Decorator d = resolve_decorator(c, value);
        bool first = !c.mark_aliases.count(n);
        if (!conditional && first &&
            (d.kind == DecoKind::Mark || d.kind == DecoKind::Parametrize || d.kind == DecoKind::Usefixtures)) {
          c.mark_aliases[n] = d;
        } else {
          c.mark_aliases.erase(n);
        }
      }
    }
  }
}

void process_import(Ctx& c, TSNode st, Body& s, bool conditional = false) {
  bool from = is(st, "import_from_statement");
  std::string module_root, path;
  uint32_t level = 0;
  if (from) {
    TSNode mod = field(c, st, &Fields::module_name);
    if (is(mod, "relative_import")) {
      module_root = "";
      std::string t = c.text(mod);
      while (level < t.size() && t[level] == '.') ++level;
      for (size_t i = level; i < t.size(); ++i)
        if (t[i] != ' ' && t[i] != '\t' && t[i] != '\\' && t[i] != '\n') path += t[i];
    } else {
      std::string t = c.text(mod);
      module_root = t.substr(0, t.find('.'));
      for (char ch : t)
        if (ch != ' ' && ch != '\t' && ch != '\\' && ch != '\n') path += ch;
    }
  }
  uint32_t n = ts_node_named_child_count(st);
  for (uint32_t i = 0; i < n; ++i) {
    TSNode ch = ts_node_named_child(st, i);
    if (from && ts_node_eq(ch, field(c, st, &Fields::module_name))) continue;
    if (is(ch, "wildcard_import")) {
      add_dynamic(s, kStarImportReason + c.text(field(c, st, &Fields::module_name)) + "'");
      Import imp;
      imp.bound = "*";
      imp.from = true;
      imp.module = module_root;
      imp.path = path;
      imp.level = level;
      imp.star = true;
      imp.conditional = conditional;
      imp.type_checking = c.type_checking;
      imp.line = ts_node_start_point(st).row + 1;
      if (s.imports) s.imports->push_back(imp);
      continue;
    }
    std::string full, bound;
    if (is(ch, "aliased_import")) {
      full = c.text(field(c, ch, &Fields::name));
      bound = c.text(field(c, ch, &Fields::alias));
    } else if (is(ch, "dotted_name")) {
      full = c.text(ch);
      bound = from ? full : full.substr(0, full.find('.'));
    } else {
      continue;
    }
    Import imp;
    imp.bound = bound;
    imp.from = from;
    imp.module = from ? module_root : full.substr(0, full.find('.'));
    imp.path = from ? path : full;
    imp.level = level;
    imp.name = full;
    imp.conditional = conditional;
    imp.type_checking = c.type_checking;
    imp.line = ts_node_start_point(st).row + 1;
    imp.alias = is(ch, "aliased_import");
    // Aliases of pytest and its helpers.
    if (!from && full == "pytest") c.pytest_names.insert(bound);
    if (from && c.text(field(c, st, &Fields::module_name)) == "pytest") {
      if (full == "mark") c.mark_names.insert(bound);
      if (full == "param") c.param_names.insert(bound);
      if (full == "fixture") c.fixture_names.insert(bound);
    }
    if (s.imports) {
      s.imports->push_back(imp);
    } else {
      add_name(*s.bound, bound);
      // A class body's imported name may be a fixture of the class, or a
      // TestCase subclass collected as a nested class.
      add_dynamic(s, "imports '" + bound + "' in a class body");
    }
  }
}

Func make_func(Ctx& c, TSNode def, std::vector<Decorator> decos, bool conditional) {
  Func f;
  f.name = c.text(field(c, def, &Fields::name));
  f.line = ts_node_start_point(def).row + 1;
  f.conditional = conditional;
  f.decorators = std::move(decos);
  // "async" is an anonymous child token of function_definition.
  TSNode first = ts_node_child(def, 0);
  f.is_async = !ts_node_is_null(first) && std::strcmp(ts_node_type(first), "async") == 0;
  params_of(c, def, f.params);
  return f;
}

void make_class(Ctx& c, TSNode def, std::vector<Decorator> decos, Body& s, bool conditional, int depth) {
  Class k;
  k.name = c.text(field(c, def, &Fields::name));
  k.line = ts_node_start_point(def).row + 1;
  k.conditional = conditional;
  k.decorators = std::move(decos);
  TSNode sup = field(c, def, &Fields::superclasses);
  if (!ts_node_is_null(sup)) {
    uint32_t n = ts_node_named_child_count(sup);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode b = ts_node_named_child(sup, i);
      if (is(b, "comment")) continue;
      std::string t = c.text(b);
      if (t != "object") k.bases.push_back(t);
    }
  }
  Body inner{&k.funcs, &k.classes, &k.bound, &k.dynamic, &k.pytestmark, &k.imports, false, &k.stores,
             s.assigned_calls};
  if (depth >= kMaxDepth) {
    add_dynamic(inner, "nesting too deep");
  } else {
    const uint32_t outer = c.class_scope;
    c.class_scope = ts_node_start_byte(def);
    process_block(c, field(c, def, &Fields::body), inner, false, depth + 1);
    c.class_scope = outer;
  }
  s.classes->push_back(std::move(k));
}

void process_definition(Ctx& c, TSNode node, Body& s, bool conditional, int depth) {
  std::vector<Decorator> decos;
  TSNode def = node;
  if (is(node, "decorated_definition")) {
    uint32_t n = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode ch = ts_node_named_child(node, i);
      if (is(ch, "decorator")) {
        TSNode e = ts_node_named_child(ch, 0);
        decos.push_back(resolve_decorator(c, e));
      }
    }
    def = field(c, node, &Fields::definition);
  }
  if (is(def, "function_definition")) {
    Func f = make_func(c, def, std::move(decos), conditional);
    s.funcs->push_back(std::move(f));
  } else if (is(def, "class_definition")) {
    make_class(c, def, std::move(decos), s, conditional, depth);
  } else {
    add_dynamic(s, "unrecognised definition");
  }
}

// Compound statements (if/try/for/while/with): their blocks run conditionally.
void process_compound(Ctx& c, TSNode st, Body& s, int depth) {
  if (depth >= kMaxDepth) {
    add_dynamic(s, "nesting too deep");
    return;
  }
  if (is(st, "for_statement")) {
    bound_names(c, field(c, st, &Fields::left), *s.bound);
    note_store(c, field(c, st, &Fields::left), s, false);  // `for mod.attr in ...`
  }
  // `if TYPE_CHECKING:` - its first block does not run (the model checks the name is typing's).
  uint8_t tc = 0;
  if (is(st, "if_statement")) {
    std::string cond = c.text(unparen(ts_node_named_child(st, 0)), 64);
    if (cond == "TYPE_CHECKING") tc = 1;
    if (cond == "typing.TYPE_CHECKING") tc = 2;
  }
  bool first_block = true;
  uint32_t n = ts_node_named_child_count(st);
  for (uint32_t i = 0; i < n; ++i) {
    TSNode ch = ts_node_named_child(st, i);
    if (is(ch, "block")) {
      const uint8_t outer = c.type_checking;
      if (first_block && tc && !outer) c.type_checking = tc;
      first_block = false;
      process_block(c, ch, s, true, depth + 1);
      c.type_checking = outer;
    } else if (is(ch, "elif_clause") || is(ch, "else_clause") || is(ch, "except_clause") ||
               is(ch, "except_group_clause") || is(ch, "finally_clause") || is(ch, "with_clause") ||
               is(ch, "with_item")) {
      process_compound(c, ch, s, depth + 1);
    } else if (is(ch, "as_pattern")) {
      TSNode alias = field(c, ch, &Fields::alias);
      bound_names(c, alias, *s.bound);
      if (!ts_node_is_null(alias) && is(alias, "as_pattern_target") && ts_node_named_child_count(alias) > 0)
        alias = ts_node_named_child(alias, 0);
      note_store(c, alias, s, false);  // `with ... as mod.attr`
    } else if (is(ch, "identifier") && is(st, "except_clause")) {
      add_name(*s.bound, c.text(ch));  // except E as name (older grammars)
    }
  }
}

// A statement at module or class level that writes process state (kProcessState).
void note_process_state(Ctx& c, TSNode st, Body& s) {
  if (!c.state_tokens) return;
  std::string text;
  for (char ch : c.text(st))
    if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\\' && ch != '\r') text += ch;
  static const char* const writes[] = {
      "putenv(",          "unsetenv(",      "chdir(",          "addsitedir(",     "environ.setdefault(",
      "environ.update(",  "environ.pop(",   "environ.clear(",  "environ.popitem(", "environ.__setitem__(",
      "environ.__delitem__(", "path.insert(", "path.append(",   "path.extend(",    "path.remove(",
      "path.pop(",        "path.clear(",    "path.__setitem__("};
  const char* what = nullptr;
  for (const char* w : writes)
    if (text.find(w) != std::string::npos) what = w;
  if (!what) {
    // An assignment (or del) whose target is the environment, sys.path or TYPE_CHECKING.
    std::string target = text;
    if (!is(st, "delete_statement")) {
      size_t eq = std::string::npos;
      for (size_t i = 0; i + 1 < text.size(); ++i)
        if (text[i] == '=' && text[i + 1] != '=' && (i == 0 || std::strchr("=!<>", text[i - 1]) == nullptr)) {
          eq = i;
          break;
        }
      target = eq == std::string::npos ? std::string() : text.substr(0, eq);
    }
    for (const char* w : {"environ", "sys.path", "path[", "TYPE_CHECKING"})
      if (target.find(w) != std::string::npos) what = w;
  }
  if (what) add_dynamic(s, std::string(kProcessState) + " (" + what + ")");
}

void process_block(Ctx& c, TSNode block, Body& s, bool conditional, int depth) {
  if (ts_node_is_null(block)) return;
  if (depth >= kMaxDepth) {
    add_dynamic(s, "nesting too deep");
    return;
  }
  for (TSNode st : named_children(block)) {
    const char* t = ts_node_type(st);
    if (!std::strcmp(t, "function_definition") || !std::strcmp(t, "class_definition") ||
        !std::strcmp(t, "decorated_definition")) {
      process_definition(c, st, s, conditional, depth);
    } else if (!std::strcmp(t, "import_statement") || !std::strcmp(t, "import_from_statement")) {
      process_import(c, st, s, conditional);
    } else if (!std::strcmp(t, "expression_statement")) {
      note_process_state(c, st, s);
      uint32_t m = ts_node_named_child_count(st);
      for (uint32_t j = 0; j < m; ++j) {
        TSNode e = ts_node_named_child(st, j);
        if (is(e, "assignment")) {
          process_assignment(c, e, s, conditional);
        } else if (is(e, "augmented_assignment")) {
          note_store(c, field(c, e, &Fields::left), s, true);
          std::vector<std::string> names;
          bound_names(c, field(c, e, &Fields::left), names);
          const bool plain_name = is(unparen(field(c, e, &Fields::left)), "identifier");
          for (const auto& nm : names) {
            if (nm == "pytestmark") s.pytestmark->known = false, s.pytestmark->present = true;
            // `x += ...` makes no object of its own (the store above notes the change): a
            // literal binding, so that an own display stays own.
            s.bound->push_back(Binding{nm, false, plain_name});
          }
        } else if (is(e, "call")) {
          // Only calls into pytest or the stdlib are taken as harmless here;
          // anything else might inject names (the model decides with imports).
          std::string root = leftmost_identifier(c, e);
          Binding b{root, true};
          // `NAME.append(...)` and the other in-place methods of list, dict
          // and set: harmless where NAME is a display (the model checks).
          std::vector<std::string> callee;
          static const std::set<std::string> mutators = {"append", "extend", "insert", "add", "update",
                                                         "setdefault", "sort", "reverse", "discard"};
          const bool named = dotted(c, field(c, e, &Fields::function), callee);
          if (named && callee.size() == 2 && mutators.count(callee[1]))
            b.box = true;  // on a call binding: a container method call
          // An in-place method of an object: the object changes (through its root name, past one attribute).
          static const std::set<std::string> changing = {"append", "extend", "insert", "add", "update", "setdefault",
                                                         "sort", "reverse", "discard", "pop", "popitem", "remove",
                                                         "clear", "appendleft", "extendleft", "__setitem__",
                                                         "__delitem__", "rotate", "difference_update",
                                                         "intersection_update", "symmetric_difference_update"};
          if (named && s.stores != nullptr && callee.size() >= 2 && changing.count(callee.back()))
            add_store(s, (callee.size() == 2 ? "" : "*") + callee[0]);
          if (named && callee.size() == 1 && (callee[0] == "setattr" || callee[0] == "delattr"))
            note_attribute_call(c, e, s);  // `setattr(mod, "x", v)` changes mod as `mod.x = v` does
          s.bound->push_back(b);
          note_call_effects(c, e, s);
          note_calls_in(c, e, s, true);  // calls in its arguments run too
        } else {
          note_calls_in(c, e, s, false);  // `[f(x) for x in xs]`, `a or f()`: calls run at import
        }
      }
    } else if (!std::strcmp(t, "if_statement") || !std::strcmp(t, "try_statement") ||
               !std::strcmp(t, "for_statement") || !std::strcmp(t, "while_statement") ||
               !std::strcmp(t, "with_statement")) {
      process_compound(c, st, s, depth);
    } else if (!std::strcmp(t, "delete_statement")) {
      note_process_state(c, st, s);
      note_store(c, ts_node_named_child(st, 0), s, false);
      bound_names(c, ts_node_named_child(st, 0), *s.bound);
    } else if (!std::strcmp(t, "match_statement")) {
      add_dynamic(s, "match statement at module or class level");
    } else if (!std::strcmp(t, "exec_statement")) {
      add_dynamic(s, "exec statement");
    } else if (!std::strcmp(t, "type_alias_statement")) {
      bound_names(c, field(c, st, &Fields::left), *s.bound);
    }
    // pass, return, raise, assert, global, future imports, comments: nothing bound.
  }
}

// Tokens whose presence in the raw source calls for the tree scan below.
bool needs_scan(std::string_view src) {
  static const char* const tokens[] = {"globals", "locals", "vars", "exec", "eval", "__import__", "_getframe",
                                       "currentframe", "__test__", "__getattr__", "__dir__", "setattr",
                                       "modules", ":=", "global"};
  for (const char* t : tokens)
    if (src.find(t) != std::string_view::npos) return true;
  return false;
}

// Is n inside a function body (a def or a lambda)?
bool inside_function(TSNode n) {
  for (TSNode p = ts_node_parent(n); !ts_node_is_null(p); p = ts_node_parent(p))
    if (is(p, "function_definition") || is(p, "lambda")) return true;
  return false;
}

// Whole-tree scan (iterative) for constructs that can create names out of sight.
void scan_tree(Ctx& c, TSNode root, FileFacts& f) {
  static const std::set<std::string> deny = {"globals", "locals", "vars", "exec", "eval",
                                             "__import__", "_getframe", "currentframe", "__test__",
                                             "__getattr__", "__dir__"};
  TSTreeCursor cur = ts_tree_cursor_new(root);
  struct CursorGuard {
    TSTreeCursor* c;
    ~CursorGuard() { ts_tree_cursor_delete(c); }
  } guard{&cur};
  std::set<std::string> found, in_function;
  for (;;) {
    TSNode n = ts_tree_cursor_current_node(&cur);
    const char* t = ts_node_type(n);
    if (!std::strcmp(t, "identifier")) {
      std::string name = c.text(n);
      if ((name == "exec" || name == "eval") && inside_function(n)) {
        in_function.insert(name);
      } else if (deny.count(name)) {
        found.insert(name);
      } else if (name == "setattr" || name == "modules") {
        TSNode parent = ts_node_parent(n);
        if (name == "setattr" && is(parent, "call") && ts_node_eq(field(c, parent, &Fields::function), n))
          found.insert("setattr");
        if (name == "modules" && is(parent, "attribute") && c.text(field(c, parent, &Fields::object)) == "sys")
          found.insert("sys.modules");
      }
    } else if (!std::strcmp(t, "named_expression")) {
      add_name(f.bound, c.text(field(c, n, &Fields::name)));
    } else if (!std::strcmp(t, "global_statement")) {
      // A function may bind these module names when called.
      for (TSNode id : named_children(n))
        if (is(id, "identifier")) add_name(f.bound, c.text(id));
    }
    if (ts_tree_cursor_goto_first_child(&cur)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cur)) {
      if (!ts_tree_cursor_goto_parent(&cur)) {
        for (const auto& x : found) f.dynamic.push_back("uses " + x);
        // exec/eval only inside function bodies bind no module name, unless
        // handed another namespace (globals() and vars() are reasons of their
        // own; a module's __dict__ or a function's __globals__ are not).
        const bool foreign = c.src.find("__dict__") != std::string_view::npos ||
                             c.src.find("__globals__") != std::string_view::npos;
        for (const auto& x : in_function)
          if (!found.count(x)) f.dynamic.push_back("uses " + x + (foreign ? "" : kInFunction));
        return;
      }
    }
  }
}

// First pass: pytest aliases from imports anywhere at module level, so that
// decorators seen before an import still resolve the same way Python would
// at run time (imports run first in practice; an alias rebound later is
// caught by the mark alias rules).
void collect_aliases(Ctx& c, TSNode block, int depth) {
  if (depth > 8) return;
  for (TSNode st : named_children(block)) {
    if (is(st, "import_statement") || is(st, "import_from_statement")) {
      std::vector<Import> sink;
      std::vector<Binding> b;
      std::vector<std::string> d;
      MarkList m;
      Body s{nullptr, nullptr, &b, &d, &m, &sink, true};
      process_import(c, st, s);
    } else if (is(st, "if_statement") || is(st, "try_statement")) {
      uint32_t k = ts_node_named_child_count(st);
      for (uint32_t j = 0; j < k; ++j) {
        TSNode ch = ts_node_named_child(st, j);
        if (is(ch, "block")) collect_aliases(c, ch, depth + 1);
        else if (ts_node_named_child_count(ch) > 0) {
          TSNode body = field(c, ch, &Fields::body);
          if (is(body, "block")) collect_aliases(c, body, depth + 1);
          TSNode cons = field(c, ch, &Fields::consequence);
          if (is(cons, "block")) collect_aliases(c, cons, depth + 1);
        }
      }
    }
  }
}

// Identifiers under `n`, functions' and classes' bodies left out (their names count).
void idents_outside_bodies(const Ctx& c, TSNode n, std::set<std::string>& out, int depth) {
  if (ts_node_is_null(n) || depth > kMaxDepth) return;
  if (is(n, "identifier")) {
    out.insert(c.text(n));
    return;
  }
  if (is(n, "function_definition") || is(n, "class_definition")) {
    out.insert(c.text(field(c, n, &Fields::name)));
    return;
  }
  const uint32_t k = ts_node_named_child_count(n);
  for (uint32_t i = 0; i < k; ++i) idents_outside_bodies(c, ts_node_named_child(n, i), out, depth + 1);
}

// Names bound by `x := ...` under `n` (outside lambdas and comprehensions'
// own scopes is not told apart: more names is safe).
void walrus_names(const Ctx& c, TSNode n, std::set<std::string>& out, int depth) {
  if (ts_node_is_null(n) || depth > kMaxDepth) return;
  if (is(n, "named_expression")) out.insert(c.text(field(c, n, &Fields::name)));
  if (is(n, "function_definition") || is(n, "class_definition")) return;
  const uint32_t k = ts_node_named_child_count(n);
  for (uint32_t i = 0; i < k; ++i) walrus_names(c, ts_node_named_child(n, i), out, depth + 1);
}

// Names a class body may bind (more is safe): assignment targets, walrus
// names, definitions, and every name of an import or compound statement.
void class_binds(const Ctx& c, TSNode body, std::set<std::string>& out) {
  for (TSNode st : named_children(body)) {
    if (is(st, "expression_statement")) {
      for (TSNode e : named_children(st)) {
        if (is(e, "assignment") || is(e, "augmented_assignment")) {
          bound_names(c, field(c, e, &Fields::left), out);
          TSNode r = field(c, e, &Fields::right);
          // a = b = ...: the chain is nested assignments
          while (is(r, "assignment")) {
            bound_names(c, field(c, r, &Fields::left), out);
            r = field(c, r, &Fields::right);
          }
        }
        walrus_names(c, e, out, 0);
      }
    } else if (is(st, "decorated_definition")) {
      for (TSNode ch : named_children(st))
        if (is(ch, "decorator")) walrus_names(c, ch, out, 0);
      TSNode def = field(c, st, &Fields::definition);
      out.insert(c.text(field(c, def, &Fields::name)));
    } else if (is(st, "function_definition") || is(st, "class_definition")) {
      out.insert(c.text(field(c, st, &Fields::name)));
    } else if (!is(st, "pass_statement") && !is(st, "comment")) {
      idents_outside_bodies(c, st, out, 0);
    }
  }
}

// Names whose value a parametrize argvalues / fixture params may be read
// from: bound once, directly in the module or a class body, to a list or tuple
// display, and named nowhere else in the source (strings and comments count)
// than as argvalues of parametrize or params of fixture, which only read it.
// Anything that could reach it otherwise (a star import, globals(), frames,
// getattr, the module's __dict__) leaves every name out.
void collect_value_lists(Ctx& c, TSNode root) {
  // Python folds identifiers by NFKC (`ＶALS` binds VALS): the text count
  // below sees ASCII only.
  for (char ch : c.src)
    if (static_cast<unsigned char>(ch) >= 0x80) return;
  for (const char* t : {"globals", "vars", "locals", "__dict__", "modules", "exec", "eval", "setattr", "getattr",
                        "delattr", "_getframe", "import_module", "__import__", "currentframe", "f_back"})
    if (c.src.find(t) != std::string_view::npos) return;
  std::map<std::string, Ctx::ValueList> bound;
  std::map<std::string, int> binds, reads;
  std::vector<TSNode> classes;
  bool star = false;
  // Bindings: statements of the module and of class bodies (nested classes too).
  auto scan_block = [&](auto&& self, TSNode block, uint32_t scope, int depth) -> void {
    if (depth > kMaxDepth) return;
    for (TSNode st : named_children(block)) {
      TSNode e = st;
      if (is(st, "expression_statement") && ts_node_named_child_count(st) == 1) e = ts_node_named_child(st, 0);
      if (is(e, "assignment")) {
        TSNode l = field(c, e, &Fields::left), r = unparen(field(c, e, &Fields::right));
        if (is(l, "identifier") && (is(r, "list") || is(r, "tuple"))) {
          const std::string name = c.text(l);
          ++binds[name];
          bound[name] = Ctx::ValueList{r, scope};
        }
      }
      TSNode def = st;
      if (is(st, "decorated_definition")) def = field(c, st, &Fields::definition);
      if (is(def, "class_definition")) {
        classes.push_back(def);
        self(self, field(c, def, &Fields::body), ts_node_start_byte(def), depth + 1);
      }
    }
  };
  scan_block(scan_block, root, 0, 0);
  if (bound.empty()) return;
  for (TSNode def : classes) class_binds(c, field(c, def, &Fields::body), c.class_names[ts_node_start_byte(def)]);
  // Reads: argvalues/params that are a bare name, in any call classified as
  // parametrize or fixture (anywhere: a read never changes the list).
  std::vector<TSNode> todo{root};
  size_t steps = 0;
  while (!todo.empty()) {
    if (++steps > 200000) return;  // pathological file: no names
    TSNode n = todo.back();
    todo.pop_back();
    if (is(n, "wildcard_import")) star = true;
    std::vector<std::string> chain;
    if (is(n, "call") && dotted(c, field(c, n, &Fields::function), chain) &&
        (chain.back() == "parametrize" || chain.back() == "fixture" || c.fixture_names.count(chain.back()))) {
      Decorator d = resolve_decorator(c, field(c, n, &Fields::function));
      if (d.kind == DecoKind::Parametrize || d.kind == DecoKind::Fixture) {
        Args a = call_args(c, n);
        TSNode v = d.kind == DecoKind::Parametrize ? (a.positional.size() > 1 ? a.positional[1] : a.kw("argvalues"))
                                                   : a.kw("params");
        if (!ts_node_is_null(v) && is(unparen(v), "identifier")) ++reads[c.text(unparen(v))];
      }
    }
    const uint32_t k = ts_node_named_child_count(n);
    for (uint32_t i = 0; i < k; ++i) todo.push_back(ts_node_named_child(n, i));
  }
  if (star) return;
  auto ident = [](char ch) {  // the source is ASCII (above)
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
  };
  for (const auto& [name, v] : bound) {
    if (binds[name] != 1 || reads[name] == 0) continue;
    int seen = 0;
    for (size_t at = c.src.find(name); at != std::string_view::npos; at = c.src.find(name, at + 1)) {
      const size_t end = at + name.size();
      if ((at == 0 || !ident(c.src[at - 1])) && (end >= c.src.size() || !ident(c.src[end]))) ++seen;
    }
    if (seen == 1 + reads[name]) c.value_lists.emplace(name, v);
  }
}

}  // namespace

Extractor::Extractor(const TSLanguage* lang, size_t arena_cap) : lang_(lang), arena_(arena_cap) {}

FileFacts Extractor::extract(std::string_view source) {
  FileFacts f;
  // A UTF-8 byte order mark is not Python syntax for tree-sitter; Python skips it.
  if (source.size() >= 3 && static_cast<unsigned char>(source[0]) == 0xEF &&
      static_cast<unsigned char>(source[1]) == 0xBB && static_cast<unsigned char>(source[2]) == 0xBF)
    source.remove_prefix(3);
  if (source.size() > UINT32_MAX / 2) {
    f.dynamic.push_back("file too large to parse");
    return f;
  }
  // Declared in this order so that the tree goes first, then the parser, then
  // everything the arena holds. A tree that lives wholly in the arena is
  // dropped with it; one that spilled into malloc is freed node by node.
  ParseArena::Activation in_arena(arena_);
  ParserPtr parser(ts_parser_new());
  ts_parser_set_language(parser.get(), lang_);
  auto drop_tree = [this](TSTree* t) {
    if (arena_.spilled()) ts_tree_delete(t);
  };
  std::unique_ptr<TSTree, decltype(drop_tree)> tree(
      ts_parser_parse_string(parser.get(), nullptr, source.data(), static_cast<uint32_t>(source.size())), drop_tree);
  f.parsed = true;
  if (!tree) {
    f.syntax_error = true;
    return f;
  }
  TSNode root = ts_tree_root_node(tree.get());
  if (ts_node_has_error(root) || std::memchr(source.data(), 0, source.size()) != nullptr) {
    f.syntax_error = true;
    return f;
  }
  Ctx c;
  c.src = source;
  c.fields = resolve_fields(lang_);  // 16 lookups per file, not per node
  for (const char* t : {"environ", "putenv", "unsetenv", "chdir", "path", "addsitedir", "TYPE_CHECKING"})
    if (source.find(t) != std::string_view::npos) c.state_tokens = true;
  f.mentions_pluginmanager = source.find("pluginmanager") != std::string_view::npos;
  f.mentions_sys_path = source.find("sys.path") != std::string_view::npos ||
                        source.find("path.insert") != std::string_view::npos ||
                        source.find("path.append") != std::string_view::npos;
  f.sets_dunder_name = sets_dunder_name(source);
  collect_aliases(c, root, 0);
  if (source.find("parametrize") != std::string_view::npos || source.find("params") != std::string_view::npos)
    collect_value_lists(c, root);
  Body s{&f.funcs, &f.classes, &f.bound, &f.dynamic, &f.pytestmark, &f.imports, true, &f.stores, &f.assigned_calls,
         &f.made};
  process_block(c, root, s, false, 0);
  if (needs_scan(source)) scan_tree(c, root, f);
  // sys.path under another name (`from sys import path`, `import sys as s`),
  // or changed through site, or import hooks.
  for (const auto& imp : f.imports)
    if (imp.level == 0 && imp.module == "sys" && ((imp.from && (imp.name == "path" || imp.star)) || (!imp.from && imp.bound != "sys")))
      f.mentions_sys_path = true;
  for (const char* t : {"addsitedir", "path_hooks", "meta_path", "path_importer_cache"})
    if (source.find(t) != std::string_view::npos) f.mentions_sys_path = true;
  return f;
}

}  // namespace fc
