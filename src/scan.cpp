#include "scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include <xxhash.h>

#include "extract.h"
#include "index.h"
#include "walk.h"

namespace fc {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

bool read_file(const std::string& path, std::string& out) {
  FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out.clear();
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (true) {
    if (got == out.size()) out.resize(out.size() + 65536);
    ssize_t n = ::read(f.fd, &out[got], out.size() - got);
    if (n < 0) return false;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return true;
}

bool stat_file(const std::string& path, FileStat& fs) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  fs.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  fs.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  fs.size = static_cast<uint64_t>(st.st_size);
  fs.ino = static_cast<uint64_t>(st.st_ino);
  fs.dev = static_cast<uint64_t>(st.st_dev);
  return true;
}

int64_t now_ns() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Slot {
  FileFacts facts;
  bool write = false;
  Record rec;
};

struct Timers {
  std::atomic<int64_t> stat{0}, lookup{0}, read{0}, hash{0}, parse{0};
  std::atomic<uint64_t> parsed{0}, from_index{0}, rehashed{0}, bytes{0};
};

int64_t ns_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
}

// Facts for one file: from the index when it proves the file unchanged,
// otherwise read, hashed and (if the content changed) parsed.
void process(const std::string& path, Extractor& ex, const Index::Reader* reader, int64_t scan_start_ns,
             const ScanConfig& cfg, Slot& slot, Timers& tm) {
  const uint64_t max_parse = cfg.max_parse_bytes;
  auto t = Clock::now();
  FileStat st;
  bool have_stat = stat_file(path, st);
  tm.stat += ns_since(t);
  if (!have_stat) {
    slot.facts.dynamic.push_back("cannot stat file");
    return;
  }
  Record old;
  bool have_old = false;
  if (reader) {
    t = Clock::now();
    have_old = reader->get(path, old);
    tm.lookup += ns_since(t);
    if (have_old && old.stat == st && !old.racy && decode_facts(old.facts.data(), old.facts.size(), slot.facts)) {
      ++tm.from_index;
      return;
    }
  }
  t = Clock::now();
  std::string src;
  bool have_src = read_file(path, src);
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
  if (have_old && old.hash == h && decode_facts(old.facts.data(), old.facts.size(), slot.facts)) {
    ++tm.rehashed;
    slot.rec.facts = std::move(old.facts);
    slot.write = reader != nullptr;
    return;
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

  std::vector<std::string> paths = w.tests;
  paths.insert(paths.end(), w.conftests.begin(), w.conftests.end());
  res.stats.files = w.tests.size();
  res.stats.conftests = w.conftests.size();

  std::unique_ptr<Index> index;
  if (!cfg.index_dir.empty()) {
    std::string warning;
    index = Index::open(cfg.index_dir, err, warning);
    if (!warning.empty()) res.warnings.push_back(warning);
    if (!index) res.warnings.push_back(err + "; running without an index");
  }

  t = Clock::now();
  std::vector<Slot> slots(paths.size());
  Timers tm;
  unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, 64);
  std::vector<std::unique_ptr<Extractor>> extractors;
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
  parallel_for(paths.size(), threads, [&](unsigned id, size_t i) {
    process(paths[i], *extractors[id], readers[id].get(), start_ns, cfg, slots[i], tm);
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

  if (index) {
    t = Clock::now();
    std::vector<std::pair<std::string, Record>> recs;
    for (size_t i = 0; i < paths.size(); ++i)
      if (slots[i].write) recs.emplace_back(paths[i], std::move(slots[i].rec));
    res.stats.written = recs.size();
    if (!index->put_many(recs, err)) res.warnings.push_back(err);
    res.stats.write_ms = ms_since(t);
  }

  if (!cfg.has_keyword && !cfg.has_markexpr) {
    res.stats.total_ms = ms_since(t_total);
    return res;  // index refresh only
  }

  // Fold conftests per directory, from rootdir down.
  t = Clock::now();
  ModelConfig mc;
  mc.rootdir = cfg.rootdir;
  mc.python_classes = cfg.python_classes;
  mc.python_functions = cfg.python_functions;
  mc.stdlib.insert(cfg.stdlib.begin(), cfg.stdlib.end());
  std::map<std::string, const FileFacts*> conftest_at;
  for (size_t i = w.tests.size(); i < paths.size(); ++i) conftest_at[parent_dir(paths[i])] = &slots[i].facts;
  std::map<std::string, Scope> scopes;
  Scope base;
  base.env.defs = cfg.plugin_fixtures;
  base.env.autouse.insert(cfg.global_autouse.begin(), cfg.global_autouse.end());
  std::function<const Scope&(const std::string&)> scope_of = [&](const std::string& dir) -> const Scope& {
    auto it = scopes.find(dir);
    if (it != scopes.end()) return it->second;
    Scope s = base;
    bool under = dir.size() > cfg.rootdir.size() && dir.compare(0, cfg.rootdir.size(), cfg.rootdir) == 0 &&
                 (cfg.rootdir == "/" || dir[cfg.rootdir.size()] == '/');
    if (under) s = scope_of(parent_dir(dir));
    auto c = conftest_at.find(dir);
    if (c != conftest_at.end()) apply_conftest(*c->second, dir + "/conftest.py", mc, s);
    return scopes.emplace(dir, std::move(s)).first->second;
  };
  for (size_t i = 0; i < w.tests.size(); ++i) scope_of(parent_dir(paths[i]));
  res.files.resize(w.tests.size());
  parallel_for(w.tests.size(), threads, [&](unsigned, size_t i) {
    const Scope& s = scopes.at(parent_dir(paths[i]));
    Decision d = decide(slots[i].facts, paths[i], s, mc, filter);
    res.files[i] = FileDecision{paths[i], d.skip, std::move(d.reason)};
  });
  res.stats.decide_ms = ms_since(t);
  res.stats.total_ms = ms_since(t_total);
  return res;
}

}  // namespace fc
