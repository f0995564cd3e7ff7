#include "learned.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <atomic>
#include <set>
#include <thread>

#include <xxhash.h>

#include "codec.h"
#include "index.h"

namespace fc {
namespace {

// 7: records made before a module imported for a plugin's effect could show
// its own change of process state (decide.h step 3) may hold such a module.
// 8: binding statements' hashes did not hold their place among the surface's
// statements (a def moved below code that reads it was kept).
constexpr uint64_t kLearnedVersion = 8;
// Of the surfaces kept per file content: how surface.cpp hashes them.
constexpr uint64_t kSurfaceVersion = 5;

void put_paths(Writer& w, const HashedPaths& p) {
  w.u(p.size());
  for (const auto& [path, h] : p) {
    w.s(path);
    w.u(h);
  }
}
void get_paths(Reader& r, HashedPaths& p) {
  p.resize(r.count());
  for (auto& [path, h] : p) {
    path = r.s();
    h = r.u();
  }
}

void put_table(Writer& w, const BindingTable& t) {
  w.u(t.size());
  for (const auto& [name, h] : t) {
    w.u(name);
    w.u(h);
  }
}
void get_table(Reader& r, BindingTable& t) {
  t.resize(r.count());
  for (auto& [name, h] : t) {
    name = r.u();
    h = r.u();
  }
}

void put_hashes(Writer& w, const std::vector<uint64_t>& v) {
  w.u(v.size());
  for (uint64_t h : v) w.u(h);
}
std::vector<uint64_t> get_hashes(Reader& r) {
  std::vector<uint64_t> v(r.count());
  for (auto& h : v) h = r.u();
  return v;
}

void put_bindings(Writer& w, const std::vector<BoundName>& v) {
  w.u(v.size());
  for (const auto& b : v) {
    w.s(b.name);
    w.s(b.module);
    w.s(b.attr);
    w.u(b.hash);
  }
}
std::vector<BoundName> get_bindings(Reader& r) {
  std::vector<BoundName> v(r.count());
  for (auto& b : v) {
    b.name = r.s();
    b.module = r.s();
    b.attr = r.s();
    b.hash = r.u();
  }
  return v;
}

void put_deps(Writer& w, const DepFiles& deps) {
  w.u(deps.size());
  for (const auto& d : deps) {
    w.s(d.path);
    w.u(d.content_hash);
    w.b(d.whole);
    if (d.whole) continue;
    w.ss(d.ran);
    w.u(d.surface);
    put_table(w, d.bindings);
    w.b(d.opaque);
  }
}

void get_deps(Reader& r, DepFiles& deps) {
  deps.resize(r.count());
  for (auto& d : deps) {
    d.path = r.s();
    d.content_hash = r.u();
    d.whole = r.u() != 0;
    if (d.whole) continue;
    d.ran = r.ss();
    d.surface = r.u();
    get_table(r, d.bindings);
    d.opaque = r.b();
  }
}

void put_generation(Writer& w, const Generation& g) {
  w.u(g.id);
  w.u(g.version);
  w.u(g.session_key);
  w.u(g.conftest_fp);
  put_paths(w, g.inputs);
  put_deps(w, g.deps);
  w.ss(g.known);
}

void get_generation(Reader& r, Generation& out) {
  out.id = r.u();
  out.version = r.u();
  out.session_key = r.u();
  out.conftest_fp = r.u();
  get_paths(r, out.inputs);
  get_deps(r, out.deps);
  out.known = r.ss();
}

}  // namespace

std::string encode_generations(const std::vector<Generation>& gens) {
  Writer w;
  w.u(kLearnedVersion);
  w.u(gens.size());
  for (const auto& g : gens) put_generation(w, g);
  return seal(w.take());
}

bool decode_generations(const char* data, size_t size, std::vector<Generation>& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  out.resize(r.count());
  for (auto& g : out) get_generation(r, g);
  return r.ok() && r.at_end();
}

std::string encode_observed(const Observed& o) {
  Writer w;
  w.u(kLearnedVersion);
  put_hashes(w, o.names);
  put_hashes(w, o.preloaded);
  return seal(w.take());
}

bool decode_observed(const char* data, size_t size, Observed& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  out.names = get_hashes(r);
  out.preloaded = get_hashes(r);
  out.known = r.ok() && r.at_end();
  return out.known;
}

std::string encode_learned_set(const LearnedSet& set) {
  Writer w;
  w.u(kLearnedVersion);
  w.u(set.size());
  for (const auto& [gen, blob] : set) {
    w.u(gen);
    w.s(blob);
  }
  return seal(w.take());
}

bool decode_learned_set(const char* data, size_t size, LearnedSet& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  out.resize(r.count());
  for (auto& [gen, blob] : out) {
    gen = r.u();
    blob = r.s();
  }
  return r.ok() && r.at_end();
}

namespace {

// A record's fields after its version: the head, then each item, kept in
// `out.items` or (with a visitor) handed over as views.
bool decode_record_body(Reader& r, LearnedFile& out, const ItemVisitor* visit) {
  out.generation = r.u();
  out.content_hash = r.u();
  get_paths(r, out.deps);
  out.readers = r.ss();
  const size_t n = r.count();
  if (!visit) {
    out.items.resize(n);
    for (auto& it : out.items) {
      it.keywords = r.ss();
      it.marks = r.ss();
    }
    return r.ok() && r.at_end();
  }
  ItemView view;  // (its vectors keep their capacity from item to item)
  for (size_t i = 0; i < n && r.ok(); ++i) {
    view.keywords.resize(r.count());
    for (auto& k : view.keywords) k = r.sv();
    view.marks.resize(r.count());
    for (auto& m : view.marks) m = r.sv();
    if (r.ok() && !(*visit)(view)) return true;  // (the rest is not read)
  }
  return r.ok() && r.at_end();
}

}  // namespace

bool find_learned(const char* data, size_t size, uint64_t generation, LearnedFile& out, const ItemVisitor* visit) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  for (size_t n = r.count(); n > 0 && r.ok(); --n) {
    const uint64_t gen = r.u();
    std::string_view blob = r.sv();
    if (!r.ok() || gen != generation) continue;
    if (blob.size() < 8) return false;
    Reader inner(blob.data(), blob.size() - 8);  // (its own checksum: covered by the set's)
    return inner.u() == kLearnedVersion && decode_record_body(inner, out, visit) && out.generation == gen;
  }
  return false;
}

std::string encode_learned(const LearnedFile& f) {
  Writer w;
  w.u(kLearnedVersion);
  w.u(f.generation);
  w.u(f.content_hash);
  put_paths(w, f.deps);
  w.ss(f.readers);
  w.u(f.items.size());
  for (const auto& it : f.items) {
    w.ss(it.keywords);
    w.ss(it.marks);
  }
  return seal(w.take());
}

bool decode_learned(const char* data, size_t size, LearnedFile& out, const ItemVisitor* visit) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  return r.u() == kLearnedVersion && decode_record_body(r, out, visit);
}

DepHasher::DepHasher(const Index* index, int64_t now_ns, int64_t racy_window_ns, const TSLanguage* lang)
    : index_(index), now_ns_(now_ns), racy_ns_(racy_window_ns), lang_(lang) {}

bool DepHasher::hash(const std::string& path, uint64_t& out) {
  auto m = memo_.find(path);
  if (m != memo_.end()) {
    out = m->second;
    return true;
  }
  FileStat fs;
  if (!stat_file(path, fs)) return false;
  const std::string key = dep_key(path);
  if (index_) {
    Index::Reader reader(*index_);
    RecordView rv;
    if (reader.ok() && reader.get(key, rv) && rv.stat == fs && !rv.racy) {
      memo_[path] = out = rv.hash;
      return true;
    }
  }
  if (!hash_file(path, out)) return false;
  memo_[path] = out;
  if (index_) {
    Record r;
    r.stat = fs;
    r.hash = out;
    r.racy = is_racy(fs, now_ns_, racy_ns_);
    writes_.emplace_back(key, encode_record(r));
  }
  return true;
}

bool DepHasher::still_valid(const HashedPaths& deps, std::string* changed) {
  for (const auto& [path, h] : deps) {
    uint64_t now = 0;
    if (!hash(path, now) || now != h) {
      if (changed) *changed = path;
      return false;
    }
  }
  return true;
}

const Observed& DepHasher::observed(uint64_t generation) {
  auto it = observed_.find(generation);
  if (it != observed_.end()) return it->second;
  Observed& o = observed_[generation];
  if (index_) {
    Index::Reader reader(*index_);
    std::string_view raw;
    if (!(reader.ok() && reader.get_bytes(observed_key(generation), raw) && decode_observed(raw.data(), raw.size(), o)))
      o = Observed{};
  }
  return o;
}

bool DepHasher::still_valid(const DepFiles& deps, uint64_t generation, std::string* changed) {
  for (const auto& d : deps) {
    uint64_t now = 0;
    Surface surf;
    std::string why = "changed";
    if (hash(d.path, now) && now == d.content_hash) continue;
    if (!d.whole && surface(d.path, now, d.ran, surf) && surf.hash == d.surface) {
      why = binding_change(d.bindings, surf.bindings, observed(generation), d.opaque, d.path, &module_has_);
      if (why.empty()) continue;
      why = "changed (" + why + ")";
    }
    if (changed) *changed = d.path + " " + why;
    return false;
  }
  return true;
}

namespace {

// The surface cache (one per path): content hash, hash of the function
// names, whether the content has a surface, its hash and binding statements.
uint64_t names_hash(const std::vector<std::string>& ran) {
  uint64_t names = XXH3_64bits_withSeed(nullptr, 0, ran.size());
  for (const auto& r : ran) names = XXH3_64bits_withSeed(r.data(), r.size(), names);
  return names;
}

}  // namespace

bool DepHasher::surface(const std::string& path, uint64_t content_hash, const std::vector<std::string>& ran,
                        Surface& out) {
  if (!lang_) return false;
  const uint64_t names = names_hash(ran);
  const std::string key = surface_key(path);
  if (index_) {
    Index::Reader reader(*index_);
    std::string_view raw;
    if (reader.ok() && reader.get_bytes(key, raw)) {
      Reader r(raw.data(), raw.size());
      const uint64_t v = r.u(), c = r.u(), n = r.u(), ok = r.u();
      out.hash = r.u();
      out.bindings = get_bindings(r);
      if (r.ok() && r.at_end() && v == kSurfaceVersion && c == content_hash && n == names) return ok != 0;
    }
  }
  out = Surface{};
  std::string source;
  size_t size = 0;
  uint64_t h = 0;
  bool ok = read_file(path, source, size) && (h = fc::content_hash(source.data(), size)) == content_hash &&
            surface_hash(lang_, std::string_view(source.data(), size), std::set<std::string>(ran.begin(), ran.end()),
                         out.hash, &out.bindings);
  if (h != content_hash) return false;  // changed while reading: nothing to cache
  if (!ok) out = Surface{};
  if (index_) {
    Writer w;
    w.u(kSurfaceVersion);
    w.u(content_hash);
    w.u(names);
    w.u(ok ? 1 : 0);
    w.u(out.hash);
    put_bindings(w, out.bindings);
    writes_.emplace_back(key, w.take());
  }
  return ok;
}

uint64_t input_hash(const InputSnapshot& snapshot, const std::string& name) {
  if (name.rfind("dir:", 0) == 0) return listing_hash(name.substr(4));
  return input_value_hash(snapshot, name);
}

uint64_t input_value_hash(const InputSnapshot& snapshot, const std::string& name) {
  auto it = snapshot.find(name);
  if (it == snapshot.end()) return 0x756e736574ULL;  // "unset"; a value hashing to it is moved off below
  const uint64_t h = XXH3_64bits(it->second.data(), it->second.size());
  return h == 0x756e736574ULL ? h + 1 : h;
}

std::string generation_mismatch(const Generation& g, uint64_t session_key, uint64_t conftest_fp,
                                const InputSnapshot& snapshot, DepHasher& deps, KeyPart* part) {
  auto at = [part](KeyPart p, std::string why) {
    if (part) *part = p;
    return why;
  };
  if (g.session_key != session_key) {
    return at(KeyPart::Session, "pytest, Python, installed packages or the configuration changed");
  }
  if (g.conftest_fp != conftest_fp) return at(KeyPart::Conftests, "a conftest.py was added or removed");
  for (const auto& [name, h] : g.inputs) {
    if (input_hash(snapshot, name) == h) continue;
    if (name.rfind("dir:", 0) == 0) {
      return at(KeyPart::Inputs, "directory " + name.substr(4) + " changed (a file added or removed)");
    }
    if (name.rfind("env:*names", 0) == 0) {  // inputs.ENVIRONMENT_NAMES, env_readers.names_input
      const std::string prefix = name.size() > 11 ? name.substr(11) : std::string();
      return at(KeyPart::Inputs, prefix.empty() ? std::string("the names of the environment's variables changed")
                                                : "the names of the environment's " + prefix + "* variables changed");
    }
    if (name.rfind("env:", 0) == 0) return at(KeyPart::Inputs, "environment variable " + name.substr(4) + " changed");
    if (name.rfind("opt:", 0) == 0) return at(KeyPart::Inputs, "option " + name.substr(4) + " changed");
    if (name.rfind("run:", 0) == 0)
      return at(KeyPart::Inputs, "a program collection started changed (its output, or whether it is there): " +
                                     name.substr(4));
    return at(KeyPart::Inputs, "input " + name + " changed");
  }
  std::string changed;
  if (!deps.still_valid(g.deps, g.id, &changed)) return at(KeyPart::Dependencies, "dependency " + changed);
  return {};
}

bool load_generations(const Index::Reader& reader, std::vector<Generation>& out) {
  std::string_view raw;
  return reader.ok() && reader.get_bytes(generations_key(), raw) && decode_generations(raw.data(), raw.size(), out);
}

size_t newest_valid_generation(const std::vector<Generation>& gens, uint64_t session_key, uint64_t conftest_fp,
                               const InputSnapshot& snapshot, DepHasher& deps, std::string* why) {
  std::string best;
  KeyPart best_part = KeyPart::Session;
  for (size_t i = 0; i < gens.size(); ++i) {
    KeyPart part = KeyPart::Session;
    std::string reason = generation_mismatch(gens[i], session_key, conftest_fp, snapshot, deps, &part);
    if (reason.empty()) return i;
    if (i == 0 || part > best_part) {
      best = std::move(reason);
      best_part = part;
    }
  }
  if (why) *why = std::move(best);
  return gens.size();
}

bool find_learned(const Index::Reader& reader, const std::string& path, uint64_t generation, LearnedFile& out,
                  const ItemVisitor* visit) {
  std::string_view raw;
  return reader.get_bytes(learned_key(path), raw) && find_learned(raw.data(), raw.size(), generation, out, visit);
}

namespace {

// The records of this session's modules under generation `gen`, each joined
// to the module's records of the other kept generations (older ones dropped).
// A module's readers: those its earlier records name that this session did
// not collect (a link it could not see), with those it found.
std::vector<std::string> merged_readers(const LearnedSet& earlier, const LearnInput& in, const LearnInput::File& f) {
  std::set<std::string> out(f.readers.begin(), f.readers.end());
  const ItemVisitor head_only = [](const ItemView&) { return false; };  // (its items are not read)
  for (const auto& entry : earlier) {
    LearnedFile old;
    if (!decode_learned(entry.second.data(), entry.second.size(), old, &head_only)) continue;
    for (const auto& r : old.readers)
      if (!std::binary_search(in.collected.begin(), in.collected.end(), r)) out.insert(r);
  }
  return {out.begin(), out.end()};
}

uint64_t add_file_records(const Index& index, const LearnInput& in, uint64_t gen, const std::vector<Generation>& kept,
                          DepHasher& hasher, std::vector<std::pair<std::string, std::string>>& writes) {
  auto is_kept = [&](uint64_t id) {
    return std::any_of(kept.begin(), kept.end(), [&](const Generation& g) { return g.id == id; });
  };
  uint64_t written = 0;
  Index::Reader reader(index);  // ends with this call, before the write transaction begins
  for (const auto& f : in.files) {
    LearnedFile lf;
    lf.generation = gen;
    // A module that changed since the scan saw it is not learned: its items
    // may come from either version.
    if (!hash_file(f.path, lf.content_hash) || lf.content_hash != f.content_hash) continue;
    bool ok = true;
    for (const auto& d : f.deps) {
      uint64_t h;
      if (!hasher.hash(d, h)) {
        ok = false;
        break;
      }
      lf.deps.emplace_back(d, h);
    }
    if (!ok) continue;
    lf.items = f.items;
    LearnedSet set;
    std::string_view raw;
    if (!(reader.ok() && reader.get_bytes(learned_key(f.path), raw) && decode_learned_set(raw.data(), raw.size(), set)))
      set.clear();
    lf.readers = merged_readers(set, in, f);
    set.erase(std::remove_if(set.begin(), set.end(), [&](const auto& e) { return e.first == gen || !is_kept(e.first); }),
              set.end());
    set.emplace_back(gen, encode_learned(lf));
    writes.emplace_back(learned_key(f.path), encode_learned_set(set));
    ++written;
  }
  return written;
}

}  // namespace

namespace {

// A hash of the code the tracer saw in one file (order-independent).
uint64_t ran_code_hash(const RanCode& ran) {
  RanCode sorted = ran;
  std::sort(sorted.begin(), sorted.end());
  uint64_t h = XXH3_64bits_withSeed(nullptr, 0, sorted.size());
  for (const auto& [name, line] : sorted) h = XXH3_64bits_withSeed(name.data(), name.size(), h ^ line);
  return h;
}

// One run's surface of a file, cached by path: the traced code mapped to
// qualified names and the surface hash with exactly those, for one content.
struct RunSurface {
  uint64_t content_hash = 0, code_hash = 0, surface = 0;
  std::vector<std::string> names;
  std::vector<BoundName> bindings;
};

bool load_run_surface(const Index::Reader* reader, const std::string& path, RunSurface& out) {
  std::string_view raw;
  if (!reader || !reader->get_bytes(surface_run_key(path), raw)) return false;
  Reader r(raw.data(), raw.size());
  if (r.u() != kSurfaceVersion) return false;
  out.content_hash = r.u();
  out.code_hash = r.u();
  out.surface = r.u();
  out.names = r.ss();
  out.bindings = get_bindings(r);
  return r.ok() && r.at_end();
}

std::string encode_run_surface(const RunSurface& s) {
  Writer w;
  w.u(kSurfaceVersion);
  w.u(s.content_hash);
  w.u(s.code_hash);
  w.u(s.surface);
  w.ss(s.names);
  put_bindings(w, s.bindings);
  return w.take();
}

// What the session's dependencies are now: content hashes, and for each file
// whose module body ran while tracing, its surface. Joined with `stored` (the
// generation this session extends), whose functions stay in each surface: a
// generation's surface is the union of what every run that extended it ran.
// A file whose content and traced code are those of an earlier run reuses
// that run's surface (cached in the index): after an edit, only the edited
// files are parsed again.
DepFiles current_deps(const LearnInput& in, const DepFiles* stored, DepHasher& hasher, const Index* index,
                      std::vector<std::pair<std::string, std::string>>& writes) {
  std::map<std::string, const DepFile*> before;
  if (stored)
    for (const auto& d : *stored) before[d.path] = &d;
  DepFiles out;
  std::vector<const LearnInput::Dep*> inputs;
  for (const auto& dep : in.deps) {
    DepFile d;
    d.path = dep.path;
    if (!hasher.hash(dep.path, d.content_hash)) continue;
    auto b = before.find(dep.path);
    d.whole = !dep.traced || !in.lang || (b != before.end() && b->second->whole);
    if (!d.whole && b != before.end()) d.ran = b->second->ran;
    d.opaque = dep.opaque || (b != before.end() && b->second->opaque);
    out.push_back(std::move(d));
    inputs.push_back(&dep);
  }
  std::vector<RunSurface> runs(out.size());
  std::vector<char> todo(out.size(), 0);
  {
    std::unique_ptr<Index::Reader> reader;
    if (index) reader = std::make_unique<Index::Reader>(*index);
    for (size_t i = 0; i < out.size(); ++i) {
      DepFile& d = out[i];
      if (d.whole) continue;
      RunSurface cached;
      const uint64_t code = ran_code_hash(inputs[i]->ran);
      if (load_run_surface(reader && reader->ok() ? reader.get() : nullptr, d.path, cached) &&
          cached.content_hash == d.content_hash && cached.code_hash == code &&
          std::includes(cached.names.begin(), cached.names.end(), d.ran.begin(), d.ran.end())) {
        d.ran = cached.names;
        d.surface = cached.surface;
        d.bindings = binding_table(cached.bindings);
        continue;
      }
      runs[i].content_hash = d.content_hash;
      runs[i].code_hash = code;
      todo[i] = 1;
    }
  }
  // The others: one parse per file, in parallel.
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::string source;
    size_t size = 0;
    for (size_t i; (i = next++) < out.size();) {
      if (!todo[i]) continue;
      DepFile& d = out[i];
      std::set<std::string> names;
      std::string_view text;
      if (read_file(d.path, source, size) && fc::content_hash(source.data(), size) == d.content_hash) {
        text = std::string_view(source.data(), size);
        d.whole = !file_surface(in.lang, text, inputs[i]->ran, names, runs[i].surface, &runs[i].bindings);
      } else {
        d.whole = true;
      }
      if (d.whole) {
        todo[i] = 0;
        d.ran.clear();
        continue;
      }
      runs[i].names.assign(names.begin(), names.end());
      d.surface = runs[i].surface;
      std::vector<BoundName> bindings = runs[i].bindings;
      const size_t had = names.size();
      names.insert(d.ran.begin(), d.ran.end());
      // Functions earlier runs of the generation ran stay in its surface.
      if (names.size() != had) {
        bindings.clear();
        d.whole = !surface_hash(in.lang, text, names, d.surface, &bindings);
      }
      d.bindings = binding_table(bindings);
      d.ran.assign(names.begin(), names.end());
      if (d.whole) d.ran.clear();
    }
  };
  const unsigned threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < out.size(); ++i)
    if (todo[i]) writes.emplace_back(surface_run_key(out[i].path), encode_run_surface(runs[i]));
  // Files of the stored generation this run did not load keep their entries.
  std::set<std::string> seen;
  for (const auto& d : out) seen.insert(d.path);
  if (stored)
    for (const auto& d : *stored)
      if (!seen.count(d.path)) out.push_back(d);
  std::sort(out.begin(), out.end(), [](const DepFile& a, const DepFile& b) { return a.path < b.path; });
  return out;
}

// What every run of a generation could have read: the union, known only
// when each part is.
Observed joined(const Observed& a, const Observed& b) {
  Observed out;
  out.known = a.known && b.known;
  if (!out.known) return out;
  std::set_union(a.names.begin(), a.names.end(), b.names.begin(), b.names.end(), std::back_inserter(out.names));
  // Loaded before tracing in every run: what all runs had loaded.
  std::set_intersection(a.preloaded.begin(), a.preloaded.end(), b.preloaded.begin(), b.preloaded.end(),
                        std::back_inserter(out.preloaded));
  return out;
}

}  // namespace

std::string learn(const std::string& index_dir, const LearnInput& in, uint64_t& files_written) {
  files_written = 0;
  std::string err, warning;
  auto index = Index::open(index_dir, err, warning);
  if (!index) return err;
  DepHasher hasher(index.get(), now_ns(), kRacyWindowNs, in.lang);
  // The newest kept generation that holds for this session takes the records.
  std::vector<Generation> gens;
  Generation gen;
  bool merge = false;
  {
    Index::Reader reader(*index);
    if (load_generations(reader, gens)) {
      const size_t at = newest_valid_generation(gens, in.session_key, in.conftest_fp, in.inputs, hasher);
      if (at < gens.size()) {
        gen = gens[at];
        merge = true;
      }
    } else {
      gens.clear();
    }
  }
  std::vector<std::pair<std::string, std::string>> surface_writes;
  DepFiles deps = current_deps(in, merge ? &gen.deps : nullptr, hasher, index.get(), surface_writes);
  // Inputs: this session's (a superset of a merged generation's names, all
  // with equal values), each with the hash of its value when deciding.
  HashedInputs inputs;
  for (const auto& name : in.input_names) inputs.emplace_back(name, input_hash(in.inputs, name));
  for (const auto& dir : in.listings) inputs.emplace_back("dir:" + dir, listing_hash(dir));
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  if (!merge) {
    std::random_device rd;
    gen = Generation{};
    gen.id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid());
    if (gen.id == 0) gen.id = 1;
    gen.session_key = in.session_key;
    gen.conftest_fp = in.conftest_fp;
  }
  gen.deps = std::move(deps);
  gen.inputs = std::move(inputs);
  std::vector<std::string> known;
  std::set_union(gen.known.begin(), gen.known.end(), in.collected.begin(), in.collected.end(),
                 std::back_inserter(known));
  gen.known = std::move(known);
  ++gen.version;
  // This generation first, then the others it leaves kept.
  std::vector<Generation> kept{gen};
  for (auto& g : gens)
    if (g.id != gen.id && kept.size() < kKeptGenerations) kept.push_back(std::move(g));
  const Observed observed = merge ? joined(hasher.observed(gen.id), in.observed) : in.observed;
  std::vector<std::pair<std::string, std::string>> writes = std::move(hasher.writes());
  for (auto& w : surface_writes) writes.push_back(std::move(w));
  writes.emplace_back(generations_key(), encode_generations(kept));
  writes.emplace_back(observed_key(gen.id), encode_observed(observed));
  files_written = add_file_records(*index, in, gen.id, kept, hasher, writes);
  // What the generations no longer kept observed goes with them.
  std::vector<std::string> erase;
  for (const auto& g : gens)
    if (std::none_of(kept.begin(), kept.end(), [&](const Generation& k) { return k.id == g.id; }))
      erase.push_back(observed_key(g.id));
  if (!index->put_many(writes, err, erase)) return err;
  return {};
}

}  // namespace fc
