// Cached decisions of earlier runs with the same filter and configuration.
//
// A decision is a pure function of a test module's content, the conftest
// files above it, and the query (filter, name patterns, plugin fixtures).
// Stored per query fingerprint, each entry is keyed by the module's content
// hash and the fingerprint of its conftest chain, so a hit gives exactly the
// answer decide() would give - without decoding the module's facts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keys.h"

namespace fc {

struct CachedDecision {
  uint64_t content_hash = 0;
  uint64_t scope_fp = 0;
  bool skip = false;
  std::string reason;
};

struct DecisionSet {
  uint64_t query = 0;
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
