#include "scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <xxhash.h>

#include "extract.h"
#include "index.h"
#include "walk.h"
#include "decisions.h"
#include "learned.h"

namespace fc {
namespace {

using Clock = std::chrono::steady_clock;

// Reasons of decisions made on learned items (kept in the decision cache).
constexpr const char* kLearnedNone = "no learned item can match";
constexpr const char* kLearnedMay = "a learned item may match";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads a whole file into `buf`, which only grows (a thread reuses it for
// every file, so its bytes are neither allocated nor zeroed again); the
// content is the first `size` bytes.
bool read_file(const std::string& path, std::string& buf, size_t& size) {
  FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  // One byte more than the size, so that the final read sees the end.
  if (buf.size() < static_cast<size_t>(st.st_size) + 1) buf.resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  while (true) {
    if (got == buf.size()) buf.resize(buf.size() + 65536);
    ssize_t n = ::read(f.fd, &buf[got], buf.size() - got);
    if (n < 0) return false;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  size = got;
  return true;
}

struct Slot {
  FileFacts facts;
  bool write = false;
  Record rec;
  uint64_t hash = 0;         // content hash, when the file could be read
  bool hash_known = false;
  bool cached = false;       // a cached decision applies: facts were not decoded
  bool has_learned = false;  // a learned record of the current generation was found
  LearnedFile learned;
};

// Says whether a cached decision exists for this content hash.
using CacheProbe = std::function<bool(uint64_t)>;

struct Timers {
  std::atomic<int64_t> stat{0}, lookup{0}, read{0}, hash{0}, parse{0};
  std::atomic<uint64_t> parsed{0}, from_index{0}, rehashed{0}, bytes{0};
};

int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

// Test modules that share objects - one imports the other's base class, case
// list or generator - are collected together: what collecting one does to the
// shared objects can change the other's items (SciPy: two modules parametrize
// with one itertools.product; whichever is collected first consumes it). The
// links come from learned records. A linked group is skipped only when every
// member is; otherwise its skipped members are imported too. Returns, per
// test module, whether it belongs to a group (its decision depends on others).
std::vector<char> collect_together(const std::vector<std::string>& paths, size_t first_test,
                                   const std::vector<Slot>& slots, std::vector<FileDecision>& files) {
  const size_t n = files.size();
  std::vector<char> grouped(n, 0);
  bool any_links = false;
  for (size_t k = 0; k < n && !any_links; ++k)
    any_links = slots[first_test + k].has_learned && !slots[first_test + k].learned.deps.empty();
  if (!any_links) return grouped;  // the common case: no map of paths on the warm path
  std::map<std::string, size_t> at;
  for (size_t k = 0; k < n; ++k) at.emplace(paths[first_test + k], k);
  std::vector<size_t> parent(n);
  for (size_t k = 0; k < n; ++k) parent[k] = k;
  std::function<size_t(size_t)> find = [&](size_t k) { return parent[k] == k ? k : parent[k] = find(parent[k]); };
  for (size_t k = 0; k < n; ++k) {
    const Slot& sl = slots[first_test + k];
    if (!sl.has_learned) continue;
    for (const auto& dep : sl.learned.deps) {
      auto it = at.find(dep.first);
      if (it == at.end()) continue;
      grouped[k] = grouped[it->second] = 1;
      parent[find(k)] = find(it->second);
    }
  }
  std::map<size_t, std::string> imported_in;  // group root -> one imported member
  for (size_t k = 0; k < n; ++k)
    if (grouped[k] && !files[k].skip) imported_in.emplace(find(k), files[k].path);
  for (size_t k = 0; k < n; ++k) {
    if (!grouped[k] || !files[k].skip) continue;
    auto it = imported_in.find(find(k));
    if (it == imported_in.end()) continue;
    files[k].skip = false;
    files[k].reason = "shares objects with imported test module " + it->second;
    files[k].learned_current = false;  // recorded again, as collected with the others
  }
  return grouped;
}

// Facts for one file: from the index when it proves the file unchanged,
// otherwise read, hashed and (if the content changed) parsed.
void process(const std::string& path, Extractor& ex, std::string& buf, const Index::Reader* reader,
             int64_t scan_start_ns, const ScanConfig& cfg, const CacheProbe& probe, Slot& slot, Timers& tm) {
  const uint64_t max_parse = cfg.max_parse_bytes;
  auto t = Clock::now();
  FileStat st;
  bool have_stat = stat_file(path, st);
  tm.stat += ns_since(t);
  if (!have_stat) {
    slot.facts.dynamic.push_back("cannot stat file");
    return;
  }
  RecordView old;
  bool have_old = false;
  if (reader) {
    t = Clock::now();
    have_old = reader->get(path, old);
    tm.lookup += ns_since(t);
    if (have_old && old.stat == st && !old.racy) {
      slot.hash = old.hash;
      slot.hash_known = true;
      if (probe && probe(old.hash)) {
        slot.cached = true;
        ++tm.from_index;
        return;
      }
      if (decode_facts(old.facts.data(), old.facts.size(), slot.facts)) {
        ++tm.from_index;
        return;
      }
      slot.facts = FileFacts{};
    }
  }
  t = Clock::now();
  size_t size = 0;
  bool have_src = read_file(path, buf, size);
  const std::string_view src(buf.data(), size);
  tm.read += ns_since(t);
  if (!have_src) {
    slot.facts = FileFacts{};
    slot.facts.dynamic.push_back("cannot read file");
    return;
  }
  t = Clock::now();
  uint64_t h = XXH3_64bits(src.data(), src.size());
  tm.hash += ns_since(t);
  // Timestamps this close to now may still move without changing (coarse
  // file-system clocks): such a record is re-hashed next time.
  const int64_t window = cfg.racy_window_ns;
  bool racy = scan_start_ns - st.mtime_ns < window || scan_start_ns - st.ctime_ns < window;
  slot.rec.stat = st;
  slot.rec.hash = h;
  slot.rec.racy = racy;
  slot.hash = h;
  slot.hash_known = true;
  if (have_old && old.hash == h) {
    bool cached = probe && probe(h);
    if (cached || decode_facts(old.facts.data(), old.facts.size(), slot.facts)) {
      ++tm.rehashed;
      slot.cached = cached;
      slot.rec.facts = std::string(old.facts);
      slot.write = reader != nullptr;
      return;
    }
    slot.facts = FileFacts{};
  }
  t = Clock::now();
  if (src.size() > max_parse) {
    slot.facts = FileFacts{};
    slot.facts.dynamic.push_back("file larger than the parse limit");
  } else {
    slot.facts = ex.extract(src);
    ++tm.parsed;
    tm.bytes += src.size();
  }
  tm.parse += ns_since(t);
  slot.rec.facts = encode_facts(slot.facts);
  slot.write = reader != nullptr;
}

template <class F>
void parallel_for(size_t n, unsigned threads, F&& body) {
  std::atomic<size_t> next{0};
  auto worker = [&](unsigned id) {
    for (size_t i; (i = next.fetch_add(1)) < n;) body(id, i);
  };
  if (threads <= 1 || n < 2) {
    worker(0);
    return;
  }
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
}

std::string parent_dir(const std::string& p) {
  size_t s = p.rfind('/');
  if (s == std::string::npos) return {};
  return s == 0 ? "/" : p.substr(0, s);
}

}  // namespace

ScanResult scan(const TSLanguage* lang, const ScanConfig& cfg) {
  ScanResult res;
  auto t_total = Clock::now();
  if (!language_supported(lang)) {
    res.error = "tree-sitter grammar ABI not supported";
    return res;
  }
  Filter filter;
  std::string err;
  if (cfg.has_keyword) {
    filter.keyword = Expression::parse(cfg.keyword, &err);
    if (!filter.keyword) {
      res.error = "-k expression not handled (" + err + ")";
      return res;
    }
    if (filter.keyword->uses_kwargs()) {
      res.error = "-k expression uses call syntax";  // pytest raises at evaluation
      return res;
    }
  }
  if (cfg.has_markexpr) {
    filter.mark = Expression::parse(cfg.markexpr, &err);
    if (!filter.mark) {
      res.error = "-m expression not handled (" + err + ")";
      return res;
    }
  }

  auto t = Clock::now();
  WalkConfig wc{cfg.rootdir, cfg.roots, cfg.python_files, cfg.norecursedirs};
  WalkResult w = walk(wc);
  res.stats.walk_ms = ms_since(t);

  // Conftests come first: their hashes fingerprint the scope of every test below them.
  std::vector<std::string> paths = w.conftests;
  const size_t first_test = paths.size();
  paths.insert(paths.end(), w.tests.begin(), w.tests.end());
  res.stats.files = w.tests.size();
  res.stats.conftests = w.conftests.size();

  std::unique_ptr<Index> index;
  if (!cfg.index_dir.empty()) {
    std::string warning;
    index = Index::open(cfg.index_dir, err, warning, cfg.initial_map_bytes);
    if (!warning.empty()) res.warnings.push_back(warning);
    if (!index) res.warnings.push_back(err + "; running without an index");
  }

  t = Clock::now();
  std::vector<Slot> slots(paths.size());
  Timers tm;
  unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, 64);
  std::vector<std::unique_ptr<Extractor>> extractors;
  std::vector<std::string> buffers(threads);  // file contents, one reused buffer per thread
  std::vector<std::unique_ptr<Index::Reader>> readers;
  for (unsigned i = 0; i < threads; ++i) {
    extractors.push_back(std::make_unique<Extractor>(lang));
    if (index) {
      readers.push_back(std::make_unique<Index::Reader>(*index));
      if (!readers.back()->ok()) readers.back().reset();
    } else {
      readers.emplace_back();
    }
  }
  int64_t start_ns = now_ns();
  parallel_for(first_test, threads, [&](unsigned id, size_t i) {
    process(paths[i], *extractors[id], buffers[id], readers[id].get(), start_ns, cfg, nullptr, slots[i], tm);
  });

  const bool filtering = cfg.has_keyword || cfg.has_markexpr;
  ModelConfig mc;
  mc.rootdir = cfg.rootdir;
  mc.python_classes = cfg.python_classes;
  mc.python_functions = cfg.python_functions;
  mc.stdlib.insert(cfg.stdlib.begin(), cfg.stdlib.end());

  // Scope fingerprints: the conftests (path and content) from rootdir down.
  std::map<std::string, size_t> conftest_at;
  for (size_t i = 0; i < first_test; ++i) conftest_at[parent_dir(paths[i])] = i;
  auto under_root = [&](const std::string& dir) {
    return dir.size() > cfg.rootdir.size() && dir.compare(0, cfg.rootdir.size(), cfg.rootdir) == 0 &&
           (cfg.rootdir == "/" || dir[cfg.rootdir.size()] == '/');
  };
  std::map<std::string, uint64_t> scope_fp;
  std::function<uint64_t(const std::string&)> fp_of = [&](const std::string& dir) -> uint64_t {
    auto it = scope_fp.find(dir);
    if (it != scope_fp.end()) return it->second;
    Fingerprint f;
    f.add(under_root(dir) ? fp_of(parent_dir(dir)) : uint64_t{0});
    auto c = conftest_at.find(dir);
    if (c != conftest_at.end()) {
      const Slot& cs = slots[c->second];
      f.add(paths[c->second]).add(cs.hash_known ? cs.hash : uint64_t{0}).add(uint64_t{cs.hash_known});
    }
    return scope_fp.emplace(dir, f.value()).first->second;
  };
  std::vector<uint64_t> test_fp(paths.size(), 0);
  for (size_t i = first_test; i < paths.size(); ++i) test_fp[i] = fp_of(parent_dir(paths[i]));

  // Every conftest of the session: some hooks act on all items, wherever they sit.
  Fingerprint cf;
  cf.add(static_cast<uint64_t>(first_test));
  for (size_t i = 0; i < first_test; ++i)
    cf.add(paths[i]).add(slots[i].hash_known ? slots[i].hash : uint64_t{0}).add(uint64_t{slots[i].hash_known});
  const uint64_t conftest_fp = cf.value();
  // A learned generation keys the conftests by path only: their content is
  // among its dependencies, compared by surface (a fixture body may change).
  Fingerprint cset;
  cset.add(static_cast<uint64_t>(first_test));
  for (size_t i = 0; i < first_test; ++i) cset.add(paths[i]);
  res.conftest_fp = cset.value();
  res.conftests = w.conftests;

  // Learned facts apply only while their generation's key still matches:
  // the newest kept generation that holds for this session is used.
  Generation gen;
  bool gen_valid = false;
  DepHasher deps(index.get(), start_ns, cfg.racy_window_ns, lang);
  if (filtering && index && readers[0] && cfg.session_key != 0) {
    std::string_view raw;
    std::vector<Generation> gens;
    if (readers[0]->get_raw(generations_key(), raw) && decode_generations(raw.data(), raw.size(), gens) &&
        !gens.empty()) {
      for (auto& g : gens) {
        std::string why = generation_mismatch(g, cfg.session_key, res.conftest_fp, cfg.inputs, deps);
        if (why.empty()) {
          gen = std::move(g);
          gen_valid = true;
          break;
        }
        if (res.learned_status.empty()) res.learned_status = std::move(why);  // the newest one's reason
      }
      if (gen_valid) {
        res.learned_status.clear();
        for (const auto& input : gen.inputs) res.input_names.push_back(input.first);
        for (const auto& d : gen.deps) {
          uint64_t now = 0;
          if (deps.hash(d.path, now) && now != d.content_hash) res.surface_kept.emplace_back(d.path, now);
        }
      }
    } else {
      res.learned_status = "nothing learned yet";
    }
  }

  // The query: everything besides the files that a decision depends on.
  Fingerprint q;
  q.add(gen_valid ? gen.id : uint64_t{0}).add(gen_valid ? gen.version : uint64_t{0});
  q.add(std::string_view("fastcollect-query-1")).add(cfg.rootdir);
  for (const auto* list : {&cfg.python_classes, &cfg.python_functions, &cfg.stdlib, &cfg.global_autouse}) {
    q.add(static_cast<uint64_t>(list->size()));
    for (const auto& x : *list) q.add(x);
  }
  for (const auto& [name, fi] : cfg.plugin_fixtures) {
    q.add(name).add(uint64_t{fi.has_params}).add(uint64_t{fi.param_marks_unknown});
    q.add(static_cast<uint64_t>(fi.deps.size()));
    for (const auto& d : fi.deps) q.add(d);
  }
  q.add(uint64_t{cfg.has_keyword}).add(cfg.keyword).add(uint64_t{cfg.has_markexpr}).add(cfg.markexpr);
  q.add(conftest_fp).add(cfg.static_unknown);
  q.add(static_cast<uint64_t>(cfg.read_hooks.size()));
  for (const auto& [path, marks] : cfg.read_hooks) {
    q.add(path).add(static_cast<uint64_t>(marks.size()));
    for (const auto& m : marks) q.add(m);
  }
  const uint64_t query = q.value();
  DecisionSet cache;
  bool have_cache = false;
  std::vector<uint64_t> recent;
  if (filtering && index && readers[0]) {
    std::string_view raw;
    have_cache = readers[0]->get_raw(decision_key(query), raw) && decode_decisions(raw, query, cache);
    if (readers[0]->get_raw(recent_queries_key(), raw)) recent = decode_recent(raw);
  }

  // Decisions: conftests are folded per directory, from rootdir down (once
  // per directory, shared by the threads), and each module is decided by the
  // thread that just parsed it, while its facts are fresh in that thread's cache.
  std::map<std::string, Scope> scopes;
  std::mutex scopes_mutex;
  Scope base;
  base.env.defs = cfg.plugin_fixtures;
  base.env.autouse.insert(cfg.global_autouse.begin(), cfg.global_autouse.end());
  std::function<const Scope&(const std::string&)> scope_of = [&](const std::string& dir) -> const Scope& {
    auto it = scopes.find(dir);
    if (it != scopes.end()) return it->second;
    Scope sc = under_root(dir) ? scope_of(parent_dir(dir)) : base;
    auto c = conftest_at.find(dir);
    if (c != conftest_at.end()) apply_conftest(slots[c->second].facts, dir + "/conftest.py", mc, sc);
    return scopes.emplace(dir, std::move(sc)).first->second;  // map nodes never move
  };
  // A conftest anywhere in the session may act on every item.
  std::string global_unknown = cfg.static_unknown;
  for (size_t i = 0; i < first_test && filtering && global_unknown.empty(); ++i) {
    auto read = cfg.read_hooks.find(paths[i]);
    if (read == cfg.read_hooks.end()) {
      global_unknown = conftest_global_effect(slots[i].facts, paths[i], mc);
      continue;
    }
    global_unknown = conftest_global_effect(slots[i].facts, paths[i], mc, {"pytest_collection_modifyitems"});
    base.maybe_marks.insert(base.maybe_marks.end(), read->second.begin(), read->second.end());
  }
  if (filtering) res.files.resize(paths.size() - first_test);
  // Modules with learned items are decided after the loop: checking their
  // dependencies shares one memo of file hashes.
  std::vector<char> learned_deps_ok(paths.size() - first_test, 0);
  std::atomic<bool> fresh{false};
  std::atomic<uint64_t> cached_count{0};
  std::atomic<uint64_t> learned_count{0};
  std::atomic<int64_t> decide_ns{0};
  auto decide_module = [&](size_t k) {
    size_t i = first_test + k;
    if (slots[i].cached) {  // no facts were decoded: nothing to decide or free
      ++cached_count;
      const CachedDecision& c = cache.by_path.at(paths[i]);
      res.files[k] = FileDecision{paths[i], c.skip, c.reason, c.content_hash};
      res.files[k].learned_current = !c.skip && c.reason == kLearnedMay;
      return;
    }
    // A module's facts are freed once decided, rather than all at the end.
    struct FreeFacts {
      FileFacts& f;
      ~FreeFacts() { f = FileFacts{}; }
    } free_facts{slots[i].facts};
    struct AddTime {
      std::atomic<int64_t>& sum;
      Clock::time_point start;
      ~AddTime() { sum += ns_since(start); }
    } add_time{decide_ns, Clock::now()};
    fresh = true;
    if (slots[i].has_learned && learned_deps_ok[k]) {
      ++learned_count;
      bool skip = learned_all_false(slots[i].learned, filter.keyword.get(), filter.mark.get());
      res.files[k] = FileDecision{paths[i], skip, skip ? kLearnedNone : kLearnedMay, slots[i].hash};
      res.files[k].learned_current = !skip;
      return;
    }
    if (!global_unknown.empty()) {
      res.files[k] = FileDecision{paths[i], false, global_unknown, slots[i].hash};
      return;
    }
    const std::string dir = parent_dir(paths[i]);
    const Scope* sc;
    {
      std::lock_guard<std::mutex> lock(scopes_mutex);
      sc = &scope_of(dir);
    }
    Decision d = decide(slots[i].facts, paths[i], *sc, mc, filter);
    res.files[k] = FileDecision{paths[i], d.skip, std::move(d.reason), slots[i].hash};
  };

  parallel_for(paths.size() - first_test, threads, [&](unsigned id, size_t k) {
    size_t i = first_test + k;
    CacheProbe probe;
    const CachedDecision* hit = nullptr;
    if (have_cache) {
      auto it = cache.by_path.find(paths[i]);
      if (it != cache.by_path.end() && it->second.scope_fp == test_fp[i]) hit = &it->second;
      if (hit) probe = [hit](uint64_t h) { return h == hit->content_hash; };
    }
    process(paths[i], *extractors[id], buffers[id], readers[id].get(), start_ns, cfg, probe, slots[i], tm);
    if (gen_valid && !slots[i].cached && slots[i].hash_known && readers[id]) {
      std::string_view raw;
      Slot& sl = slots[i];
      sl.has_learned = readers[id]->get_raw(learned_key(paths[i]), raw) &&
                       find_learned(raw.data(), raw.size(), gen.id, sl.learned) && sl.learned.content_hash == sl.hash;
    }
    if (filtering && !slots[i].has_learned) decide_module(k);
  });
  readers.clear();  // end read transactions before writing
  res.stats.files_ms = ms_since(t);
  res.stats.stat_ms = tm.stat / 1e6;
  res.stats.lookup_ms = tm.lookup / 1e6;
  res.stats.read_ms = tm.read / 1e6;
  res.stats.hash_ms = tm.hash / 1e6;
  res.stats.parse_ms = tm.parse / 1e6;
  res.stats.parsed = tm.parsed;
  res.stats.from_index = tm.from_index;
  res.stats.rehashed = tm.rehashed;
  res.stats.bytes_parsed = tm.bytes;

  std::vector<std::pair<std::string, std::string>> writes;
  std::vector<std::string> evict;
  for (size_t i = 0; i < paths.size(); ++i)
    if (slots[i].write) writes.emplace_back(paths[i], encode_record(slots[i].rec));
  res.stats.written = writes.size();

  if (filtering) {
    auto t_deps = Clock::now();
    std::vector<size_t> learned;
    for (size_t i = first_test; i < paths.size(); ++i) {
      if (!slots[i].has_learned) continue;
      learned.push_back(i - first_test);
      learned_deps_ok[i - first_test] = deps.still_valid(slots[i].learned.deps);
    }
    const double deps_ms = ms_since(t_deps);
    parallel_for(learned.size(), threads, [&](unsigned, size_t j) { decide_module(learned[j]); });
    const std::vector<char> grouped = collect_together(paths, first_test, slots, res.files);
    if (index && (fresh || cache.by_path.size() != res.files.size())) {
      DecisionSet next;
      next.query = query;
      for (size_t k = 0; k < res.files.size(); ++k) {
        size_t i = first_test + k;
        if (!slots[i].hash_known) continue;  // unreadable: decide again next time
        if (grouped[k]) continue;  // depends on other modules' decisions: decide again next time
        next.by_path[paths[i]] = CachedDecision{slots[i].hash, test_fp[i], res.files[k].skip, res.files[k].reason};
      }
      writes.emplace_back(decision_key(query), encode_decisions(next));
    }
    if (index && (recent.empty() || recent.front() != query)) {
      recent.erase(std::remove(recent.begin(), recent.end(), query), recent.end());
      recent.insert(recent.begin(), query);
      while (recent.size() > kKeptQueries) {
        evict.push_back(decision_key(recent.back()));
        recent.pop_back();
      }
      writes.emplace_back(recent_queries_key(), encode_recent(recent));
    }
    // Summed thread time of every decision (cached ones are lookups, not timed), and
    // the dependency check of learned items.
    res.stats.decide_ms = decide_ns / 1e6 + deps_ms;
    res.stats.cached_decisions = cached_count;
    res.stats.learned = learned_count;
    for (size_t k = 0; k < res.files.size(); ++k) res.files[k].hash = slots[first_test + k].hash;
  }

  if (index) {
    t = Clock::now();
    for (auto& wr : deps.writes()) writes.push_back(std::move(wr));
    if (!index->put_many(writes, err, evict)) res.warnings.push_back(err);
    res.stats.write_ms = ms_since(t);
  }
  // Large fact trees are freed here, inside the timed scan.
  slots.clear();
  res.stats.total_ms = ms_since(t_total);
  return res;
}

}  // namespace fc
