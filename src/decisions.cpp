#include "decisions.h"

#include <cstring>

#include <xxhash.h>

#include "codec.h"

namespace fc {

namespace {
constexpr uint64_t kDecisionsVersion = 2;
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
  w.u(d.probes.size());
  for (const auto& p : d.probes) {
    w.b(p.entries);
    w.s(p.path);
    w.s(p.name);
    w.u(p.value);
  }
  w.u(d.by_path.size());
  for (const auto& [path, c] : d.by_path) {
    w.s(path);
    w.u(c.content_hash);
    w.u(c.scope_fp);
    w.b(c.skip);
    w.s(c.reason);
    w.u(c.probes.size());
    for (uint32_t i : c.probes) w.u(i);
  }
  return seal(w.take());
}

bool decode_decisions(std::string_view data, uint64_t query, DecisionSet& out) {
  size_t body;
  if (!unseal(data.data(), data.size(), body)) return false;
  Reader r(data.data(), body);
  if (r.u() != kDecisionsVersion || r.u() != query) return false;
  out.query = query;
  out.probes.resize(r.count());
  for (auto& p : out.probes) {
    p.entries = r.b();
    p.path = r.s();
    p.name = r.s();
    p.value = r.u();
  }
  size_t n = r.count();
  out.by_path.clear();
  out.by_path.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string path = r.s();
    CachedDecision c;
    c.content_hash = r.u();
    c.scope_fp = r.u();
    c.skip = r.b();
    c.reason = r.s();
    c.probes.resize(r.count());
    for (auto& at : c.probes) {
      const uint64_t v = r.u();
      if (v >= out.probes.size()) return false;
      at = static_cast<uint32_t>(v);
    }
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
