// Binary encoding of FileFacts: varint lengths, length-prefixed strings.
#include "facts.h"

#include <cstring>

#include "codec.h"

namespace fc {
namespace {

void put(Writer& w, const ParamSets& p) {
  w.b(p.ids_known);
  w.ss(p.ids);
  w.b(p.marks_known);
  w.u(p.marks.size());
  for (const auto& m : p.marks) w.ss(m);
  w.u(p.pending.size());
  for (const auto& parts : p.pending) w.ss(parts);
  w.ss(p.pending_builtins);
  w.b(p.pending_marks_known);
  w.u(p.values_line);
}
void get(Reader& r, ParamSets& p) {
  p.ids_known = r.b();
  p.ids = r.ss();
  p.marks_known = r.b();
  p.marks.resize(r.count());
  for (auto& m : p.marks) m = r.ss();
  p.pending.resize(r.count());
  for (auto& parts : p.pending) parts = r.ss();
  p.pending_builtins = r.ss();
  p.pending_marks_known = r.b();
  p.values_line = static_cast<uint32_t>(r.u());
}

void put(Writer& w, const Decorator& d) {
  w.u(static_cast<uint64_t>(d.kind));
  w.s(d.name);
  w.ss(d.args);
  w.b(d.args_known);
  put(w, d.params);
  w.b(d.has_params);
  w.b(d.autouse);
  w.b(d.autouse_known);
  w.s(d.fixture_name);
  w.b(d.fixture_name_known);
  w.s(d.root);
}
void get(Reader& r, Decorator& d) {
  uint64_t k = r.u();
  d.kind = k <= static_cast<uint64_t>(DecoKind::Unknown) ? static_cast<DecoKind>(k)
                                                         : DecoKind::Unknown;
  d.name = r.s();
  d.args = r.ss();
  d.args_known = r.b();
  get(r, d.params);
  d.has_params = r.b();
  d.autouse = r.b();
  d.autouse_known = r.b();
  d.fixture_name = r.s();
  d.fixture_name_known = r.b();
  d.root = r.s();
}

void put(Writer& w, const Func& f);
void get(Reader& r, Func& f);
void put(Writer& w, const Class& c);
void put(Writer& w, const Import& i);
void get(Reader& r, Import& i);

template <class T>
void put_all(Writer& w, const std::vector<T>& v) {
  w.u(v.size());
  for (const auto& x : v) put(w, x);
}
template <class T>
void get_all(Reader& r, std::vector<T>& v) {
  v.resize(r.count());
  for (auto& x : v) get(r, x);
}

void put(Writer& w, const Func& f) {
  w.s(f.name);
  w.u(f.line);
  w.b(f.is_async);
  w.b(f.conditional);
  w.ss(f.params);
  put_all(w, f.decorators);
}
void get(Reader& r, Func& f) {
  f.name = r.s();
  f.line = static_cast<uint32_t>(r.u());
  f.is_async = r.b();
  f.conditional = r.b();
  f.params = r.ss();
  get_all(r, f.decorators);
}

void put(Writer& w, const MarkList& m) {
  w.b(m.known);
  w.b(m.present);
  put_all(w, m.marks);
}
void get(Reader& r, MarkList& m) {
  m.known = r.b();
  m.present = r.b();
  get_all(r, m.marks);
}

// Stored as strings: a call as "<call:ROOT>" ("<mcall:ROOT>": a container
// method), a literal assignment as "<lit:NAME>", a display as
// "<box:LINE:NAME>", an attribute or subscript target as "<set:NAME>" (no
// identifier holds '<').
void put_bindings(Writer& w, const std::vector<Binding>& v) {
  w.u(v.size());
  for (const auto& b : v)
    w.s(b.call      ? (b.box ? "<mcall:" : "<call:") + b.name + ">"
        : b.box     ? "<box:" + std::to_string(b.line) + ":" + b.name + ">"
        : b.literal ? "<lit:" + b.name + ">"
        : b.store   ? "<set:" + b.name + ">"
                    : b.name);
}
std::vector<Binding> get_bindings(Reader& r) {
  std::vector<Binding> v;
  for (auto& s : r.ss()) {
    const bool call = s.size() >= 7 && s.compare(0, 6, "<call:") == 0 && s.back() == '>';
    if (s.size() >= 8 && s.compare(0, 7, "<mcall:") == 0 && s.back() == '>') {
      Binding b{s.substr(7, s.size() - 8), true, false};
      b.box = true;
      v.push_back(std::move(b));
      continue;
    }
    const bool lit = s.size() >= 6 && s.compare(0, 5, "<lit:") == 0 && s.back() == '>';
    if (s.size() >= 6 && s.compare(0, 5, "<set:") == 0 && s.back() == '>') {
      Binding b{s.substr(5, s.size() - 6), false, false};
      b.store = true;
      v.push_back(std::move(b));
      continue;
    }
    const bool box = s.size() >= 8 && s.compare(0, 5, "<box:") == 0 && s.back() == '>';
    if (box) {
      const size_t colon = s.find(':', 5);
      if (colon == std::string::npos || colon == 5 || colon > 15) {
        v.push_back(Binding{"<", false, false});  // malformed: binds a name no identifier matches
        continue;
      }
      uint32_t line = 0;
      for (size_t i = 5; i < colon; ++i) {
        if (s[i] < '0' || s[i] > '9') line = 0;
        else line = line * 10 + static_cast<uint32_t>(s[i] - '0');
      }
      Binding b{s.substr(colon + 1, s.size() - colon - 2), false, true};
      b.box = true;
      b.line = line;
      v.push_back(std::move(b));
      continue;
    }
    if (call) v.push_back(Binding{s.substr(6, s.size() - 7), true, false});
    else if (lit) v.push_back(Binding{s.substr(5, s.size() - 6), false, true});
    else v.push_back(Binding{std::move(s), false, false});
  }
  return v;
}

void put(Writer& w, const Class& c) {
  w.s(c.name);
  w.u(c.line);
  w.b(c.conditional);
  w.ss(c.bases);
  put_all(w, c.decorators);
  put(w, c.pytestmark);
  put_all(w, c.funcs);
  put_all(w, c.classes);
  put_bindings(w, c.bound);
  w.ss(c.dynamic);
  put_all(w, c.imports);
  w.ss(c.stores);
}
// Nesting of stored classes is bounded by the extractor; the decoder bounds it too.
bool get_class(Reader& r, Class& c, int depth);
void get_classes(Reader& r, std::vector<Class>& v, int depth) {
  v.resize(r.count());
  for (auto& c : v) {
    if (!get_class(r, c, depth)) return;
  }
}
bool get_class(Reader& r, Class& c, int depth) {
  if (depth > 256) {
    r.u();  // cannot be valid: force failure below
    return false;
  }
  c.name = r.s();
  c.line = static_cast<uint32_t>(r.u());
  c.conditional = r.b();
  c.bases = r.ss();
  get_all(r, c.decorators);
  get(r, c.pytestmark);
  get_all(r, c.funcs);
  get_classes(r, c.classes, depth + 1);
  c.bound = get_bindings(r);
  c.dynamic = r.ss();
  get_all(r, c.imports);
  c.stores = r.ss();
  return r.ok();
}

void put(Writer& w, const Import& i) {
  w.s(i.bound);
  w.s(i.module);
  w.b(i.from);
  w.s(i.path);
  w.u(i.level);
  w.s(i.name);
  w.b(i.star);
  w.b(i.conditional);
  w.u(i.type_checking);
  w.u(i.line);
  w.b(i.alias);
}
void get(Reader& r, Import& i) {
  i.bound = r.s();
  i.module = r.s();
  i.from = r.b();
  i.path = r.s();
  i.level = static_cast<uint32_t>(r.u());
  i.name = r.s();
  i.star = r.b();
  i.conditional = r.b();
  i.type_checking = static_cast<uint8_t>(r.u() & 3);
  i.line = static_cast<uint32_t>(r.u());
  i.alias = r.b();
}

}  // namespace

std::string encode_facts(const FileFacts& f) {
  Writer w;
  w.u(kFactsVersion);
  w.b(f.parsed);
  w.b(f.syntax_error);
  w.ss(f.dynamic);
  put_all(w, f.funcs);
  w.u(f.classes.size());
  for (const auto& c : f.classes) put(w, c);
  put(w, f.pytestmark);
  put_bindings(w, f.bound);
  put_all(w, f.imports);
  w.ss(f.stores);
  w.ss(f.assigned_calls);
  w.ss(f.made);
  w.b(f.mentions_pluginmanager);
  w.b(f.mentions_sys_path);
  w.b(f.sets_dunder_name);
  return w.take();
}

bool decode_facts(const char* data, size_t size, FileFacts& out) {
  Reader r(data, size);
  if (r.u() != kFactsVersion || !r.ok()) return false;
  FileFacts f;
  f.parsed = r.b();
  f.syntax_error = r.b();
  f.dynamic = r.ss();
  get_all(r, f.funcs);
  get_classes(r, f.classes, 0);
  get(r, f.pytestmark);
  f.bound = get_bindings(r);
  get_all(r, f.imports);
  f.stores = r.ss();
  f.assigned_calls = r.ss();
  f.made = r.ss();
  f.mentions_pluginmanager = r.b();
  f.mentions_sys_path = r.b();
  f.sets_dunder_name = r.b();
  if (!r.ok() || !r.at_end()) return false;
  out = std::move(f);
  return true;
}

}  // namespace fc
