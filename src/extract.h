// Fact extraction from Python source with tree-sitter.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <tree_sitter/api.h>

#include "arena.h"
#include "facts.h"

namespace fc {

// Grammar ABI versions the linked tree-sitter runtime can read.
int min_language_version();
int max_language_version();
bool language_supported(const TSLanguage* lang);

struct ParserDeleter {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};
using ParserPtr = std::unique_ptr<TSParser, ParserDeleter>;

// One per thread; reusable across files. Each file is parsed in the
// extractor's arena (a parser and a tree made and dropped with it).
class Extractor {
 public:
  // arena_cap: bytes one parse may take from the arena before it spills
  // into malloc (tests make it small to exercise that path).
  explicit Extractor(const TSLanguage* lang, size_t arena_cap = ParseArena::kDefaultCap);
  // Facts of one source file. Never throws on bad input: a source that cannot be
  // parsed yields syntax_error = true.
  FileFacts extract(std::string_view source);

 private:
  const TSLanguage* lang_;
  ParseArena arena_;
};

}  // namespace fc
