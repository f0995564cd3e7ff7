#include "scan.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "decide.h"
#include "extract.h"
#include "files.h"
#include "index.h"
#include "keys.h"
#include "learned.h"
#include "walk.h"

namespace fc {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

struct Timers {
  std::atomic<int64_t> stat{0}, lookup{0}, read{0}, hash{0}, parse{0};
  std::atomic<uint64_t> parsed{0}, from_index{0}, rehashed{0}, bytes{0};
};

// One file as loaded: its record (written when it changed), its content
// hash, and its facts - decoded only when a decision needs them.
struct Slot {
  FileFacts facts;
  bool facts_ready = false;  // `facts` holds the file's facts
  std::string_view stored;   // otherwise: its encoded facts in the index (live while the loader's reader is)
  bool write = false;
  Record rec;
  uint64_t hash = 0;  // content hash, when the file could be read
  bool hash_known = false;
  bool has_learned = false;  // a learned record of the generation in use was found
  LearnedFile learned;
};

// What one thread loads with: a parser, a reused buffer for file contents
// (neither allocated nor zeroed again per file), a read transaction.
struct Loader {
  std::unique_ptr<Extractor> extractor;
  std::string buf;
  std::unique_ptr<Index::Reader> reader;  // null: no index
};

struct LoadContext {
  const ScanConfig& cfg;
  int64_t start_ns;  // the scan's start, for the racy-timestamp rule
  Timers& tm;
};

void not_decidable(Slot& slot, const char* why) {
  slot.facts = FileFacts{};
  slot.facts.dynamic.push_back(why);
  slot.facts_ready = true;
  slot.stored = {};
}

// Reads and hashes a file; parses it unless `old` holds facts for this content.
void read_and_parse(const std::string& path, const FileStat& st, const RecordView* old, Loader& l,
                    const LoadContext& ctx, Slot& slot) {
  auto t = Clock::now();
  size_t size = 0;
  const bool have_src = read_file(path, l.buf, size);
  const std::string_view src(l.buf.data(), size);
  ctx.tm.read += ns_since(t);
  if (!have_src) return not_decidable(slot, "cannot read file");
  t = Clock::now();
  const uint64_t h = content_hash(src.data(), src.size());
  ctx.tm.hash += ns_since(t);
  slot.rec.stat = st;
  slot.rec.hash = h;
  slot.rec.racy = is_racy(st, ctx.start_ns, ctx.cfg.racy_window_ns);
  slot.hash = h;
  slot.hash_known = true;
  slot.write = l.reader != nullptr;
  if (old && old->hash == h) {  // touched, not changed
    ++ctx.tm.rehashed;
    slot.stored = old->facts;
    slot.rec.facts = std::string(old->facts);
    return;
  }
  t = Clock::now();
  if (src.size() > ctx.cfg.max_parse_bytes) {
    not_decidable(slot, "file larger than the parse limit");
  } else {
    slot.facts = l.extractor->extract(src);
    slot.facts_ready = true;
    ++ctx.tm.parsed;
    ctx.tm.bytes += src.size();
  }
  ctx.tm.parse += ns_since(t);
  slot.rec.facts = encode_facts(slot.facts);
}

// A file's record: from the index when its stat data proves it unchanged,
// otherwise read, hashed and (if the content changed) parsed. Stored facts
// are not decoded here (see need_facts).
void load(const std::string& path, Loader& l, const LoadContext& ctx, Slot& slot) {
  auto t = Clock::now();
  FileStat st;
  const bool have_stat = stat_file(path, st);
  ctx.tm.stat += ns_since(t);
  if (!have_stat) return not_decidable(slot, "cannot stat file");
  RecordView old;
  bool have_old = false;
  if (l.reader) {
    t = Clock::now();
    have_old = l.reader->get(path, old);
    ctx.tm.lookup += ns_since(t);
    if (have_old && old.stat == st && !old.racy) {
      slot.hash = old.hash;
      slot.hash_known = true;
      slot.stored = old.facts;
      ++ctx.tm.from_index;
      return;
    }
  }
  read_and_parse(path, st, have_old ? &old : nullptr, l, ctx, slot);
}

// Decodes a file's stored facts; a record that does not decode is parsed again.
void need_facts(const std::string& path, Loader& l, const LoadContext& ctx, Slot& slot) {
  if (slot.facts_ready) return;
  if (decode_facts(slot.stored.data(), slot.stored.size(), slot.facts)) {
    slot.facts_ready = true;
    return;
  }
  FileStat st;
  if (!stat_file(path, st)) return not_decidable(slot, "cannot stat file");
  slot.facts = FileFacts{};
  read_and_parse(path, st, nullptr, l, ctx, slot);
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

// Phase 1: the files; conftests first (their hashes fingerprint the scope of
// every test module below them).
struct Files {
  std::vector<std::string> conftests, tests;
};

Files walk_phase(const ScanConfig& cfg, ScanResult& res) {
  auto t = Clock::now();
  WalkResult w = walk(
      WalkConfig{cfg.roots, cfg.python_files, cfg.norecursedirs, cfg.confcutdir, cfg.noconftest, cfg.other_files});
  res.stats.walk_ms = ms_since(t);
  res.stats.files = w.tests.size();
  res.stats.conftests = w.conftests.size();
  res.conftests = w.conftests;
  res.others = std::move(w.others);
  return Files{std::move(w.conftests), std::move(w.tests)};
}

// The directory pytest's prepend import mode puts on sys.path for a module:
// the parent of its top-most package, or its own directory.
std::string basedir_of(const std::string& file, std::map<std::string, std::string>& memo) {
  std::string dir = parent_dir(file);
  auto it = memo.find(dir);
  if (it != memo.end()) return it->second;
  std::string base = dir;
  while (!base.empty() && base != "/" && access((base + "/__init__.py").c_str(), F_OK) == 0) base = parent_dir(base);
  memo.emplace(dir, base);
  return base;
}

// Standard-library names that a file or directory in one of the directories
// pytest puts ahead of the standard library would shadow (the rootdir, every
// collected module's basedir): `from colorsys import x` then imports the
// project's colorsys.py. Such names are no stdlib names for the model, unless
// the standard library's module is loaded already (cfg.stdlib_loaded).
// (sys.path's own entries ahead of it are left out of cfg.stdlib by the plugin.)
std::set<std::string> shadowed_stdlib(const ScanConfig& cfg, const Files& files) {
  std::set<std::string> dirs{cfg.rootdir};
  std::map<std::string, std::string> memo;
  for (const auto* list : {&files.tests, &files.conftests})
    for (const auto& f : *list) dirs.insert(basedir_of(f, memo));
  std::set<std::string> stdlib(cfg.stdlib.begin(), cfg.stdlib.end());
  for (const auto& n : cfg.stdlib_loaded) stdlib.erase(n);  // imports return the loaded module
  std::set<std::string> out;
  for (const auto& d : dirs) {
    DIR* handle = opendir(d.c_str());
    if (handle == nullptr) continue;
    while (const dirent* e = readdir(handle)) {
      std::string name = e->d_name;
      size_t dot = name.find('.');
      std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
      if (stdlib.count(stem)) out.insert(stem);  // X.py, X/, X.cpython-*.so: any may shadow X
    }
    closedir(handle);
  }
  return out;
}

std::unique_ptr<Index> open_index(const ScanConfig& cfg, ScanResult& res) {
  if (cfg.index_dir.empty()) return nullptr;
  std::string err, warning;
  std::unique_ptr<Index> index = Index::open(cfg.index_dir, err, warning, cfg.initial_map_bytes);
  if (!warning.empty()) res.warnings.push_back(warning);
  if (!index) res.warnings.push_back(err + "; running without an index");
  return index;
}

std::vector<Loader> make_loaders(const TSLanguage* lang, const Index* index, unsigned threads) {
  std::vector<Loader> loaders(threads);
  for (auto& l : loaders) {
    l.extractor = std::make_unique<Extractor>(lang);
    if (index) {
      l.reader = std::make_unique<Index::Reader>(*index);
      if (!l.reader->ok()) l.reader.reset();
    }
  }
  return loaders;
}

// Phase 2: the conftests' facts, for the Decider.
std::vector<Slot> load_conftests(const Files& files, std::vector<Loader>& loaders, const LoadContext& ctx,
                                 Decider& decider) {
  std::vector<Slot> slots(files.conftests.size());
  parallel_for(slots.size(), static_cast<unsigned>(loaders.size()), [&](unsigned id, size_t i) {
    load(files.conftests[i], loaders[id], ctx, slots[i]);
    need_facts(files.conftests[i], loaders[id], ctx, slots[i]);
  });
  std::vector<ConftestFile> conftests;
  for (size_t i = 0; i < slots.size(); ++i)
    conftests.push_back(ConftestFile{&files.conftests[i], slots[i].hash, slots[i].hash_known, &slots[i].facts});
  decider.set_conftests(std::move(conftests));
  return slots;
}

// Phase 3: the newest kept learned generation that holds for this session
// (learned items decide only under it); false when none does.
bool pick_generation(const ScanConfig& cfg, const Index::Reader* reader, uint64_t conftest_fp, DepHasher& deps,
                     Generation& gen, ScanResult& res) {
  if (!(cfg.has_keyword || cfg.has_markexpr) || !reader || cfg.session_key == 0) return false;
  std::vector<Generation> gens;
  if (!load_generations(*reader, gens) || gens.empty()) {
    res.learned_status = "nothing learned yet";
    return false;
  }
  const size_t at = newest_valid_generation(gens, cfg.session_key, conftest_fp, cfg.inputs, deps, &res.learned_status);
  if (at == gens.size()) return false;
  gen = std::move(gens[at]);
  for (const auto& input : gen.inputs) res.input_names.push_back(input.first);
  // Dependencies kept by their surface while their content changed: the plugin checks they compile.
  for (const auto& d : gen.deps) {
    uint64_t now = 0;
    if (deps.hash(d.path, now) && now != d.content_hash) res.surface_kept.emplace_back(d.path, now);
  }
  return true;
}

// A module's learned record under generation `gen`, its items judged
// against the filter as they are read (the first that may be selected ends
// the reading): none is copied out of the index.
bool find_judged(const Index::Reader& reader, const std::string& path, uint64_t gen, const Decider& decider,
                 Slot& sl) {
  bool may = false;
  const ItemVisitor visit = [&](const ItemView& item) { return !(may = decider.may_select(item)); };
  if (!find_learned(reader, path, gen, sl.learned, &visit) || sl.learned.content_hash != sl.hash) return false;
  sl.learned.verdict = may ? ItemVerdict::MayMatch : ItemVerdict::NoneMatch;
  return true;
}

// Phase 4: every test module loaded and, by the thread that loaded it, decided
// right away (its facts are then freed). Modules with a learned record wait for
// phase 5: checking their dependencies shares one memo of file hashes.
void load_and_decide(const std::vector<std::string>& tests, const Generation* gen, std::vector<Loader>& loaders,
                     const LoadContext& ctx, Decider& decider, std::vector<Slot>& slots) {
  parallel_for(tests.size(), static_cast<unsigned>(loaders.size()), [&](unsigned id, size_t k) {
    Slot& sl = slots[k];
    Loader& l = loaders[id];
    load(tests[k], l, ctx, sl);
    if (!decider.filtering()) return;
    if (decider.cached(k, sl.hash, sl.hash_known)) return decider.decide(k, ModuleCase{sl.hash, sl.hash_known});
    if (gen && sl.hash_known && l.reader) sl.has_learned = find_judged(*l.reader, tests[k], gen->id, decider, sl);
    // A learned module needs its facts too, should its dependencies have changed.
    if (sl.has_learned || decider.needs_facts(k, ModuleCase{sl.hash, sl.hash_known})) need_facts(tests[k], l, ctx, sl);
    if (sl.has_learned) return;
    decider.decide(k, ModuleCase{sl.hash, sl.hash_known, nullptr, &sl.facts});
    sl.facts = FileFacts{};  // freed once decided, rather than all at the end
  });
}

// Phase 5: modules with learned records, then modules collected together.
double decide_learned(std::vector<Slot>& slots, DepHasher& deps, unsigned threads, Decider& decider) {
  auto t = Clock::now();
  std::vector<size_t> learned;
  std::vector<char> deps_ok(slots.size(), 0);
  for (size_t k = 0; k < slots.size(); ++k) {
    if (!slots[k].has_learned) continue;
    learned.push_back(k);
    deps_ok[k] = deps.still_valid(slots[k].learned.deps);
  }
  const double deps_ms = ms_since(t);
  parallel_for(learned.size(), threads, [&](unsigned, size_t j) {
    Slot& sl = slots[learned[j]];
    decider.decide(learned[j], ModuleCase{sl.hash, sl.hash_known, deps_ok[learned[j]] ? &sl.learned : nullptr, &sl.facts});
    sl.facts = FileFacts{};
  });
  std::vector<const LearnedFile*> records(slots.size(), nullptr);
  for (size_t k : learned) records[k] = &slots[k].learned;
  decider.collect_together(records);
  decider.import_after_state_changers();
  return deps_ms;
}

// The directories an import mode may put on sys.path for the files pytest
// imports: for each test module and conftest, the first directory upwards
// without an __init__.py.
std::vector<std::string> basedirs(const Files& files) {
  std::map<std::string, std::string> of;  // directory -> its basedir
  std::set<std::string> out;
  auto basedir = [&](const std::string& dir) {
    auto it = of.find(dir);
    if (it != of.end()) return it->second;
    std::string d = dir;
    FileStat st;
    while (d.size() > 1 && stat_file(d + "/__init__.py", st)) d = parent_dir(d);
    return of[dir] = d;
  };
  for (const auto* list : {&files.tests, &files.conftests})
    for (const auto& p : *list) out.insert(basedir(parent_dir(p)));
  return {out.begin(), out.end()};
}

std::unique_ptr<Resolver> make_resolver(const ScanConfig& cfg, const Files& files, const Index* index,
                                        const TSLanguage* lang, int64_t now) {
  if (!cfg.resolve || !(cfg.has_keyword || cfg.has_markexpr)) return nullptr;
  ResolveEnv env;
  env.search = cfg.resolve_search;
  env.basedirs = basedirs(files);
  env.loaded = cfg.resolve_loaded;
  env.stdlib.insert(cfg.stdlib.begin(), cfg.stdlib.end());
  env.unknown = cfg.resolve_unknown;
  env.type_checking_set = cfg.type_checking_set;
  env.project_dirs = cfg.anchors;
  env.project_dirs.push_back(cfg.rootdir);
  env.live = cfg.resolve_live;
  env.live_id = cfg.resolve_live_id;
  return std::make_unique<Resolver>(std::move(env), index, lang, now, cfg.racy_window_ns);
}

// Phase 6: changed records, decisions and dependency hashes, in one transaction.
void write_phase(Index* index, const Files& files, const std::vector<Slot>& conftests,
                 const std::vector<Slot>& tests, const Decider& decider, DepHasher& deps, Resolver* resolver,
                 ScanResult& res) {
  std::vector<std::pair<std::string, std::string>> writes;
  std::vector<std::string> evict;
  for (size_t i = 0; i < conftests.size(); ++i)
    if (conftests[i].write) writes.emplace_back(files.conftests[i], encode_record(conftests[i].rec));
  for (size_t k = 0; k < tests.size(); ++k)
    if (tests[k].write) writes.emplace_back(files.tests[k], encode_record(tests[k].rec));
  if (resolver)
    for (auto& wr : resolver->take_writes()) writes.push_back(std::move(wr));
  res.stats.written = writes.size();
  decider.cache_writes(index != nullptr, writes, evict);
  if (!index) return;
  auto t = Clock::now();
  for (auto& wr : deps.writes()) writes.push_back(std::move(wr));
  std::string err;
  if (!index->put_many(writes, err, evict)) res.warnings.push_back(err);
  res.stats.write_ms = ms_since(t);
}

void copy_timers(const Timers& tm, ScanStats& s) {
  s.stat_ms = tm.stat / 1e6;
  s.lookup_ms = tm.lookup / 1e6;
  s.read_ms = tm.read / 1e6;
  s.hash_ms = tm.hash / 1e6;
  s.parse_ms = tm.parse / 1e6;
  s.parsed = tm.parsed;
  s.from_index = tm.from_index;
  s.rehashed = tm.rehashed;
  s.bytes_parsed = tm.bytes;
}

}  // namespace

ScanResult scan(const TSLanguage* lang, const ScanConfig& given) {
  ScanResult res;
  const auto t_total = Clock::now();
  if (!language_supported(lang)) {
    res.error = "tree-sitter grammar ABI not supported";
    return res;
  }
  const Files files = walk_phase(given, res);
  // The stdlib names the model may trust: less those the project shadows
  // (part of every decision's query through cfg.stdlib).
  ScanConfig cfg = given;
  const std::set<std::string> shadowed = shadowed_stdlib(given, files);
  cfg.stdlib.erase(std::remove_if(cfg.stdlib.begin(), cfg.stdlib.end(),
                                  [&](const std::string& n) { return shadowed.count(n) > 0; }),
                   cfg.stdlib.end());
  Decider decider(cfg);
  if (!decider.error().empty()) {
    res.error = decider.error();
    return res;
  }
  std::unique_ptr<Index> index = open_index(cfg, res);

  const auto t = Clock::now();
  unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, 64);
  std::vector<Loader> loaders = make_loaders(lang, index.get(), threads);
  Timers tm;
  const LoadContext ctx{cfg, now_ns(), tm};
  std::unique_ptr<Resolver> resolver = make_resolver(cfg, files, index.get(), lang, ctx.start_ns);
  if (resolver) res.basedirs = resolver->env().basedirs;
  if (resolver) decider.set_resolver(resolver.get(), env_fingerprint(resolver->env()));
  std::vector<Slot> conftests = load_conftests(files, loaders, ctx, decider);
  res.conftest_fp = decider.conftest_set_fp();
  res.conftest_effects = decider.conftest_effects();
  res.conftest_imports = decider.conftest_imports();

  Generation gen;
  DepHasher deps(index.get(), ctx.start_ns, cfg.racy_window_ns, lang);
  deps.set_module_has(cfg.module_has);
  const bool gen_valid = pick_generation(cfg, loaders[0].reader.get(), decider.conftest_set_fp(), deps, gen, res);
  decider.set_query(gen_valid ? &gen : nullptr, loaders[0].reader.get());
  decider.set_modules(&files.tests);

  std::vector<Slot> tests(files.tests.size());
  load_and_decide(files.tests, gen_valid ? &gen : nullptr, loaders, ctx, decider, tests);
  loaders.clear();  // end read transactions before writing
  res.stats.files_ms = ms_since(t);
  copy_timers(tm, res.stats);

  if (decider.filtering()) {
    const double deps_ms = decide_learned(tests, deps, threads, decider);
    // Summed thread time of every decision (cached ones are lookups, not
    // timed), and the dependency check of learned items.
    res.stats.decide_ms = decider.decide_ms() + deps_ms;
    res.stats.cached_decisions = decider.cached_count();
    res.stats.learned = decider.learned_count();
  }
  write_phase(index.get(), files, conftests, tests, decider, deps, resolver.get(), res);
  res.files = decider.take_decisions();
  // Large fact trees are freed here, inside the timed scan.
  conftests.clear();
  tests.clear();
  res.stats.total_ms = ms_since(t_total);
  return res;
}

}  // namespace fc
