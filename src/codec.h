// Varint and length-prefixed string encoding shared by the index records.
// The reader bounds every count by the bytes left and never reads past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace fc {
namespace codec {

class Writer {
 public:
  void u(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void b(bool v) { u(v ? 1 : 0); }
  void s(const std::string& v) {
    u(v.size());
    out_.append(v);
  }
  void ss(const std::vector<std::string>& v) {
    u(v.size());
    for (const auto& x : v) s(x);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const char* d, size_t n) : p_(d), end_(d + n) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return fail();
      auto c = static_cast<unsigned char>(*p_++);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    return fail();
  }
  bool b() { return u() != 0; }
  // A count of elements that each take at least one byte: bounded by what is left.
  size_t count() {
    uint64_t n = u();
    if (n > static_cast<uint64_t>(end_ - p_)) return static_cast<size_t>(fail());
    return static_cast<size_t>(n);
  }
  std::string s() {
    size_t n = count();
    if (!ok_) return {};
    std::string v(p_, n);
    p_ += n;
    return v;
  }
  // A length-prefixed run of bytes left where it is (valid while the input lives).
  std::string_view sv() {
    size_t n = count();
    if (!ok_) return {};
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  std::vector<std::string> ss() {
    std::vector<std::string> v(count());
    for (auto& x : v) x = s();
    return v;
  }

 private:
  uint64_t fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// Appends the xxh3-64 of `body` to it: every stored value ends with its checksum.
inline std::string seal(std::string body) {
  uint64_t sum = XXH3_64bits(body.data(), body.size());
  body.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return body;
}

// Checks a sealed value; on success `body` is the size without the checksum.
inline bool unseal(const char* data, size_t size, size_t& body) {
  if (size < 8) return false;
  uint64_t sum;
  std::memcpy(&sum, data + size - 8, 8);
  body = size - 8;
  return XXH3_64bits(data, body) == sum;
}

}  // namespace codec
using codec::Reader;
using codec::seal;
using codec::unseal;
using codec::Writer;
}  // namespace fc
