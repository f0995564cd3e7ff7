// Bump allocation for one parse. tree-sitter allocates every subtree, stack
// node and array of a parse separately; served from a few large blocks of
// the parsing thread and dropped together afterwards, a parse costs no
// malloc/free pairs and its tree needs no walk to be freed.
//
// The allocator is installed once for the process (ts_set_allocator). A
// thread without an active arena, and any pointer no arena owns, goes to
// malloc/free as before, so objects made outside an arena stay valid.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace fc {

class ParseArena {
 public:
  // Past this many bytes in one parse, allocations go to malloc (and the
  // tree must then be freed the usual way: see spilled()).
  static constexpr size_t kDefaultCap = size_t{64} << 20;
  explicit ParseArena(size_t cap = kDefaultCap);
  ~ParseArena();
  ParseArena(const ParseArena&) = delete;
  ParseArena& operator=(const ParseArena&) = delete;

  // While an Activation lives, tree-sitter's allocations on this thread come from
  // the arena; when it ends, everything allocated in it is gone. Objects
  // made inside (parser, tree, cursors) must not outlive the Activation.
  class Activation {
   public:
    explicit Activation(ParseArena& a);
    ~Activation();
    Activation(const Activation&) = delete;
    Activation& operator=(const Activation&) = delete;

   private:
    ParseArena& arena_;
    ParseArena* previous_;
  };

  // Some allocation of this parse went to malloc: its objects must be freed
  // with tree-sitter's own delete functions before the Activation ends.
  bool spilled() const { return spilled_; }
  // Bytes handed out in the current parse (for tests).
  size_t used() const { return used_; }

  void* allocate(size_t n);
  void* reallocate(void* p, size_t n);
  void release(void* p);
  bool owns(const void* p) const;

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  void reset();
  void grow(size_t need);

  std::vector<Block> blocks_;
  size_t current_ = 0;  // block that allocations come from
  size_t offset_ = 0;   // bytes used in that block
  char* last_ = nullptr;  // most recent allocation (can grow or shrink in place)
  size_t used_ = 0;
  size_t cap_;
  bool spilled_ = false;
};

}  // namespace fc
