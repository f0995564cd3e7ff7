#include "learned.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>

#include <xxhash.h>

#include "codec.h"
#include "index.h"

namespace fc {
namespace {

constexpr uint64_t kLearnedVersion = 2;

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

void put_generation(Writer& w, const Generation& g) {
  w.u(g.id);
  w.u(g.version);
  w.u(g.session_key);
  w.u(g.conftest_fp);
  put_paths(w, g.inputs);
  put_paths(w, g.deps);
}

void get_generation(Reader& r, Generation& out) {
  out.id = r.u();
  out.version = r.u();
  out.session_key = r.u();
  out.conftest_fp = r.u();
  get_paths(r, out.inputs);
  get_paths(r, out.deps);
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

bool find_learned(const char* data, size_t size, uint64_t generation, LearnedFile& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  for (size_t n = r.count(); n > 0 && r.ok(); --n) {
    const uint64_t gen = r.u();
    std::string_view blob = r.sv();
    if (r.ok() && gen == generation) return decode_learned(blob.data(), blob.size(), out) && out.generation == gen;
  }
  return false;
}

std::string encode_learned(const LearnedFile& f) {
  Writer w;
  w.u(kLearnedVersion);
  w.u(f.generation);
  w.u(f.content_hash);
  put_paths(w, f.deps);
  w.u(f.items.size());
  for (const auto& it : f.items) {
    w.ss(it.keywords);
    w.ss(it.marks);
  }
  return seal(w.take());
}

bool decode_learned(const char* data, size_t size, LearnedFile& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  Reader r(data, body);
  if (r.u() != kLearnedVersion) return false;
  out.generation = r.u();
  out.content_hash = r.u();
  get_paths(r, out.deps);
  out.items.resize(r.count());
  for (auto& it : out.items) {
    it.keywords = r.ss();
    it.marks = r.ss();
  }
  return r.ok() && r.at_end();
}

DepHasher::DepHasher(const Index* index, int64_t now_ns, int64_t racy_window_ns)
    : index_(index), now_ns_(now_ns), racy_ns_(racy_window_ns) {}

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

uint64_t input_value_hash(const InputSnapshot& snapshot, const std::string& name) {
  auto it = snapshot.find(name);
  if (it == snapshot.end()) return 0x756e736574ULL;  // "unset"; a value hashing to it is moved off below
  const uint64_t h = XXH3_64bits(it->second.data(), it->second.size());
  return h == 0x756e736574ULL ? h + 1 : h;
}

std::string generation_mismatch(const Generation& g, uint64_t session_key, uint64_t conftest_fp,
                                const InputSnapshot& snapshot, DepHasher& deps) {
  if (g.session_key != session_key) return "pytest, Python, installed packages or the configuration changed";
  if (g.conftest_fp != conftest_fp) return "a conftest.py changed";
  for (const auto& [name, h] : g.inputs) {
    if (input_value_hash(snapshot, name) == h) continue;
    if (name.rfind("env:", 0) == 0) return "environment variable " + name.substr(4) + " changed";
    if (name.rfind("opt:", 0) == 0) return "option " + name.substr(4) + " changed";
    return "input " + name + " changed";
  }
  std::string changed;
  if (!deps.still_valid(g.deps, &changed)) return "dependency " + changed + " changed";
  return {};
}

bool load_generations(const Index::Reader& reader, std::vector<Generation>& out) {
  std::string_view raw;
  return reader.ok() && reader.get_bytes(generations_key(), raw) && decode_generations(raw.data(), raw.size(), out);
}

size_t newest_valid_generation(const std::vector<Generation>& gens, uint64_t session_key, uint64_t conftest_fp,
                               const InputSnapshot& snapshot, DepHasher& deps, std::string* why) {
  std::string newest;
  for (size_t i = 0; i < gens.size(); ++i) {
    std::string reason = generation_mismatch(gens[i], session_key, conftest_fp, snapshot, deps);
    if (reason.empty()) return i;
    if (i == 0) newest = std::move(reason);
  }
  if (why) *why = std::move(newest);
  return gens.size();
}

bool find_learned(const Index::Reader& reader, const std::string& path, uint64_t generation, LearnedFile& out) {
  std::string_view raw;
  return reader.get_bytes(learned_key(path), raw) && find_learned(raw.data(), raw.size(), generation, out);
}

namespace {

// The records of this session's modules under generation `gen`, each joined
// to the module's records of the other kept generations (older ones dropped).
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
    set.erase(std::remove_if(set.begin(), set.end(), [&](const auto& e) { return e.first == gen || !is_kept(e.first); }),
              set.end());
    set.emplace_back(gen, encode_learned(lf));
    writes.emplace_back(learned_key(f.path), encode_learned_set(set));
    ++written;
  }
  return written;
}

}  // namespace

std::string learn(const std::string& index_dir, const LearnInput& in, uint64_t& files_written) {
  files_written = 0;
  std::string err, warning;
  auto index = Index::open(index_dir, err, warning);
  if (!index) return err;
  DepHasher hasher(index.get(), now_ns(), kRacyWindowNs);
  // Hashes of the session's dependencies, now.
  HashedPaths deps;
  for (const auto& p : in.deps) {
    uint64_t h;
    if (hasher.hash(p, h)) deps.emplace_back(p, h);
  }
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
  if (merge) {
    std::map<std::string, uint64_t> all(gen.deps.begin(), gen.deps.end());
    for (const auto& [p, h] : deps) {
      auto it = all.find(p);
      if (it != all.end() && it->second != h) {
        merge = false;  // changed between the check above and now
        break;
      }
      all[p] = h;
    }
    if (merge) gen.deps.assign(all.begin(), all.end());
  }
  // Inputs: this session's (a superset of a merged generation's names, all
  // with equal values), each with the hash of its value when deciding.
  HashedInputs inputs;
  for (const auto& name : in.input_names) inputs.emplace_back(name, input_value_hash(in.inputs, name));
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  if (!merge) {
    std::random_device rd;
    gen = Generation{};
    gen.id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid());
    if (gen.id == 0) gen.id = 1;
    gen.session_key = in.session_key;
    gen.conftest_fp = in.conftest_fp;
    gen.deps = deps;
  }
  gen.inputs = std::move(inputs);
  ++gen.version;
  // This generation first, then the others it leaves kept.
  std::vector<Generation> kept{gen};
  for (auto& g : gens)
    if (g.id != gen.id && kept.size() < kKeptGenerations) kept.push_back(std::move(g));
  std::vector<std::pair<std::string, std::string>> writes = std::move(hasher.writes());
  writes.emplace_back(generations_key(), encode_generations(kept));
  files_written = add_file_records(*index, in, gen.id, kept, hasher, writes);
  if (!index->put_many(writes, err)) return err;
  return {};
}

}  // namespace fc
