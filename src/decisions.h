// Cached decisions of earlier runs with the same filter and configuration.
//
// A decision is a pure function of a test module's content, the conftest
// files above it, the query (filter, name patterns, plugin fixtures, where
// imports are looked up) and the files and directory entries its resolution
// of imported names read (probes).
// Stored per query fingerprint, each entry is keyed by the module's content
// hash and the fingerprint of its conftest chain, so a hit gives exactly the
// answer decide() would give - without decoding the module's facts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "keys.h"

namespace fc {

// One thing a resolution of imported names read (resolve.h): a file's
// content, or the entries a directory has under a name (present or not).
struct Probe {
  bool entries = false;  // false: a file's content; true: a directory's entries named `name` or `name.*`
  std::string path;      // the file, or the directory
  std::string name;
  uint64_t value = 0;    // content hash (0: unreadable), or the hash of the matching entries
  bool operator<(const Probe& o) const {
    return std::tie(entries, path, name, value) < std::tie(o.entries, o.path, o.name, o.value);
  }
  bool operator==(const Probe& o) const {
    return entries == o.entries && path == o.path && name == o.name && value == o.value;
  }
};
using Probes = std::vector<Probe>;  // sorted, unique

struct CachedDecision {
  uint64_t content_hash = 0;
  uint64_t scope_fp = 0;
  bool skip = false;
  std::string reason;
  // What deciding it read besides the module and its conftests: indices into
  // DecisionSet::probes. The decision holds only while every one still reads the same.
  std::vector<uint32_t> probes;
};

struct DecisionSet {
  uint64_t query = 0;
  std::vector<Probe> probes;  // shared by the decisions
  std::unordered_map<std::string, CachedDecision> by_path;
};

// The most recent queries (newest first); older ones are evicted.
constexpr size_t kKeptQueries = 8;
std::string encode_recent(const std::vector<uint64_t>& queries);
std::vector<uint64_t> decode_recent(std::string_view data);
std::string encode_decisions(const DecisionSet& d);
// False on any malformation or a different query.
bool decode_decisions(std::string_view data, uint64_t query, DecisionSet& out);

// Fingerprint helper: xxh3 over length-prefixed parts.
class Fingerprint {
 public:
  Fingerprint& add(std::string_view s);
  Fingerprint& add(uint64_t v);
  uint64_t value() const;

 private:
  std::string buf_;
};

}  // namespace fc
