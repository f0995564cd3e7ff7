// Learned facts: the items pytest really built for a test module (keywords and
// markers after every hook), recorded when pytest imported it, and used by a
// later run to decide that module exactly - while its key still matches.
//
// The key has two parts. A *generation* holds what applies to a whole session:
// the session key (pytest and Python versions, plugin distributions, ini and
// collection options, the environment variables read during collection), the
// fingerprint of every conftest.py, and the content hashes of every non-test
// file that was imported or opened during collection. A *file record* holds
// the module's content hash, the test modules it borrows from (base classes,
// imported names), and its items. Any mismatch makes the record worthless.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "expr.h"

namespace fc {

using HashedPaths = std::vector<std::pair<std::string, uint64_t>>;

struct LearnedItem {
  std::vector<std::string> keywords;  // lowercased (Python's str.lower) -k names
  std::vector<std::string> marks;     // marker names from iter_markers()
};

struct LearnedFile {
  uint64_t generation = 0;
  uint64_t content_hash = 0;
  HashedPaths deps;  // other test modules this module's namespace refers to
  std::vector<LearnedItem> items;
};

struct Generation {
  uint64_t id = 0;
  uint64_t version = 0;  // bumped on every write, so cached decisions notice new records
  uint64_t session_key = 0;
  uint64_t conftest_fp = 0;
  std::vector<std::string> env_names;
  HashedPaths deps;
};

std::string generation_key();
std::string learned_key(const std::string& path);
std::string encode_generation(const Generation& g);
bool decode_generation(const char* data, size_t size, Generation& out);
std::string encode_learned(const LearnedFile& f);
bool decode_learned(const char* data, size_t size, LearnedFile& out);

// xxh3 of a file's content; false if it cannot be read.
bool hash_file(const std::string& path, uint64_t& out);

class Index;

// Content hashes of dependency files, validated like test files: unchanged
// stat data (and not racy) reuses the stored hash, otherwise the file is read.
// New hashes are queued for writing.
class DepHasher {
 public:
  DepHasher(const Index* index, int64_t now_ns, int64_t racy_window_ns);
  bool hash(const std::string& path, uint64_t& out);
  // True when every path still hashes to its recorded value.
  bool still_valid(const HashedPaths& deps);
  std::vector<std::pair<std::string, std::string>>& writes() { return writes_; }

 private:
  const Index* index_;
  int64_t now_ns_, racy_ns_;
  std::vector<std::pair<std::string, std::string>> writes_;
  std::map<std::string, uint64_t> memo_;
};

// True when no learned item can be selected by the filter (-k and -m).
bool learned_all_false(const LearnedFile& f, const Expression* keyword, const Expression* mark);

struct LearnInput {
  uint64_t session_key = 0;
  uint64_t conftest_fp = 0;
  std::vector<std::string> env_names;
  std::vector<std::string> deps;  // session-wide dependency files
  struct File {
    std::string path;
    std::vector<std::string> deps;
    std::vector<LearnedItem> items;
  };
  std::vector<File> files;
};

// Writes a learn input into the index at `index_dir`; returns an error or "".
std::string learn(const std::string& index_dir, const LearnInput& in, uint64_t& files_written);

// The session key proper: the caller's base key (versions, plugins,
// configuration) combined with the current values of the environment
// variables the generation depends on.
uint64_t full_session_key(uint64_t base, std::vector<std::string> env_names);

}  // namespace fc
