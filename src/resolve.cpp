#include "resolve.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "decisions.h"
#include "extract.h"
#include "files.h"

namespace fc {
namespace {

constexpr int kMaxDepth = 24;                              // import chains followed
constexpr uint64_t kMaxResolveBytes = uint64_t{8} << 20;  // larger module files are not parsed

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string::npos) dot = s.size();
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// Classes of the standard library that are (or may be) unittest.TestCase subclasses.
bool testcase_module(const std::string& top) { return top == "unittest" || top == "doctest" || top == "test"; }

// Builtin classes a class may derive from without being a TestCase.
bool builtin_base(const std::string& name) {
  static const std::set<std::string> s = {
      "object", "int", "float", "complex", "str", "bytes", "bytearray", "list", "tuple", "dict", "set",
      "frozenset", "type", "property", "BaseException", "Exception", "ValueError", "TypeError", "KeyError",
      "IndexError", "AttributeError", "RuntimeError", "LookupError", "ArithmeticError", "OSError", "IOError",
      "NotImplementedError", "ImportError", "Warning", "UserWarning", "DeprecationWarning", "FutureWarning",
      "RuntimeWarning", "PendingDeprecationWarning", "AssertionError", "StopIteration", "ZeroDivisionError",
      "OverflowError", "UnicodeError", "EnvironmentError", "PermissionError", "FileNotFoundError",
      "TimeoutError", "ConnectionError", "SystemExit", "KeyboardInterrupt", "memoryview", "range", "slice"};
  return s.count(name) > 0;
}

ImportedName unknown(std::string why) {
  ImportedName r;
  r.kind = ImportedName::Unknown;
  r.why = std::move(why);
  return r;
}

ImportedName not_fixture(bool plain) {
  ImportedName r;
  r.kind = ImportedName::NotFixture;
  r.plain = plain;
  return r;
}

// The value of a name bound several times is one of them: not a fixture when
// none is; a fixture only when it is the single binding.
ImportedName join(const std::vector<ImportedName>& all, const std::string& name) {
  for (const auto& r : all)
    if (r.kind == ImportedName::Unknown) return r;
  if (all.size() == 1) return all[0];
  bool plain = true;
  for (const auto& r : all) {
    if (r.kind == ImportedName::Fixture) return unknown("'" + name + "' is bound more than once, once to a fixture");
    plain = plain && r.plain;
  }
  return not_fixture(plain);
}

}  // namespace

void add_probes(Probes& into, const Probes& from) {
  if (from.empty()) return;
  if (into.empty()) {
    into = from;
    return;
  }
  // Both sorted and unique: a merge, not a sort (read sets hold thousands
  // of probes with long common path prefixes).
  const auto mid = static_cast<std::ptrdiff_t>(into.size());
  into.insert(into.end(), from.begin(), from.end());
  std::inplace_merge(into.begin(), into.begin() + mid, into.end());
  into.erase(std::unique(into.begin(), into.end()), into.end());
}

namespace {

// A walk's own accumulator takes probes unsorted; this restores the
// sorted-unique form of `read`, whose first `sorted` entries already have it.
void settle(Probes& read, size_t sorted) {
  const auto mid = read.begin() + static_cast<std::ptrdiff_t>(sorted);
  std::sort(mid, read.end());
  read.erase(std::unique(mid, read.end()), read.end());
  std::inplace_merge(read.begin(), read.begin() + static_cast<std::ptrdiff_t>(sorted), read.end());
  read.erase(std::unique(read.begin(), read.end()), read.end());
}

void append(Probes& into, const Probes& from) { into.insert(into.end(), from.begin(), from.end()); }

}  // namespace

// ---- ProbeReader -------------------------------------------------------------

const std::vector<std::pair<std::string, bool>>& ProbeReader::listing(const std::string& dir) {
  // Called with mu_ held.
  auto it = dirs_.find(dir);
  if (it != dirs_.end()) return it->second;
  std::vector<std::pair<std::string, bool>> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
        struct stat st;
        is_dir = ::stat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      }
      out.emplace_back(std::move(n), is_dir);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
  } else {
    out.emplace_back("\x01<no directory>", false);
  }
  return dirs_.emplace(dir, std::move(out)).first->second;
}

uint64_t ProbeReader::entries(const std::string& dir, const std::string& name,
                              std::vector<std::pair<std::string, bool>>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& all = listing(dir);
  Fingerprint fp;
  fp.add(std::string_view("entries"));
  for (const auto& [n, is_dir] : all) {
    if (n[0] == '\x01') {  // no such directory
      fp.add(n);
      continue;
    }
    const bool match =
        n == name || (n.size() > name.size() && n.compare(0, name.size(), name) == 0 && n[name.size()] == '.');
    if (!match) continue;
    fp.add(n).add(uint64_t{is_dir});
    if (out) out->emplace_back(n, is_dir);
  }
  return fp.value();
}

uint64_t ProbeReader::file(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it != files_.end()) return it->second;
  }
  uint64_t h = 0;
  FileStat st;
  bool known = false;
  if (stat_file(path, st) && index_) {
    Index::Reader reader(*index_);
    RecordView rv;
    if (reader.ok() && reader.get(path, rv) && rv.stat == st && !rv.racy) {
      h = rv.hash;
      known = true;
    }
  }
  if (!known && !hash_file(path, h)) h = 0;
  std::lock_guard<std::mutex> lock(mu_);
  return files_.emplace(path, h).first->second;
}

void ProbeReader::remember_file(const std::string& path, uint64_t hash) {
  std::lock_guard<std::mutex> lock(mu_);
  files_.emplace(path, hash);
}

uint64_t env_fingerprint(const ResolveEnv& env) {
  Fingerprint fp;
  fp.add(std::string_view("resolve-env-1")).add(env.unknown);
  fp.add(static_cast<uint64_t>(env.search.size()));
  for (const auto& [p, d] : env.search) fp.add(p).add(uint64_t{d});
  fp.add(static_cast<uint64_t>(env.basedirs.size()));
  for (const auto& b : env.basedirs) fp.add(b);
  fp.add(static_cast<uint64_t>(env.loaded.size()));
  for (const auto& [name, m] : env.loaded) {
    fp.add(name).add(m.file).add(uint64_t{m.package}).add(static_cast<uint64_t>(m.path.size()));
    for (const auto& p : m.path) fp.add(p);
  }
  return fp.value();
}

// ---- Resolver ------------------------------------------------------------------

struct Resolver::File {
  FileFacts facts;
  uint64_t hash = 0;
  bool ok = false;
  std::string why;
};

struct Resolver::Module {
  enum Kind : uint8_t { Unknown, Missing, Stdlib, Source, Package, Namespace };
  Kind kind = Unknown;
  std::string why;                     // Unknown / Missing
  std::string file;                    // Source / Package
  std::vector<std::string> locations;  // Package / Namespace: where its submodules are
  std::string dotted;                  // its name when known (sys.modules lookups), stdlib: top-level name
  bool compiled = false;               // Unknown: an extension module (still a module object)
  bool found() const { return kind != Unknown && kind != Missing; }
};

struct Resolver::Memo {
  ImportedName result;
  Probes read;
};

struct Resolver::Found {
  Module module;
  Probes read;
};

Resolver::Resolver(ResolveEnv env, const Index* index, const TSLanguage* lang, int64_t now_ns, int64_t racy_ns)
    : env_(std::move(env)), index_(index), lang_(lang), now_ns_(now_ns), racy_ns_(racy_ns),
      probes_(index, now_ns, racy_ns) {}

Resolver::~Resolver() = default;

std::vector<std::pair<std::string, std::string>> Resolver::take_writes() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(writes_);
}

// A module file's facts: from the index when its stat data (or its content
// hash) proves the record current, otherwise parsed (and its record written).
std::shared_ptr<const Resolver::File> Resolver::load(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it != files_.end()) return it->second;
  }
  auto f = std::make_shared<File>();
  FileStat st;
  RecordView old;
  bool have_old = false;
  std::unique_ptr<Index::Reader> reader;
  if (!stat_file(path, st)) {
    f->why = "cannot read " + path;
  } else {
    if (index_) {
      reader = std::make_unique<Index::Reader>(*index_);
      have_old = reader->ok() && reader->get(path, old);
    }
    if (have_old && old.stat == st && !old.racy && decode_facts(old.facts.data(), old.facts.size(), f->facts)) {
      f->hash = old.hash;
      f->ok = true;
    } else {
      std::string buf;
      size_t size = 0;
      if (st.size > kMaxResolveBytes || !read_file(path, buf, size)) {
        f->why = st.size > kMaxResolveBytes ? path + " is too large to read" : "cannot read " + path;
      } else {
        f->hash = content_hash(buf.data(), size);
        if (have_old && old.hash == f->hash && decode_facts(old.facts.data(), old.facts.size(), f->facts)) {
          f->ok = true;
        } else {
          std::unique_ptr<Extractor> ex;
          {
            std::lock_guard<std::mutex> lock(mu_);
            if (!extractors_.empty()) {
              ex = std::move(extractors_.back());
              extractors_.pop_back();
            }
          }
          if (!ex) ex = std::make_unique<Extractor>(lang_);
          f->facts = ex->extract(std::string_view(buf.data(), size));
          f->ok = true;
          std::lock_guard<std::mutex> lock(mu_);
          extractors_.push_back(std::move(ex));
        }
        if (index_) {
          Record r;
          r.stat = st;
          r.hash = f->hash;
          r.racy = is_racy(st, now_ns_, racy_ns_);
          r.facts = encode_facts(f->facts);
          std::lock_guard<std::mutex> lock(mu_);
          writes_.emplace_back(path, encode_record(r));
        }
      }
    }
  }
  reader.reset();
  probes_.remember_file(path, f->ok ? f->hash : 0);
  std::lock_guard<std::mutex> lock(mu_);
  return files_.emplace(path, std::move(f)).first->second;
}

// One resolution: what it read, where it has been.
struct Resolver::Walk {
  Resolver& r;
  Probes& read;
  std::vector<std::string> visiting;  // "file:name" being resolved (cycles)
  bool hit_cycle = false;
  int depth = 0;

  void probe_file(const std::string& path, uint64_t value) { read.push_back(Probe{false, path, "", value}); }

  // Directory entries `name` and `name.*` of `dir`.
  std::vector<std::pair<std::string, bool>> entries(const std::string& dir, const std::string& name) {
    std::vector<std::pair<std::string, bool>> out;
    read.push_back(Probe{true, dir, name, r.probes_.entries(dir, name, &out)});
    return out;
  }

  // Python's FileFinder for `name` in one directory: a package (its
  // __init__), then a module by suffix (extensions first), then a namespace
  // portion (kind Namespace, locations = {dir/name}); Missing when none.
  Module look(const std::string& dir, const std::string& name) {
    Module m;
    m.kind = Module::Missing;
    bool is_dir = false, ext = false, py = false, pyc = false;
    for (const auto& [n, d] : entries(dir, name)) {
      if (n == name) is_dir = d;
      else if (!d && (ends_with(n, ".so") || ends_with(n, ".pyd"))) ext = true;
      else if (!d && n == name + ".py") py = true;
      else if (!d && n == name + ".pyc") pyc = true;
    }
    const std::string sub = dir + "/" + name;
    if (is_dir) {
      bool init_py = false, init_other = false;
      for (const auto& [n, d] : entries(sub, "__init__")) {
        if (d) continue;
        if (n == "__init__.py") init_py = true;
        else if (ends_with(n, ".so") || ends_with(n, ".pyd") || n == "__init__.pyc") init_other = true;
      }
      if (init_other) {
        m.kind = Module::Unknown;
        m.why = sub + " is a compiled package";
        m.compiled = true;
        return m;
      }
      if (init_py) {
        m.kind = Module::Package;
        m.file = sub + "/__init__.py";
        m.locations = {sub};
        return m;
      }
    }
    if (ext || (pyc && !py)) {
      m.kind = Module::Unknown;
      m.why = sub + " is a compiled module";
      m.compiled = true;
      return m;
    }
    if (py) {
      m.kind = Module::Source;
      m.file = sub + ".py";
      return m;
    }
    if (is_dir) {
      m.kind = Module::Namespace;
      m.locations = {sub};
    }
    return m;
  }

  Module from_loaded(const std::string& dotted, const LoadedModule& lm) {
    Module m;
    m.dotted = dotted;
    if (lm.package && lm.file.empty()) {
      m.kind = Module::Namespace;
      m.locations = lm.path;
    } else if (lm.package && ends_with(lm.file, "/__init__.py")) {
      m.kind = Module::Package;
      m.file = lm.file;
      m.locations = lm.path;
    } else if (!lm.package && ends_with(lm.file, ".py")) {
      m.kind = Module::Source;
      m.file = lm.file;
    } else {
      m.kind = Module::Unknown;
      m.why = "'" + dotted + "' is compiled or built in";
      m.compiled = true;
    }
    return m;
  }

  // A top-level module: the first hit on sys.path, which every basedir an
  // import mode may put in front must agree with.
  Module top(const std::string& name) {
    Module m;
    m.dotted = name;
    if (!r.env_.unknown.empty()) {
      m.why = r.env_.unknown;
      return m;
    }
    if (r.env_.stdlib.count(name) || name == "pytest") {
      m.kind = Module::Stdlib;
      return m;
    }
    auto lm = r.env_.loaded.find(name);
    if (lm != r.env_.loaded.end()) return from_loaded(name, lm->second);
    std::vector<Module> hits;
    std::vector<std::string> portions;
    for (const auto& [entry, is_dir] : r.env_.search) {
      if (!is_dir) {  // a zip archive: it may hold the module
        m.why = "sys.path entry " + entry + " is not a directory";
        return m;
      }
      Module h = look(entry, name);
      if (h.kind == Module::Namespace) portions.push_back(h.locations[0]);
      if (h.kind == Module::Namespace || h.kind == Module::Missing) continue;
      hits.push_back(std::move(h));
      break;
    }
    const size_t on_path = portions.size();
    for (const auto& b : r.env_.basedirs) {
      Module h = look(b, name);
      if (h.kind == Module::Namespace) {
        // Where a basedir's portion goes in __path__ depends on when the
        // import mode put the basedir on sys.path.
        const std::string loc = h.locations[0];
        if (std::find(portions.begin(), portions.end(), loc) == portions.end()) {
          if (on_path > 0 || portions.size() > on_path) {
            m.why = "namespace package '" + name + "' has portions on sys.path and in basedirs";
            return m;
          }
          portions.push_back(loc);
        }
      }
      if (h.kind == Module::Namespace || h.kind == Module::Missing) continue;
      hits.push_back(std::move(h));
    }
    if (hits.empty()) {
      if (portions.empty()) {
        m.kind = Module::Missing;
        m.why = "module '" + name + "' not found on sys.path";
        return m;
      }
      m.kind = Module::Namespace;
      m.locations = portions;
      return m;
    }
    for (const auto& h : hits)
      if (h.kind == Module::Unknown) return h;
    const std::string first = real_path(hits[0].file);
    for (size_t i = 1; i < hits.size(); ++i)
      if (real_path(hits[i].file) != first) {
        m.why = "'" + name + "' is found in several places (" + hits[0].file + ", " + hits[i].file + ")";
        return m;
      }
    hits[0].dotted = name;
    return hits[0];
  }

  const File* facts_of(const Module& m, std::shared_ptr<const File>& keep) {
    keep = r.load(m.file);
    probe_file(m.file, keep->ok ? keep->hash : 0);
    return keep.get();
  }

  // Submodule `name` of a package (or namespace package).
  Module sub(const Module& parent, const std::string& name) {
    Module m;
    if (parent.kind == Module::Unknown || parent.kind == Module::Missing) return parent;
    if (parent.kind == Module::Stdlib) return parent;
    if (parent.kind == Module::Source) {
      m.kind = Module::Missing;
      m.why = parent.file + " is not a package";
      return m;
    }
    const std::string dotted = parent.dotted.empty() ? "" : parent.dotted + "." + name;
    if (!dotted.empty()) {
      auto lm = r.env_.loaded.find(dotted);
      if (lm != r.env_.loaded.end()) return from_loaded(dotted, lm->second);
    }
    if (parent.kind == Module::Package) {
      std::shared_ptr<const File> keep;
      const File* f = facts_of(parent, keep);
      if (!f->ok) {
        m.why = f->why;
        return m;
      }
      for (const auto& b : f->facts.bound)
        if (b.name == "__path__") {
          m.why = parent.file + " sets __path__";
          return m;
        }
    }
    std::vector<std::string> portions;
    for (const auto& loc : parent.locations) {
      Module h = look(loc, name);
      if (h.kind == Module::Namespace) portions.push_back(h.locations[0]);
      if (h.kind == Module::Namespace || h.kind == Module::Missing) continue;
      h.dotted = dotted;
      return h;
    }
    if (!portions.empty()) {
      m.kind = Module::Namespace;
      m.locations = portions;
      m.dotted = dotted;
      return m;
    }
    m.kind = Module::Missing;
    m.why = "module '" + (dotted.empty() ? name : dotted) + "' not found";
    return m;
  }

  // An absolute module (memoized with what locating it read).
  Module find(const std::string& dotted) {
    auto lm = r.env_.loaded.find(dotted);
    if (lm != r.env_.loaded.end()) return from_loaded(dotted, lm->second);
    {
      std::lock_guard<std::mutex> lock(r.mu_);
      auto it = r.found_.find(dotted);
      if (it != r.found_.end()) {
        append(read, it->second->read);
        return it->second->module;
      }
    }
    Probes mine;
    Walk inner{r, mine, visiting, false, depth};
    auto parts = split_dots(dotted);
    Module m = inner.top(parts[0]);
    for (size_t i = 1; i < parts.size() && m.found(); ++i) m = inner.sub(m, parts[i]);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    auto f = std::make_shared<Found>();
    f->module = m;
    f->read = mine;
    {
      std::lock_guard<std::mutex> lock(r.mu_);
      r.found_.emplace(dotted, std::move(f));
    }
    append(read, mine);
    return m;
  }

  // The module an import statement in `importer` names.
  Module module_of(const std::string& importer, const Import& imp) {
    if (imp.level == 0) return find(imp.path);
    Module m;
    std::string base = parent_dir(importer);
    for (uint32_t i = 0; i < imp.level; ++i) {
      bool init_py = false;
      for (const auto& e : entries(base, "__init__"))
        if (e.first == "__init__.py" && !e.second) init_py = true;
      if (!init_py) {
        m.why = "relative import beyond a package (" + base + ")";
        return m;
      }
      if (i + 1 < imp.level) base = parent_dir(base);
    }
    m.kind = Module::Package;
    m.file = base + "/__init__.py";
    m.locations = {base};
    if (!imp.path.empty())
      for (const auto& part : split_dots(imp.path)) {
        m = sub(m, part);
        if (!m.found()) break;
      }
    return m;
  }

  // A decorator of the standard library known to return a function or class
  // (never a fixture, never a TestCase), bare or called with literal
  // arguments only: `functools.partial(pytest.fixture, ...)` or
  // `lru_cache(pytest.fixture)` are stdlib calls that do make a fixture.
  bool stdlib_decorator(const Decorator& d, const FileFacts& f) const {
    static const std::set<std::string> known = {
        "functools.lru_cache",      "functools.cache",         "functools.cached_property",
        "functools.total_ordering", "functools.singledispatch", "contextlib.contextmanager",
        "contextlib.asynccontextmanager", "abc.abstractmethod", "typing.overload",
        "typing.final",             "typing.no_type_check",    "dataclasses.dataclass",
        "enum.unique"};
    if (d.root.empty() || binds_plainly_once(f, d.root) == false) return false;
    std::string text;
    for (char ch : d.name)
      if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\\') text += ch;
    if (text.compare(0, d.root.size(), d.root) != 0) return false;
    const size_t paren = text.find('(');
    std::string rest = text.substr(d.root.size(), paren == std::string::npos ? std::string::npos : paren - d.root.size());
    if (paren != std::string::npos) {
      if (text.back() != ')') return false;
      std::string args = text.substr(paren + 1, text.size() - paren - 2);
      size_t start = 0;
      while (!args.empty() && start <= args.size()) {
        size_t comma = args.find(',', start);
        std::string part = args.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? args.size() + 1 : comma + 1;
        if (part.empty() && comma == std::string::npos) break;  // trailing comma
        auto eq = part.find('=');
        std::string value = eq == std::string::npos ? part : part.substr(eq + 1);
        if (eq != std::string::npos &&
            part.substr(0, eq).find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
          return false;
        if (value != "None" && value != "True" && value != "False" &&
            (value.empty() || value.find_first_not_of("0123456789") != std::string::npos))
          return false;
      }
    }
    for (const auto& imp : f.imports) {
      if (imp.bound != d.root || imp.star) continue;
      if (imp.level != 0 || !r.env_.stdlib.count(imp.module)) return false;
      const std::string qual = imp.from ? imp.path + "." + imp.name + rest : imp.path + rest;
      return known.count(qual) > 0;
    }
    return false;
  }

  // `name` is bound in f by exactly one import and nothing else (no star import
  // that could rebind it either).
  static bool binds_plainly_once(const FileFacts& f, const std::string& name) {
    int n = 0;
    for (const auto& imp : f.imports) {
      if (imp.star) return false;
      if (imp.bound == name) ++n;
    }
    for (const auto& fn : f.funcs)
      if (fn.name == name) return false;
    for (const auto& c : f.classes)
      if (c.name == name) return false;
    for (const auto& b : f.bound)
      if (!b.call && b.name == name) return false;
    return n == 1;
  }

  // A builtin (staticmethod, Exception, ...) is the builtin only where the
  // module neither binds its name nor star-imports.
  static bool builtin_untouched(const FileFacts& f, const std::string& name) {
    for (const auto& imp : f.imports)
      if (imp.star) return false;
    return !binds(f, name);
  }

  // `type`, or abc.ABCMeta: builds the class as written.
  static bool plain_metaclass(const FileFacts& f, const std::string& meta) {
    if (meta == "type") return builtin_untouched(f, "type");
    const auto dot = meta.find('.');
    const std::string root = meta.substr(0, dot);
    if (!binds_plainly_once(f, root)) return false;
    for (const auto& imp : f.imports)
      if (imp.bound == root && imp.level == 0)
        return imp.from ? imp.path == "abc" && imp.name == "ABCMeta" && dot == std::string::npos
                        : imp.path == "abc" && meta == root + ".ABCMeta";
    return false;
  }

  // A call statement at module level that cannot rebind the module's names:
  // into pytest or the standard library (setattr and friends are "dynamic").
  bool harmless_call(const FileFacts& f, const std::string& root) const {
    if (root == "print") return builtin_untouched(f, root);
    for (const auto& imp : f.imports)
      if (!imp.star && imp.bound == root)
        return imp.level == 0 && (imp.module == "pytest" || r.env_.stdlib.count(imp.module) > 0);
    return false;
  }

  // The running value of `name` in the module at `file`, when it is surely no
  // fixture and no TestCase: records the files it depends on; false without an answer.
  bool live(const std::string& file, const std::string& name) {
    if (!r.env_.live) return false;
    const std::string key = file + ":" + name;
    std::vector<std::string> deps;
    bool answered;
    {
      std::lock_guard<std::mutex> lock(r.mu_);
      auto it = r.live_.find(key);
      answered = it != r.live_.end();
      if (answered && !it->second) return false;
      if (answered) deps = *it->second;
    }
    if (!answered) {
      const bool yes = r.env_.live(file, name, deps);
      std::lock_guard<std::mutex> lock(r.mu_);
      r.live_.emplace(key, yes ? std::make_unique<std::vector<std::string>>(deps) : nullptr);
      if (!yes) return false;
    }
    for (const auto& dep : deps) probe_file(dep, r.probes_.file(dep));
    return true;
  }

  // A decorator's own definition is part of what a live answer depends on:
  // resolving its name records what that read (the result does not matter).
  void probe_decorator(const Module& m, const Decorator& d) {
    if (d.root.empty()) return;
    (void)name_in(m, d.root);
  }

  ImportedName classify_func(const Func& fn, const Module& m, const FileFacts& f) {
    const std::string& where = m.file;
    if (fn.decorators.empty()) {
      ImportedName out = not_fixture(true);
      if (!fn.conditional && !f.sets_dunder_name) {
        out.dunder_known = true;
        out.dunder = fn.name;
      }
      return out;
    }
    const Decorator& top_deco = fn.decorators.front();
    if (top_deco.kind == DecoKind::Fixture) {
      ImportedName out;
      out.kind = ImportedName::Fixture;
      out.info.has_params = top_deco.has_params;
      if (top_deco.has_params) {
        if (!top_deco.params.marks_known) out.info.param_marks_unknown = true;
        for (const auto& mk : top_deco.params.marks)
          if (!mk.empty()) out.info.param_marks_unknown = true;
      }
      out.info.deps = fn.params;
      out.autouse = top_deco.autouse;
      out.autouse_known = top_deco.autouse_known;
      out.name = top_deco.fixture_name;
      out.name_known = top_deco.fixture_name_known;
      return out;
    }
    for (const auto& d : fn.decorators) {
      if (d.kind == DecoKind::Fixture) return unknown("'" + fn.name + "' in " + where + " wraps a fixture");
      if (d.kind == DecoKind::Builtin && !builtin_untouched(f, d.root))
        return unknown("'" + fn.name + "' in " + where + ": @" + d.name + " may not be the builtin");
      if (d.kind == DecoKind::Unknown && !stdlib_decorator(d, f)) {
        if (live(m.file, fn.name)) {
          for (const auto& dd : fn.decorators)
            if (dd.kind == DecoKind::Unknown) probe_decorator(m, dd);
          return not_fixture(true);
        }
        return unknown("'" + fn.name + "' in " + where + " has decorator @" + d.name);
      }
    }
    return not_fixture(true);
  }

  ImportedName classify_class(const Class& c, const Module& m, const FileFacts& f) {
    ImportedName stat = classify_class_statically(c, m, f);
    if (stat.kind == ImportedName::NotFixture && !c.conditional && !f.sets_dunder_name) {
      stat.dunder_known = true;  // type.__name__: the name in the class statement
      stat.dunder = c.name;
    }
    if (stat.kind == ImportedName::Unknown && live(m.file, c.name)) {
      for (const auto& d : c.decorators)
        if (d.kind == DecoKind::Unknown) probe_decorator(m, d);
      return not_fixture(true);
    }
    return stat;
  }

  ImportedName classify_class_statically(const Class& c, const Module& m, const FileFacts& f) {
    for (const auto& d : c.decorators)
      if (d.kind == DecoKind::Builtin || !stdlib_decorator(d, f))
        return unknown("class '" + c.name + "' in " + m.file + " is decorated");
    // What runs while the class is built and may set attributes on it
    // (`__test__`, a base): its body's calls and computed values (a
    // descriptor's __set_name__), an __init_subclass__ it defines for
    // subclasses, a metaclass.
    if (!c.dynamic.empty()) return unknown("class '" + c.name + "' in " + m.file + ": " + c.dynamic[0]);
    for (const auto& b : c.bound)
      if (b.call || !b.literal)
        return unknown("class '" + c.name + "' in " + m.file + " runs code in its body (" + b.name + ")");
    for (const auto& fn : c.funcs) {
      if (fn.name == "__init_subclass__" || fn.name == "__class_getitem__" || fn.name == "__getattr__")
        return unknown("class '" + c.name + "' in " + m.file + " defines " + fn.name);
      for (const auto& d : fn.decorators)
        if (d.kind == DecoKind::Builtin ? !builtin_untouched(f, d.root) : !stdlib_decorator(d, f))
          return unknown("class '" + c.name + "' in " + m.file + ": a method has decorator @" + d.name);
    }
    if (!c.imports.empty() || !c.classes.empty())
      return unknown("class '" + c.name + "' in " + m.file + " imports or nests in its body");
    for (std::string b : c.bases) {
      auto eq = b.find('=');
      if (eq != std::string::npos) {
        std::string key = b.substr(0, eq);
        key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
        if (key != "metaclass")  // class keywords go to a base's __init_subclass__
          continue;
        std::string meta = b.substr(eq + 1);
        meta.erase(std::remove_if(meta.begin(), meta.end(), [](char ch) { return ch == ' ' || ch == '\n'; }),
                   meta.end());
        if (!plain_metaclass(f, meta)) return unknown("class '" + c.name + "' in " + m.file + " has metaclass " + meta);
        continue;
      }
      b.erase(std::remove_if(b.begin(), b.end(), [](char ch) { return ch == ' ' || ch == '\n' || ch == '\t'; }),
              b.end());
      auto br = b.find('[');
      if (br != std::string::npos) b = b.substr(0, br);
      if (b.empty() || b.find_first_of("()*") != std::string::npos)
        return unknown("class '" + c.name + "' in " + m.file + " has a computed base");
      ImportedName base = base_class(b, m, f);
      if (base.kind != ImportedName::NotFixture || !base.plain)
        return unknown("class '" + c.name + "' in " + m.file + " may derive from unittest.TestCase" +
                       (base.why.empty() ? "" : " (" + base.why + ")"));
    }
    return not_fixture(true);
  }

  ImportedName base_class(const std::string& b, const Module& m, const FileFacts& f) {
    auto dot = b.find('.');
    const std::string root = b.substr(0, dot);
    if (dot == std::string::npos) {
      if (builtin_base(root) && builtin_untouched(f, root)) return not_fixture(true);
      if (builtin_base(root) && !binds(f, root)) {  // only a star import may bind it
        bool absent = false;
        ImportedName v = name_in(m, root, &absent);
        if (absent) return not_fixture(true);
        return v;
      }
      return name_in(m, root);
    }
    // a.b.C where `a` is bound by `import a...`: C in module a.b.
    for (const auto& imp : f.imports) {
      if (imp.bound != root) continue;
      if (imp.from || imp.star) return unknown("base " + b);
      if (r.env_.stdlib.count(imp.module)) return not_fixture(!testcase_module(imp.module));
      if (imp.module == "pytest") return not_fixture(true);
      Module owner = find(b.substr(0, b.rfind('.')));
      return name_in(owner, b.substr(b.rfind('.') + 1));
    }
    return unknown("base " + b);
  }

  static bool binds(const FileFacts& f, const std::string& name) {
    for (const auto& fn : f.funcs)
      if (fn.name == name) return true;
    for (const auto& c : f.classes)
      if (c.name == name) return true;
    for (const auto& b : f.bound)
      if (!b.call && b.name == name) return true;
    for (const auto& imp : f.imports)
      if (!imp.star && imp.bound == name) return true;
    return false;
  }

  // The value of `name` in module m; `absent` (when given) is set instead of
  // an Unknown result when m surely does not bind it.
  ImportedName name_in(const Module& m, const std::string& name, bool* absent = nullptr) {
    switch (m.kind) {
      case Module::Unknown:
      case Module::Missing:
        return unknown(m.why);
      case Module::Stdlib:
        return not_fixture(!testcase_module(m.dotted));
      case Module::Namespace: {
        Module s = sub(m, name);
        if (s.found()) return not_fixture(true);
        if (s.compiled) return not_fixture(true);  // a compiled submodule is still a module
        if (absent && s.kind == Module::Missing) {
          *absent = true;
          return {};
        }
        return unknown(s.why);
      }
      case Module::Source:
      case Module::Package:
        break;
    }
    const std::string key = m.file + ":" + name + (absent ? ":opt" : "");
    {
      std::lock_guard<std::mutex> lock(r.mu_);
      auto it = r.memo_.find(key);
      if (it != r.memo_.end()) {
        append(read, it->second->read);
        const ImportedName& res = it->second->result;
        if (res.kind == ImportedName::Unknown && res.why.empty()) {  // absent
          if (absent) {
            *absent = true;
            return {};
          }
          return unknown("'" + name + "' is not bound in " + m.file);
        }
        return res;
      }
    }
    const std::string plain_key = m.file + ":" + name;
    if (std::find(visiting.begin(), visiting.end(), plain_key) != visiting.end() ||
        std::find(visiting.begin(), visiting.end(), plain_key + ":opt") != visiting.end()) {
      hit_cycle = true;  // depends on the path taken: not memoized
      // A star import back into a module being read adds no binding the
      // outer lookup does not already collect.
      if (absent) {
        *absent = true;
        return {};
      }
      return unknown("circular import of '" + name + "' (" + m.file + ")");
    }
    if (depth >= kMaxDepth) {
      hit_cycle = true;  // depends on the path taken: not memoized
      return unknown("import chain too long");
    }
    Probes mine;
    Walk inner{r, mine, visiting, false, depth + 1};
    inner.visiting.push_back(key);
    bool missing = false;
    ImportedName out = inner.compute(m, name, &missing);
    // What the source cannot tell, the running module may: its value now is
    // surely no fixture. What the failed reading read stays in the key.
    if (!missing && out.kind == ImportedName::Unknown && inner.live(m.file, name)) out = not_fixture(true);
    if (missing) out = ImportedName{};  // Unknown with no reason: absent
    settle(mine, 0);
    if (!inner.hit_cycle) {
      auto memo = std::make_shared<Memo>();
      memo->result = out;
      memo->read = mine;
      std::lock_guard<std::mutex> lock(r.mu_);
      r.memo_.emplace(key, std::move(memo));
    } else {
      hit_cycle = true;
    }
    append(read, mine);
    if (missing) {
      if (absent) {
        *absent = true;
        return {};
      }
      return unknown("'" + name + "' is not bound in " + m.file);
    }
    return out;
  }

  // See ImportResolver::value_id.
  ValueId value_id(const std::string& importer, const Import& imp, std::vector<std::string> chain) {
    ValueId v;
    if (!r.env_.unknown.empty()) {
      v.why = r.env_.unknown;
      return v;
    }
    Module m;
    if (imp.from) {
      m = module_of(importer, imp);
      chain.insert(chain.begin(), imp.name);
    } else {
      const std::string first = imp.path.substr(0, imp.path.find('.'));
      if (imp.alias) {
        m = find(imp.path);  // import a.b as c: c is a.b
      } else if (imp.bound == first) {
        m = find(first);  // import a.b: a
      } else {
        v.why = "import of " + imp.path;
        return v;
      }
    }
    if (chain.empty()) {
      v.why = "a module";  // its __name__ is not read here
      return v;
    }
    if (m.kind != Module::Source && m.kind != Module::Package) {
      v.why = m.why.empty() ? "module not read" : m.why;
      return v;
    }
    if (r.env_.live_id && !m.dotted.empty() && r.env_.loaded.count(m.dotted)) {
      std::vector<std::string> deps;
      ValueId live = r.env_.live_id(m.file, chain, deps);
      if (live.kind != ValueId::Unknown) {
        probe_file(m.file, r.probes_.file(m.file));
        for (const auto& dep : deps) probe_file(dep, r.probes_.file(dep));
        return live;
      }
    }
    if (chain.size() != 1) {
      v.why = "attribute of an attribute";
      return v;
    }
    ImportedName n = name_in(m, chain[0]);
    if (n.kind == ImportedName::NotFixture && n.dunder_known) {
      v.kind = ValueId::Id;
      v.id = n.dunder;
      return v;
    }
    v.why = n.why.empty() ? "'" + chain[0] + "' in " + m.file + " may not be a def or a class" : n.why;
    return v;
  }

  ImportedName compute(const Module& m, const std::string& name, bool* missing) {
    std::shared_ptr<const File> keep;
    const File* file = facts_of(m, keep);
    if (!file->ok) return unknown(file->why);
    const FileFacts& f = file->facts;
    if (!f.parsed || f.syntax_error) return unknown(m.file + " could not be parsed");
    // Star imports are followed below; `__getattr__` / `__dir__` matter only
    // for a name the module does not bind (a module-level __getattr__);
    // `__test__` only for collection.
    // `__test__` anywhere (a class, a function, a decorator's body) may make
    // an object collected under any name.
    for (const auto& d : f.dynamic)
      if (d.rfind(kStarImportReason, 0) != 0 && d != "uses __getattr__" && d != "uses __dir__" &&
          !ends_with(d, kInFunction))
        return unknown(m.file + ": " + d);
    // A call at import may rebind any name of the module (`_install()`).
    for (const auto& b : f.bound)
      if (b.call && !harmless_call(f, b.name)) return unknown(m.file + " calls " + b.name + "() at import");
    bool module_getattr = false;
    for (const auto& fn : f.funcs) module_getattr = module_getattr || fn.name == "__getattr__";
    for (const auto& b : f.bound) module_getattr = module_getattr || b.name == "__getattr__";
    for (const auto& imp : f.imports) module_getattr = module_getattr || imp.bound == "__getattr__";
    std::vector<ImportedName> all;
    for (const auto& fn : f.funcs)
      if (fn.name == name) all.push_back(classify_func(fn, m, f));
    for (const auto& c : f.classes)
      if (c.name == name) all.push_back(classify_class(c, m, f));
    for (const auto& b : f.bound) {
      if (b.call || b.name != name) continue;
      // A computed value (`IS64 = sys.maxsize > 2**32`): the running object
      // answers when the module is loaded (its final binding, whatever ran).
      if (b.literal || live(m.file, name)) all.push_back(not_fixture(true));
      else all.push_back(unknown("'" + name + "' is assigned in " + m.file));
    }
    for (const auto& imp : f.imports) {
      if (!import_runs(f, imp, r.env_.type_checking_set)) continue;
      if (imp.from && f.mentions_sys_path && (imp.star || imp.bound == name)) {
        all.push_back(unknown(m.file + " changes sys.path before importing '" + name + "'"));
        continue;
      }
      if (imp.star) {
        Module src = module_of(m.file, imp);
        if (src.kind == Module::Stdlib) {
          all.push_back(not_fixture(!testcase_module(src.dotted)));  // only if it binds it: a superset
          continue;
        }
        bool absent = false;
        ImportedName v = name_in(src, name, &absent);
        v.dunder_known = false;  // binds it only where __all__ and underscores allow
        if (!absent) all.push_back(v);
        continue;
      }
      if (imp.bound != name) continue;
      if (!imp.from) {
        all.push_back(not_fixture(true));  // a module
        continue;
      }
      Module src = module_of(m.file, imp);
      if (src.kind == Module::Package && src.file == m.file) {
        // `from pkg import sub` inside pkg/__init__: the submodule (the
        // attribute is not set yet while the package runs).
        Module s = sub(m, imp.name);
        all.push_back(s.found() || s.compiled ? not_fixture(true)
                                              : unknown("'" + imp.name + "' imported from its own package"));
        continue;
      }
      ImportedName v = name_in(src, imp.name);
      if (imp.conditional) v.dunder_known = false;  // may not run
      all.push_back(v);
    }
    // A submodule of that name, once imported, is the package's attribute.
    if (m.kind == Module::Package) {
      Module s = sub(m, name);
      if (s.found() || s.compiled)
        all.push_back(not_fixture(true));
      else if (s.kind == Module::Unknown)
        all.push_back(unknown(s.why));
    }
    if (all.empty()) {
      if (module_getattr) return unknown(m.file + " has a module __getattr__");
      *missing = true;
      return {};
    }
    return join(all, name);
  }
};

std::string Resolver::path_changer(const std::string& importer, const FileFacts& start, Probes& read) {
  const size_t sorted = read.size();  // sorted and unique up to here
  constexpr size_t kMaxFiles = 2000;
  Walk w{*this, read, {}, false, 0};
  std::set<std::string> seen{importer};
  std::vector<std::shared_ptr<const File>> keep;
  std::vector<std::pair<std::string, const FileFacts*>> todo{{importer, &start}};
  std::string why;
  auto visit = [&](const Module& m) {
    if (!why.empty() || (m.kind != Module::Source && m.kind != Module::Package)) return;
    if (!m.dotted.empty() && env_.loaded.count(m.dotted)) return;  // has run already
    const bool project = std::any_of(env_.project_dirs.begin(), env_.project_dirs.end(),
                                     [&](const std::string& d) { return !d.empty() && is_below(m.file, d); });
    if (!project || !seen.insert(m.file).second) return;
    if (seen.size() > kMaxFiles) {
      why = "imports more than " + std::to_string(kMaxFiles) + " project modules";
      return;
    }
    std::shared_ptr<const File> file;
    const File* f = w.facts_of(m, file);
    if (!f->ok || !f->facts.parsed || f->facts.syntax_error) {
      why = m.file + " could not be read";
      return;
    }
    if (f->facts.mentions_sys_path) {
      why = m.file + " (imported first) changes sys.path";
      return;
    }
    keep.push_back(file);
    todo.emplace_back(m.file, &f->facts);
  };
  while (!todo.empty() && why.empty()) {
    auto [path, facts] = todo.back();
    todo.pop_back();
    for (const auto& imp : facts->imports) {
      if (!why.empty()) break;
      if (!import_runs(*facts, imp, env_.type_checking_set)) continue;
      if (imp.level == 0) {
        const auto parts = split_dots(imp.path);
        if (parts.empty() || parts[0] == "pytest" || env_.stdlib.count(parts[0])) continue;
        std::string dotted;
        for (const auto& part : parts) {
          dotted += (dotted.empty() ? "" : ".") + part;
          visit(w.find(dotted));
        }
        if (imp.from && !imp.star) visit(w.find(dotted + "." + imp.name));
      } else {
        Module m = w.module_of(path, imp);
        visit(m);
        if (imp.from && !imp.star && m.found() && m.kind != Module::Source && m.kind != Module::Stdlib) visit(w.sub(m, imp.name));
      }
    }
  }
  settle(read, sorted);
  return why;
}

ValueId Resolver::value_id(const std::string& importer, const Import& imp, const std::vector<std::string>& attrs,
                           Probes& read) {
  const size_t sorted = read.size();  // sorted and unique up to here
  ValueId v;
  if (imp.star) return v;
  Walk w{*this, read, {}, false, 0};
  v = w.value_id(importer, imp, attrs);
  settle(read, sorted);
  return v;
}

ImportedName Resolver::resolve(const std::string& importer, const Import& imp, Probes& read) {
  const size_t sorted = read.size();  // sorted and unique up to here
  if (!imp.from) return not_fixture(true);
  if (imp.star) return unknown("star import");
  Walk w{*this, read, {}, false, 0};
  Module m = w.module_of(importer, imp);
  ImportedName out = w.name_in(m, imp.name);
  settle(read, sorted);
  if (out.kind == ImportedName::Unknown && out.why.empty()) out.why = "'" + imp.name + "' not found";
  return out;
}

}  // namespace fc
