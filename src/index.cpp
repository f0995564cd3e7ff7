#include "index.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <xxhash.h>

#include "codec.h"
#include "keys.h"

namespace fc {
namespace {

constexpr uint32_t kMagic = 0x31584346;  // "FCX1"
constexpr uint32_t kRecordVersion = 2;
constexpr size_t kMaxMap = size_t{64} << 30;

template <class T>
void put_raw(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <class T>
bool read_pod(const char*& p, const char* end, T& v) {
  if (static_cast<size_t>(end - p) < sizeof v) return false;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return true;
}

std::string schema_value() { return "fastcollect-index:" + std::to_string(kRecordVersion); }

bool mkdirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      cur = dir.substr(0, i);
      if (::mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST) return false;
    }
  }
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

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

std::string encode_record(const Record& r) {
  std::string s;
  s.reserve(64 + r.facts.size());
  put_raw(s, kMagic);
  put_raw(s, kRecordVersion);
  put_raw(s, r.stat.mtime_ns);
  put_raw(s, r.stat.ctime_ns);
  put_raw(s, r.stat.size);
  put_raw(s, r.stat.ino);
  put_raw(s, r.stat.dev);
  put_raw(s, r.hash);
  put_raw(s, static_cast<uint8_t>(r.racy));
  put_raw(s, static_cast<uint64_t>(r.facts.size()));
  s += r.facts;
  return seal(std::move(s));
}

bool decode_record(const char* data, size_t size, RecordView& out) {
  size_t body;
  if (!unseal(data, size, body)) return false;
  const char* p = data;
  const char* end = data + body;
  uint32_t magic = 0, version = 0;
  uint8_t racy = 0;
  uint64_t n = 0;
  if (!read_pod(p, end, magic) || magic != kMagic) return false;
  if (!read_pod(p, end, version) || version != kRecordVersion) return false;
  if (!read_pod(p, end, out.stat.mtime_ns) || !read_pod(p, end, out.stat.ctime_ns) ||
      !read_pod(p, end, out.stat.size) || !read_pod(p, end, out.stat.ino) || !read_pod(p, end, out.stat.dev) ||
      !read_pod(p, end, out.hash) || !read_pod(p, end, racy) || !read_pod(p, end, n))
    return false;
  if (n != static_cast<uint64_t>(end - p)) return false;
  out.racy = racy != 0;
  out.facts = std::string_view(p, n);
  return true;
}

std::unique_ptr<Index> Index::open(const std::string& dir, std::string& error, std::string& warning,
                                   size_t initial_map) {
  if (!mkdirs(dir)) {
    error = "cannot create index directory " + dir + ": " + std::strerror(errno);
    return nullptr;
  }
  auto idx = std::make_unique<Index>();
  if (idx->init(dir, error, initial_map)) return idx;
  // Unreadable or corrupt: start again from nothing, once.
  std::string first = error;
  ::unlink((dir + "/data.mdb").c_str());
  ::unlink((dir + "/lock.mdb").c_str());
  idx = std::make_unique<Index>();
  error.clear();
  if (idx->init(dir, error, initial_map)) {
    warning = "index was unreadable (" + first + "); rebuilt it";
    return idx;
  }
  return nullptr;
}

bool Index::init(const std::string& dir, std::string& error, size_t initial_map) {
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc) {
    error = mdb_strerror(rc);
    return false;
  }
  env_.reset(raw);
  mdb_env_set_maxreaders(env_.get(), 512);
  // An existing, larger map keeps its size: LMDB uses the file's size if larger.
  mdb_env_set_mapsize(env_.get(), initial_map);
  // NOSYNC: the index is a cache; records are checksummed and a lost write
  // only costs a re-parse. NOTLS: read transactions are not tied to threads.
  rc = mdb_env_open(env_.get(), dir.c_str(), MDB_NOSYNC | MDB_NOTLS, 0664);
  if (rc) {
    error = std::string("cannot open index: ") + mdb_strerror(rc);
    return false;
  }
  Txn t;
  if ((rc = t.begin(env_.get(), 0)) != 0 || (rc = mdb_dbi_open(t.get(), nullptr, 0, &dbi_)) != 0) {
    error = std::string("cannot open index: ") + mdb_strerror(rc);
    return false;
  }
  MDB_val k{sizeof kSchemaKey - 1, const_cast<char*>(kSchemaKey)}, v{};
  std::string want = schema_value();
  rc = mdb_get(t.get(), dbi_, &k, &v);
  bool same = rc == 0 && v.mv_size == want.size() && std::memcmp(v.mv_data, want.data(), want.size()) == 0;
  if (rc != 0 && rc != MDB_NOTFOUND) {
    error = std::string("cannot read index: ") + mdb_strerror(rc);
    return false;
  }
  if (!same) {
    // Another schema (or a new index): drop every record.
    if ((rc = mdb_drop(t.get(), dbi_, 0)) != 0) {
      error = std::string("cannot reset index: ") + mdb_strerror(rc);
      return false;
    }
    MDB_val nv{want.size(), want.data()};
    if ((rc = mdb_put(t.get(), dbi_, &k, &nv, 0)) != 0) {
      error = std::string("cannot write index: ") + mdb_strerror(rc);
      return false;
    }
  }
  if ((rc = t.commit()) != 0) {
    error = std::string("cannot write index: ") + mdb_strerror(rc);
    return false;
  }
  return true;
}

Index::Reader::Reader(const Index& idx) : idx_(idx) {
  int rc = txn_.begin(idx.env_.get(), MDB_RDONLY);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size and try again.
    mdb_env_set_mapsize(idx.env_.get(), 0);
    txn_.begin(idx.env_.get(), MDB_RDONLY);
  }
}

bool Index::Reader::get_bytes(const std::string& key, std::string_view& out) const {
  if (!txn_.get() || key.empty() || key.size() > 511) return false;
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  if (mdb_get(txn_.get(), idx_.dbi_, &k, &v) != 0) return false;
  out = std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
  return true;
}

bool Index::Reader::get(const std::string& key, RecordView& out) const {
  std::string_view v;
  return get_bytes(key, v) && decode_record(v.data(), v.size(), out);
}

size_t Index::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(env_.get(), &info);
  return info.me_mapsize;
}

bool Index::put_many(const std::vector<std::pair<std::string, std::string>>& recs, std::string& error,
                     const std::vector<std::string>& erase) {
  if (recs.empty() && erase.empty()) return true;
  for (int attempt = 0; attempt < 12; ++attempt) {
    int rc = 0;
    {
      Txn t;  // aborted at the end of this block unless committed
      rc = t.begin(env_.get(), 0);
      if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(env_.get(), 0);
        continue;
      }
      if (rc) {
        error = std::string("index write failed: ") + mdb_strerror(rc);
        return false;
      }
      for (size_t i = 0; i < recs.size() && rc == 0; ++i) {
        const std::string& key = recs[i].first;
        if (key.empty() || key.size() > 511) continue;  // LMDB's key limit; such files stay unindexed
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{recs[i].second.size(), const_cast<char*>(recs[i].second.data())};
        rc = mdb_put(t.get(), dbi_, &k, &v, 0);
      }
      for (size_t i = 0; i < erase.size() && rc == 0; ++i) {
        MDB_val k{erase[i].size(), const_cast<char*>(erase[i].data())};
        rc = mdb_del(t.get(), dbi_, &k, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
      }
      if (rc == 0) rc = t.commit();
    }
    if (rc == 0) return true;
    if (rc == MDB_MAP_FULL) {
      // Our transaction is gone: the map may be resized now.
      size_t next = map_size() * 2;
      if (next > kMaxMap) break;
      mdb_env_set_mapsize(env_.get(), next);
      continue;
    }
    error = std::string("index write failed: ") + mdb_strerror(rc);
    return false;
  }
  error = "index is full";
  return false;
}

}  // namespace fc
