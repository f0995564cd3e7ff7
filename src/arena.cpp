#include "arena.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <tree_sitter/api.h>

// gcc says __SANITIZE_ADDRESS__; clang may only answer __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define FC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FC_ASAN 1
#endif
#endif

#if defined(FC_ASAN)
#include <sanitizer/asan_interface.h>
#define FC_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FC_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FC_POISON(p, n) ((void)(p), (void)(n))
#define FC_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace fc {
namespace {

// Each allocation is preceded by a header holding its size; 16 bytes keep
// the payload aligned as malloc's is.
constexpr size_t kHeader = 16;
constexpr size_t kFirstBlock = size_t{256} << 10;
constexpr size_t kLargestBlock = size_t{16} << 20;
// Blocks kept for the next parse, in order, while their sizes add up to this.
constexpr size_t kRetained = size_t{8} << 20;

size_t round16(size_t n) { return (n + 15) & ~size_t{15}; }
size_t header_size(const void* p) {
  size_t n;
  std::memcpy(&n, static_cast<const char*>(p) - kHeader, sizeof n);
  return n;
}

thread_local ParseArena* tls_arena = nullptr;

void* checked(void* p, size_t n) {
  if (!p && n) std::abort();  // as tree-sitter's own allocator does on failure
  return p;
}

void* ts_arena_malloc(size_t n) {
  if (ParseArena* a = tls_arena)
    if (void* p = a->allocate(n)) return p;
  return checked(std::malloc(n), n);
}

void* ts_arena_calloc(size_t count, size_t size) {
  if (ParseArena* a = tls_arena) {
    if (size && count > SIZE_MAX / size) std::abort();
    if (void* p = a->allocate(count * size)) return std::memset(p, 0, count * size);
  }
  return checked(std::calloc(count, size), count * size);
}

void* ts_arena_realloc(void* p, size_t n) {
  ParseArena* a = tls_arena;
  if (a && !p) return ts_arena_malloc(n);
  if (a && a->owns(p)) {
    if (void* q = a->reallocate(p, n)) return q;
    void* q = checked(std::malloc(n), n);  // the arena is full: move out
    std::memcpy(q, p, std::min(n, header_size(p)));
    return q;
  }
  return checked(std::realloc(p, n), n);
}

void ts_arena_free(void* p) {
  if (ParseArena* a = tls_arena; a && a->owns(p)) {
    a->release(p);
    return;
  }
  std::free(p);
}

std::once_flag install_once;

}  // namespace

ParseArena::ParseArena(size_t cap) : cap_(cap) {
  // The functions forward whatever no arena owns to malloc/free, so objects
  // made before the switch are freed correctly after it.
  std::call_once(install_once, [] { ts_set_allocator(ts_arena_malloc, ts_arena_calloc, ts_arena_realloc, ts_arena_free); });
}

ParseArena::~ParseArena() {
  for (auto& b : blocks_) FC_UNPOISON(b.data.get(), b.size);
}

ParseArena::Activation::Activation(ParseArena& a) : arena_(a), previous_(tls_arena) { tls_arena = &a; }

ParseArena::Activation::~Activation() {
  tls_arena = previous_;
  arena_.reset();
}

bool ParseArena::owns(const void* p) const {
  auto c = static_cast<const char*>(p);
  for (const auto& b : blocks_)
    if (c >= b.data.get() && c < b.data.get() + b.size) return true;
  return false;
}

void ParseArena::grow(size_t need) {
  for (size_t i = current_ + 1; i < blocks_.size(); ++i) {
    if (blocks_[i].size >= need) {
      current_ = i;
      offset_ = 0;
      return;
    }
  }
  size_t size = blocks_.empty() ? kFirstBlock : std::min(blocks_.back().size * 2, kLargestBlock);
  size = std::max(size, need);
  blocks_.push_back(Block{std::make_unique<char[]>(size), size});
  FC_POISON(blocks_.back().data.get(), size);
  current_ = blocks_.size() - 1;
  offset_ = 0;
}

void* ParseArena::allocate(size_t n) {
  size_t total = kHeader + round16(n);
  if (spilled_ || used_ + total > cap_) {
    spilled_ = true;
    return nullptr;
  }
  if (blocks_.empty() || offset_ + total > blocks_[current_].size) grow(total);
  char* h = blocks_[current_].data.get() + offset_;
  FC_UNPOISON(h, total);
  std::memcpy(h, &n, sizeof n);
  offset_ += total;
  used_ += total;
  last_ = h + kHeader;
  return last_;
}

void* ParseArena::reallocate(void* p, size_t n) {
  size_t old = header_size(p);
  if (p == last_) {
    // The newest allocation grows or shrinks in place while its block has room.
    size_t old_total = kHeader + round16(old), total = kHeader + round16(n);
    size_t start = offset_ - old_total;
    bool within_cap = total <= old_total || used_ + (total - old_total) <= cap_;
    if (start + total <= blocks_[current_].size && within_cap) {
      FC_UNPOISON(last_ - kHeader, total);
      if (total < old_total) FC_POISON(last_ - kHeader + total, old_total - total);
      std::memcpy(last_ - kHeader, &n, sizeof n);
      offset_ = start + total;
      used_ = used_ - old_total + total;
      return p;
    }
  }
  void* q = allocate(n);
  if (q) std::memcpy(q, p, std::min(old, n));
  return q;
}

void ParseArena::release(void* p) {
  if (p != last_) return;  // freed with the arena
  size_t total = kHeader + round16(header_size(p));
  offset_ -= total;
  used_ -= total;
  FC_POISON(last_ - kHeader, total);
  last_ = nullptr;
}

void ParseArena::reset() {
  size_t kept = 0, total = 0;
  while (kept < blocks_.size() && total + blocks_[kept].size <= kRetained) {
    total += blocks_[kept].size;
    FC_POISON(blocks_[kept].data.get(), blocks_[kept].size);
    ++kept;
  }
  for (size_t i = kept; i < blocks_.size(); ++i) FC_UNPOISON(blocks_[i].data.get(), blocks_[i].size);
  blocks_.resize(kept);  // the further blocks of an unusual parse are given back
  current_ = 0;
  offset_ = 0;
  last_ = nullptr;
  used_ = 0;
  spilled_ = false;
}

}  // namespace fc
