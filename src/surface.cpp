#include "surface.h"

#include <cstring>
#include <map>
#include <memory>

#include <xxhash.h>

namespace fc {

namespace {

struct TreeDeleter {
  void operator()(TSTree* t) const { ts_tree_delete(t); }
};
struct ParserOwner {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};

// A cursor that is deleted with its scope.
class Cursor {
 public:
  explicit Cursor(TSNode n) : c_(ts_tree_cursor_new(n)) {}
  ~Cursor() { ts_tree_cursor_delete(&c_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  TSTreeCursor* get() { return &c_; }

 private:
  TSTreeCursor c_;
};

// A parsed file; invalid when the source does not parse cleanly.
class Parsed {
 public:
  Parsed(const TSLanguage* lang, std::string_view source) {
    // A UTF-8 byte order mark is not Python syntax for tree-sitter; Python skips it.
    if (source.size() >= 3 && std::memcmp(source.data(), "\xEF\xBB\xBF", 3) == 0) source.remove_prefix(3);
    src_ = source;
    if (source.size() > UINT32_MAX / 2 || std::memchr(source.data(), 0, source.size()) != nullptr) return;
    std::unique_ptr<TSParser, ParserOwner> parser(ts_parser_new());
    if (!ts_parser_set_language(parser.get(), lang)) return;
    tree_.reset(ts_parser_parse_string(parser.get(), nullptr, source.data(), static_cast<uint32_t>(source.size())));
    if (tree_ && ts_node_has_error(ts_tree_root_node(tree_.get()))) tree_.reset();
  }
  bool ok() const { return tree_ != nullptr; }
  std::string_view source() const { return src_; }
  TSNode root() const { return ts_tree_root_node(tree_.get()); }
  std::string_view text(TSNode n) const {
    return src_.substr(ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n));
  }

 private:
  std::string_view src_;
  std::unique_ptr<TSTree, TreeDeleter> tree_;
};

bool is(TSNode n, const char* type) { return std::strcmp(ts_node_type(n), type) == 0; }

// Qualified names as Python gives them, kept while walking down the tree.
class Qualnames {
 public:
  // Entering a definition named `name`; returns its qualified name.
  const std::string& enter(TSNode def, std::string_view name, bool is_class) {
    std::string q;
    if (!stack_.empty()) q = stack_.back().qualname + (stack_.back().is_class ? "." : ".<locals>.");
    q.append(name);
    stack_.push_back({def, std::move(q), is_class});
    return stack_.back().qualname;
  }
  void leave(TSNode n) {
    if (!stack_.empty() && ts_node_eq(stack_.back().node, n)) stack_.pop_back();
  }

 private:
  struct Frame {
    TSNode node;
    std::string qualname;
    bool is_class;
  };
  std::vector<Frame> stack_;
};

// Visits every node once, depth first, without recursion (a long chain of
// binary operators nests deeply). `enter` returns whether to visit the
// node's children; `leave` is called for each node whose children were visited.
template <class Enter, class Leave>
void walk(TSNode root, Enter enter, Leave leave) {
  Cursor cursor(root);
  TSTreeCursor* c = cursor.get();
  std::vector<TSNode> path;  // ancestors of the current node
  for (;;) {
    TSNode n = ts_tree_cursor_current_node(c);
    const TSNode* parent = path.empty() ? nullptr : &path.back();
    if (enter(n, parent, ts_tree_cursor_current_field_id(c)) && ts_tree_cursor_goto_first_child(c)) {
      path.push_back(n);
      continue;
    }
    while (!ts_tree_cursor_goto_next_sibling(c)) {
      if (!ts_tree_cursor_goto_parent(c)) return;
      leave(path.back());
      path.pop_back();
    }
  }
}

class Hasher {
 public:
  Hasher() : st_(XXH3_createState()) { XXH3_64bits_reset(st_.get()); }
  void tag(uint64_t t) { XXH3_64bits_update(st_.get(), &t, sizeof t); }
  void text(std::string_view s) {
    tag(s.size());
    XXH3_64bits_update(st_.get(), s.data(), s.size());
  }
  uint64_t digest() const { return XXH3_64bits_digest(st_.get()); }

 private:
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> st_;
};

constexpr uint64_t kOpen = 1ULL << 40, kClose = 2ULL << 40, kLeaf = 3ULL << 40, kElided = 4ULL << 40,
                   kGenerator = 5ULL << 40, kEncoding = 6ULL << 40, kDead = 7ULL << 40;

// An encoding declaration: a comment on line 1 or 2 that names a coding (PEP 263).
bool encoding_declaration(TSNode n, std::string_view text) {
  if (ts_node_start_point(n).row > 1) return false;
  auto at = text.find("coding");
  return at != std::string_view::npos && at + 6 < text.size() && (text[at + 6] == ':' || text[at + 6] == '=');
}

// Does a function body yield (at its own level, not in a nested scope)?
bool yields(TSNode body) {
  bool found = false;
  walk(
      body,
      [&](TSNode n, const TSNode*, TSFieldId) {
        if (found) return false;
        if (is(n, "yield")) found = true;
        return !(is(n, "function_definition") || is(n, "lambda") || is(n, "class_definition"));
      },
      [](TSNode) {});
  return found;
}

struct Ids {
  TSSymbol comment, function_definition, class_definition, decorated_definition, block, expression_statement,
      string, concatenated_string, identifier, if_statement, import_from_statement, dotted_name;
  TSFieldId body, name, condition, consequence, module_name;
};

Ids ids_of(const TSLanguage* lang) {
  auto sym = [&](const char* s) { return ts_language_symbol_for_name(lang, s, static_cast<uint32_t>(std::strlen(s)), true); };
  Ids i{};
  i.comment = sym("comment");
  i.function_definition = sym("function_definition");
  i.class_definition = sym("class_definition");
  i.decorated_definition = sym("decorated_definition");
  i.block = sym("block");
  i.expression_statement = sym("expression_statement");
  i.string = sym("string");
  i.concatenated_string = sym("concatenated_string");
  i.identifier = sym("identifier");
  i.if_statement = sym("if_statement");
  i.import_from_statement = sym("import_from_statement");
  i.dotted_name = sym("dotted_name");
  i.body = ts_language_field_id_for_name(lang, "body", 4);
  i.name = ts_language_field_id_for_name(lang, "name", 4);
  i.condition = ts_language_field_id_for_name(lang, "condition", 9);
  i.consequence = ts_language_field_id_for_name(lang, "consequence", 11);
  i.module_name = ts_language_field_id_for_name(lang, "module_name", 11);
  return i;
}

}  // namespace

namespace {

void spans_of(const Parsed& p, const Ids& id, std::vector<FunctionSpan>& out) {
  Qualnames q;
  walk(
      p.root(),
      [&](TSNode n, const TSNode* parent, TSFieldId) {
        const TSSymbol s = ts_node_symbol(n);
        if (s == id.function_definition || s == id.class_definition) {
          TSNode name = ts_node_child_by_field_id(n, id.name);
          if (ts_node_is_null(name)) return true;
          FunctionSpan span;
          span.name = std::string(p.text(name));
          span.is_class = s == id.class_definition;
          span.qualname = q.enter(n, span.name, span.is_class);
          TSNode first = parent && ts_node_symbol(*parent) == id.decorated_definition ? *parent : n;
          span.first_line = ts_node_start_point(first).row + 1;
          out.push_back(std::move(span));
        }
        return ts_node_child_count(n) > 0;
      },
      [&](TSNode n) { q.leave(n); });
}

// The hasher of the statement being read: the surface's, or that of a
// binding statement (bindings.h), whose bindings get its hash when it ends.
class Sink {
 public:
  Hasher& h() { return stmt_ ? *stmt_ : main_; }
  // `segment`: how many top-level statements of the surface precede it.
  void begin(TSNode stmt, std::vector<BoundName>* out, size_t first, uint64_t segment) {
    stmt_ = std::make_unique<Hasher>();
    stmt_->tag(segment);
    node_ = stmt;
    out_ = out;
    first_ = first;
    segment_ = segment;
  }
  // A binding with a hash of its own (an import's) keeps it, with the place.
  void end(TSNode n) {
    if (!stmt_ || !ts_node_eq(n, node_)) return;
    const uint64_t d = stmt_->digest();
    for (size_t i = first_; i < out_->size(); ++i) {
      uint64_t& h = (*out_)[i].hash;
      h = h ? XXH3_64bits_withSeed(&h, sizeof h, segment_) : d;
    }
    stmt_.reset();
  }
  uint64_t digest() const { return main_.digest(); }

 private:
  Hasher main_;
  std::unique_ptr<Hasher> stmt_;
  TSNode node_{};
  std::vector<BoundName>* out_ = nullptr;
  size_t first_ = 0;
  uint64_t segment_ = 0;
};

// Was the docstring of the function `qual` read (see RanCode)?
bool doc_read(const std::set<std::string>& ran, const std::string& qual) {
  return ran.count(kAllDocsRead) != 0 || ran.count(kDocRead + qual) != 0;
}

// The docstring statement of a function body (its first statement, a plain
// string: bindings.h), or a null node.
TSNode docstring_of(const Ids& id, TSNode body) {
  for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i) {
    TSNode c = ts_node_named_child(body, i);
    if (ts_node_symbol(c) == id.comment) continue;
    const bool doc = ts_node_symbol(c) == id.expression_statement && ts_node_named_child_count(c) == 1 &&
                     plain_string(ts_node_named_child(c, 0));
    return doc ? c : TSNode{};
  }
  return TSNode{};
}

constexpr std::string_view kTypeChecking = "TYPE_CHECKING";

// Is `n` the identifier TYPE_CHECKING?
bool is_type_checking(const Parsed& p, const Ids& id, TSNode n) {
  return !ts_node_is_null(n) && ts_node_symbol(n) == id.identifier && p.text(n) == kTypeChecking;
}

// Does every mention of TYPE_CHECKING in the file either import it, once, by
// a top-level `from typing import TYPE_CHECKING` (or typing_extensions), or
// make the whole condition of an `if`? Then TYPE_CHECKING is typing's (false
// unless something set it: kTypeCheckingRuns) and those `if` bodies never run.
bool type_checking_imported_only(const Parsed& p, const Ids& id) {
  if (p.source().find(kTypeChecking) == std::string_view::npos) return false;  // most files: no walk
  const TSNode root = p.root();
  int imports = 0;
  bool other = false;
  walk(
      root,
      [&](TSNode n, const TSNode* parent, TSFieldId field) {
        if (other || !parent || !is_type_checking(p, id, n)) return !other;
        if (ts_node_symbol(*parent) == id.if_statement && field == id.condition) return false;
        const TSNode stmt = ts_node_parent(*parent);
        if (ts_node_symbol(*parent) == id.dotted_name && ts_node_named_child_count(*parent) == 1 &&
            ts_node_symbol(stmt) == id.import_from_statement && ts_node_eq(ts_node_parent(stmt), root)) {
          TSNode module = ts_node_child_by_field_id(stmt, id.module_name);
          const std::string_view m = ts_node_is_null(module) ? std::string_view() : p.text(module);
          if (!ts_node_eq(module, *parent) && (m == "typing" || m == "typing_extensions")) {
            ++imports;
            return false;
          }
        }
        other = true;  // bound or read some other way: `TYPE_CHECKING = True`, `not TYPE_CHECKING`
        return false;
      },
      [](TSNode) {});
  return !other && imports == 1;
}

// A function body that never ran: only its kind is visible, and its
// docstring where that was read.
void hash_elided_body(const Parsed& p, const Ids& id, TSNode body, bool with_doc, Hasher& h) {
  h.tag(kElided);
  TSNode first = ts_node_named_child(body, 0);
  if (with_doc && !ts_node_is_null(first) && ts_node_symbol(first) == id.expression_statement &&
      ts_node_named_child_count(first) == 1) {
    TSNode doc = ts_node_named_child(first, 0);
    if (ts_node_symbol(doc) == id.string || ts_node_symbol(doc) == id.concatenated_string) {
      walk(
          doc,
          [&](TSNode n, const TSNode*, TSFieldId) {
            if (ts_node_symbol(n) == id.comment) return false;
            if (ts_node_child_count(n) == 0) {
              h.tag(kLeaf | ts_node_symbol(n));
              h.text(p.text(n));
              return false;
            }
            h.tag(kOpen | ts_node_symbol(n));
            return true;
          },
          [&](TSNode n) { h.tag(kClose | ts_node_symbol(n)); });
    }
  }
  if (yields(body)) h.tag(kGenerator);
}

uint64_t hash_surface(const Parsed& p, const Ids& id, const std::set<std::string>& ran,
                      std::vector<BoundName>* bindings) {
  Qualnames q;
  Sink sink;
  std::vector<BoundName> scratch;
  std::vector<BoundName>& found = bindings ? *bindings : scratch;
  const TSNode root = p.root();
  const bool future = has_future_annotations(root, p.source());
  // Per enclosing function_definition: is its body left out, is its docstring read?
  std::vector<std::pair<bool, bool>> elide;
  const bool dead_guarded = ran.count(kTypeCheckingRuns) == 0 && type_checking_imported_only(p, id);
  uint64_t segment = 0;  // top-level statements of the surface so far
  TSNode unread_doc{};   // the docstring of the body being entered, when left out
  walk(
      root,
      [&](TSNode n, const TSNode* parent, TSFieldId field) {
        const TSSymbol s = ts_node_symbol(n);
        if (s == id.comment) {
          std::string_view t = p.text(n);
          if (encoding_declaration(n, t)) {
            sink.h().tag(kEncoding);
            sink.h().text(t);
          }
          return false;
        }
        if (ts_node_child_count(n) == 0) {
          sink.h().tag(kLeaf | s);
          sink.h().text(p.text(n));
          return false;
        }
        const size_t had = found.size();
        if (parent && ts_node_eq(*parent, root)) {
          // A binding statement's hash holds its place among the surface's
          // statements: moved past code that reads its name, it changes.
          if (binding_statement(n, p.source(), future, ran, found))
            sink.begin(n, &found, had, segment);
          else
            ++segment;
        }
        if (s == id.function_definition || s == id.class_definition) {
          TSNode name = ts_node_child_by_field_id(n, id.name);
          std::string_view nm = ts_node_is_null(name) ? std::string_view() : p.text(name);
          const std::string& qual = q.enter(n, nm, s == id.class_definition);
          if (s == id.function_definition) elide.emplace_back(ran.count(qual) == 0, doc_read(ran, qual));
        }
        if (dead_guarded && s == id.block && field == id.consequence && parent &&
            ts_node_symbol(*parent) == id.if_statement &&
            is_type_checking(p, id, ts_node_child_by_field_id(*parent, id.condition))) {
          sink.h().tag(kDead);  // `if TYPE_CHECKING:`: never runs
          return false;
        }
        if (!ts_node_is_null(unread_doc) && ts_node_eq(n, unread_doc)) {
          return false;  // a docstring nobody read, of a body that ran: as if absent
        }
        if (s == id.block && field == id.body && parent && ts_node_symbol(*parent) == id.function_definition &&
            !elide.empty()) {
          if (elide.back().first) {
            hash_elided_body(p, id, n, elide.back().second, sink.h());
            return false;
          }
          if (!elide.back().second) unread_doc = docstring_of(id, n);
        }
        sink.h().tag(kOpen | s);
        return true;
      },
      [&](TSNode n) {
        const TSSymbol s = ts_node_symbol(n);
        sink.h().tag(kClose | s);
        if (s == id.function_definition) elide.pop_back();
        if (s == id.function_definition || s == id.class_definition) q.leave(n);
        sink.end(n);
      });
  return sink.digest();
}

}  // namespace

bool function_spans(const TSLanguage* lang, std::string_view source, std::vector<FunctionSpan>& out) {
  Parsed p(lang, source);
  if (!p.ok()) return false;
  spans_of(p, ids_of(lang), out);
  return true;
}

bool surface_hash(const TSLanguage* lang, std::string_view source, const std::set<std::string>& ran, uint64_t& out,
                  std::vector<BoundName>* bindings) {
  Parsed p(lang, source);
  if (!p.ok()) return false;
  out = hash_surface(p, ids_of(lang), ran, bindings);
  return true;
}

bool file_surface(const TSLanguage* lang, std::string_view source, const RanCode& ran, std::set<std::string>& names,
                  uint64_t& out, std::vector<BoundName>* bindings) {
  Parsed p(lang, source);
  if (!p.ok()) return false;
  const Ids id = ids_of(lang);
  std::vector<FunctionSpan> spans;
  spans_of(p, id, spans);
  if (!ran_qualnames(spans, ran, names)) return false;
  out = hash_surface(p, id, names, bindings);
  return true;
}

bool ran_qualnames(const std::vector<FunctionSpan>& spans, const RanCode& ran, std::set<std::string>& out) {
  std::multimap<uint32_t, const FunctionSpan*> at_line;
  for (const auto& s : spans) at_line.emplace(s.first_line, &s);
  for (const auto& [ran_name, line] : ran) {
    if (ran_name == kAllDocsRead || ran_name == kTypeCheckingRuns) {
      out.insert(ran_name);
      continue;
    }
    const bool doc = !ran_name.empty() && ran_name[0] == kDocRead;
    const std::string_view name = doc ? std::string_view(ran_name).substr(1) : std::string_view(ran_name);
    if (name == "<module>" || name == "<lambda>" || name == "<genexpr>" || name == "<listcomp>" ||
        name == "<dictcomp>" || name == "<setcomp>")
      continue;
    bool found = false;
    auto [from, to] = at_line.equal_range(line);
    for (auto it = from; it != to; ++it) {
      if (it->second->name != name) continue;
      found = true;
      if (!it->second->is_class) out.insert(doc ? kDocRead + it->second->qualname : it->second->qualname);
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace fc
