#include "decisions.h"

#include <cstring>

#include <xxhash.h>

#include "codec.h"

namespace fc {

namespace {
constexpr uint64_t kDecisionsVersion = 1;
}

std::string encode_recent(const std::vector<uint64_t>& queries) {
  Writer w;
  w.u(queries.size());
  for (uint64_t q : queries) w.u(q);
  return w.take();
}

std::vector<uint64_t> decode_recent(std::string_view data) {
  Reader r(data.data(), data.size());
  std::vector<uint64_t> out(r.count());
  for (auto& q : out) q = r.u();
  if (!r.ok() || !r.at_end()) out.clear();
  return out;
}

std::string encode_decisions(const DecisionSet& d) {
  Writer w;
  w.u(kDecisionsVersion);
  w.u(d.query);
  w.u(d.by_path.size());
  for (const auto& [path, c] : d.by_path) {
    w.s(path);
    w.u(c.content_hash);
    w.u(c.scope_fp);
    w.b(c.skip);
    w.s(c.reason);
  }
  return seal(w.take());
}

bool decode_decisions(std::string_view data, uint64_t query, DecisionSet& out) {
  size_t body;
  if (!unseal(data.data(), data.size(), body)) return false;
  Reader r(data.data(), body);
  if (r.u() != kDecisionsVersion || r.u() != query) return false;
  size_t n = r.count();
  out.query = query;
  out.by_path.clear();
  out.by_path.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string path = r.s();
    CachedDecision c;
    c.content_hash = r.u();
    c.scope_fp = r.u();
    c.skip = r.b();
    c.reason = r.s();
    out.by_path.emplace(std::move(path), std::move(c));
  }
  return r.ok() && r.at_end();
}

Fingerprint& Fingerprint::add(std::string_view s) {
  add(static_cast<uint64_t>(s.size()));
  buf_.append(s);
  return *this;
}

Fingerprint& Fingerprint::add(uint64_t v) {
  buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
  return *this;
}

uint64_t Fingerprint::value() const { return XXH3_64bits(buf_.data(), buf_.size()); }

}  // namespace fc
