// Learned facts: the items pytest really built for a test module (keywords and
// markers after every hook), recorded when pytest imported it, and used by a
// later run to decide that module exactly - while its key still matches.
//
// The key has two parts. A *generation* holds what applies to a whole session:
// the session key (pytest and Python versions, plugin distributions, ini and
// collection options), the inputs read from start-up to the end of collection
// (environment variables, option values: each name with the hash of its value
// when the plugin decided), the fingerprint of every conftest.py, and the
// content hashes of every non-test file that was imported or read. A *file record* holds
// the module's content hash, the test modules it borrows from (base classes,
// imported names), and its items. Any mismatch makes the record worthless.
//
// This file stores records and checks their key; what a record's items say
// about a filter is the Decider's business (decide.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <set>

#include <tree_sitter/api.h>

#include "files.h"
#include "index.h"
#include "keys.h"
#include "surface.h"

namespace fc {

using HashedPaths = std::vector<std::pair<std::string, uint64_t>>;
// Named inputs ("env:NAME", "opt:dest") with the hash of their value.
using HashedInputs = std::vector<std::pair<std::string, uint64_t>>;
// Every input's value when the plugin decided (absent: not set).
using InputSnapshot = std::map<std::string, std::string>;

struct LearnedItem {
  std::vector<std::string> keywords;  // lowercased (Python's str.lower) -k names
  std::vector<std::string> marks;     // marker names from iter_markers()
};

// One learned item as views into the stored record (valid while its bytes
// are: inside the read transaction that found it).
struct ItemView {
  std::vector<std::string_view> keywords;
  std::vector<std::string_view> marks;
};
// Handed each item of a record in turn; returns false to read no further.
using ItemVisitor = std::function<bool(const ItemView&)>;

// What a record's items say of the session's filter, when they were judged
// while reading it (find_learned with a visitor: `items` then stays empty).
enum class ItemVerdict : uint8_t { NotJudged, NoneMatch, MayMatch };

struct LearnedFile {
  uint64_t generation = 0;
  uint64_t content_hash = 0;
  HashedPaths deps;  // other test modules this module's namespace refers to, or that change what it reads
  // Test modules that read what this module's collection changes (the
  // reverse of their `deps`; sorted), kept until a session that collected
  // one of them saw no such link: a module without a current record may
  // read it too (decide.h).
  std::vector<std::string> readers;
  std::vector<LearnedItem> items;
  ItemVerdict verdict = ItemVerdict::NotJudged;
};

// A non-test file collection depended on. A file with a surface (see
// surface.h) still holds when its content changed and its surface did not.
struct DepFile {
  std::string path;
  uint64_t content_hash = 0;
  bool whole = true;             // no surface: any change of content counts
  std::vector<std::string> ran;  // functions whose bodies are part of the surface (sorted)
  uint64_t surface = 0;
  BindingTable bindings;  // its binding statements, outside the surface hash (bindings.h)
  bool opaque = false;    // its namespace was enumerated: every binding counts
};
inline bool operator==(const DepFile& a, const DepFile& b) {
  return a.path == b.path && a.content_hash == b.content_hash && a.whole == b.whole && a.ran == b.ran &&
         a.surface == b.surface && a.bindings == b.bindings && a.opaque == b.opaque;
}
using DepFiles = std::vector<DepFile>;

struct Generation {
  uint64_t id = 0;
  uint64_t version = 0;  // bumped on every write, so cached decisions notice new records
  uint64_t session_key = 0;
  uint64_t conftest_fp = 0;  // which conftest.py files the session has (their content is in deps)
  HashedInputs inputs;  // sorted by name
  DepFiles deps;        // sorted by path
  // Test modules some session of this generation collected (sorted): what
  // they read was watched, so their links are in the records.
  std::vector<std::string> known;
};

uint64_t input_value_hash(const InputSnapshot& snapshot, const std::string& name);
// The same, and for "dir:<path>" (a directory collection listed) the hash of
// the directory's names now.
uint64_t input_hash(const InputSnapshot& snapshot, const std::string& name);

// Several generations are kept (most recent first), so that sessions whose
// inputs alternate (`pytest -k x`, `pytest -k x --runslow`) each find theirs.
constexpr size_t kKeptGenerations = 4;

std::string encode_generations(const std::vector<Generation>& gens);
bool decode_generations(const char* data, size_t size, std::vector<Generation>& out);
std::string encode_learned(const LearnedFile& f);
// With a visitor, items are handed to it (see ItemVisitor), not kept.
bool decode_learned(const char* data, size_t size, LearnedFile& out, const ItemVisitor* visit = nullptr);

// A module's records, at most one per kept generation: (generation id, encoded LearnedFile).
using LearnedSet = std::vector<std::pair<uint64_t, std::string>>;
std::string encode_learned_set(const LearnedSet& set);
bool decode_learned_set(const char* data, size_t size, LearnedSet& out);
// Decodes only the record of `generation`, if the set has one. With a
// visitor, items are not kept but handed to it as views, each once, until it
// returns false (the set's checksum covers the record: it is not checked again).
bool find_learned(const char* data, size_t size, uint64_t generation, LearnedFile& out,
                  const ItemVisitor* visit = nullptr);


// Content hashes of dependency files, validated like test files: unchanged
// stat data (and not racy) reuses the stored hash, otherwise the file is read.
// New hashes are queued for writing. With a grammar, a changed file is
// compared by its surface (surfaces cached in the index by content hash).
class DepHasher {
 public:
  DepHasher(const Index* index, int64_t now_ns, int64_t racy_window_ns, const TSLanguage* lang = nullptr);
  bool hash(const std::string& path, uint64_t& out);
  // True when every path still hashes to its recorded value; else the first
  // path that does not goes to `changed` (when given).
  bool still_valid(const HashedPaths& deps, std::string* changed = nullptr);
  // The same for a generation's files (`generation`: its id, for what its
  // collection could have read); `changed` gets the path and why.
  bool still_valid(const DepFiles& deps, uint64_t generation, std::string* changed = nullptr);
  // The surface of `path` (whose content hashes to `content_hash`) with
  // `ran`'s bodies; false when it has none.
  struct Surface {
    uint64_t hash = 0;
    std::vector<BoundName> bindings;
  };
  bool surface(const std::string& path, uint64_t content_hash, const std::vector<std::string>& ran, Surface& out);
  std::vector<std::pair<std::string, std::string>>& writes() { return writes_; }
  // What the collection of a stored generation could have read (not known
  // when its record is missing).
  const Observed& observed(uint64_t generation);
  // Asked whether a from-import of a kept content finds its name (none: it does not).
  void set_module_has(AttrCheck has) { module_has_ = std::move(has); }

 private:
  const Index* index_;
  int64_t now_ns_, racy_ns_;
  const TSLanguage* lang_;
  AttrCheck module_has_;
  std::vector<std::pair<std::string, std::string>> writes_;
  std::map<std::string, uint64_t> memo_;
  std::map<uint64_t, Observed> observed_;  // by generation
};

std::string encode_observed(const Observed& o);
bool decode_observed(const char* data, size_t size, Observed& out);

// The parts of a generation's key, in the order they are checked.
enum class KeyPart { Session, Conftests, Inputs, Dependencies };

// Why a stored generation does not hold for this session ("" when it does):
// names the first part of its key that changed (and gives which part it is).
std::string generation_mismatch(const Generation& g, uint64_t session_key, uint64_t conftest_fp,
                                const InputSnapshot& snapshot, DepHasher& deps, KeyPart* part = nullptr);

// The stored generations (most recent first); false when there are none readable.
bool load_generations(const Index::Reader& reader, std::vector<Generation>& out);

// The position of the newest of `gens` that holds for this session, or
// gens.size() when none does. Then `why`, when given, gets the reason of the
// generation that held furthest (a changed dependency of one learned with
// this session's inputs says more than the changed variable of one learned
// in another shell); the newest among equals.
size_t newest_valid_generation(const std::vector<Generation>& gens, uint64_t session_key, uint64_t conftest_fp,
                               const InputSnapshot& snapshot, DepHasher& deps, std::string* why = nullptr);

// The learned record of `path` under `generation`, if there is one.
bool find_learned(const Index::Reader& reader, const std::string& path, uint64_t generation, LearnedFile& out,
                  const ItemVisitor* visit = nullptr);

struct LearnInput {
  uint64_t session_key = 0;
  uint64_t conftest_fp = 0;
  std::vector<std::string> input_names;  // every input this session depends on
  InputSnapshot inputs;                  // their values when deciding (unset ones absent)
  std::vector<std::string> listings;     // directories collection listed (inputs "dir:<path>")
  // Session-wide dependency files, with the code that ran in each.
  struct Dep {
    std::string path;
    bool traced = false;  // its module body ran while tracing, and nothing read it as data
    RanCode ran;
    bool opaque = false;  // its namespace was enumerated (dir, vars, globals, a star import)
  };
  std::vector<Dep> deps;
  const TSLanguage* lang = nullptr;  // surfaces need the grammar; none: whole contents
  struct File {
    std::string path;
    uint64_t content_hash = 0;  // as the scan saw it: a module changed since is not recorded
    std::vector<std::string> deps;
    std::vector<std::string> readers;  // found this session (see LearnedFile::readers)
    std::vector<LearnedItem> items;
  };
  std::vector<File> files;
  std::vector<std::string> collected;  // every test module this session collected (sorted)
  Observed observed;                   // what this session's collection could have read
};

// Writes a learn input into the index at `index_dir`; returns an error or "".
std::string learn(const std::string& index_dir, const LearnInput& in, uint64_t& files_written);

}  // namespace fc
