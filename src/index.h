// Persistent index of per-file facts in LMDB, validated like git's index:
// stat data first (mtime/ctime ns, size, inode), the xxh3 of the content when
// stat data moved, the facts re-extracted when the content changed.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fc {

struct FileStat {
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t size = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  bool operator==(const FileStat& o) const {
    return mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns && size == o.size && ino == o.ino && dev == o.dev;
  }
};

// Stat data of a regular file; false if it is missing or not a regular file.
bool stat_file(const std::string& path, FileStat& out);
// Wall-clock time in ns, for the racy-timestamp rule.
int64_t now_ns();

// One stored entry. `racy` marks a file whose timestamps were too close to
// the moment it was read: its stat data cannot prove it unchanged, so the next
// run compares the content hash instead.
struct Record {
  FileStat stat;
  uint64_t hash = 0;
  bool racy = false;
  std::string facts;  // encoded FileFacts
};

// A stored record as read: the facts stay in the index's memory map.
struct RecordView {
  FileStat stat;
  uint64_t hash = 0;
  bool racy = false;
  std::string_view facts;
};

std::string encode_record(const Record& r);
bool decode_record(const char* data, size_t size, RecordView& out);

struct EnvDeleter {
  void operator()(MDB_env* e) const { mdb_env_close(e); }
};
using EnvPtr = std::unique_ptr<MDB_env, EnvDeleter>;

// A transaction that aborts unless committed.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Txn(Txn&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  ~Txn() {
    if (t_) mdb_txn_abort(t_);
  }
  int begin(MDB_env* env, unsigned flags) { return mdb_txn_begin(env, nullptr, flags, &t_); }
  int commit() { return mdb_txn_commit(std::exchange(t_, nullptr)); }
  MDB_txn* get() const { return t_; }

 private:
  MDB_txn* t_ = nullptr;
};

class Index {
 public:
  // Opens (creating) the index in `dir`. On failure returns nullptr and sets
  // `error`; a corrupt index is removed and created anew once (`warning` says so).
  static std::unique_ptr<Index> open(const std::string& dir, std::string& error, std::string& warning,
                                     size_t initial_map = size_t{256} << 20);

  // A read-only view for one thread.
  class Reader {
   public:
    explicit Reader(const Index& idx);
    bool ok() const { return txn_.get() != nullptr; }
    // Looks up `key`; false if absent or unreadable.
    bool get(const std::string& key, RecordView& out) const;
    // The stored bytes of `key`, undecoded (valid while this reader lives).
    bool get_bytes(const std::string& key, std::string_view& out) const;

   private:
    const Index& idx_;
    Txn txn_;
  };

  // Writes all (key, encoded value) pairs in one transaction, growing the map
  // when it is full.
  // Keys in `erase` are deleted in the same transaction.
  bool put_many(const std::vector<std::pair<std::string, std::string>>& kvs, std::string& error,
                const std::vector<std::string>& erase = {});
  size_t map_size() const;

 private:
  bool init(const std::string& dir, std::string& error, size_t initial_map);
  EnvPtr env_;
  MDB_dbi dbi_ = 0;
};

}  // namespace fc
