// libFuzzer: fact extraction on arbitrary bytes; facts must round-trip the
// index encoding, must not depend on the parse arena's size, and decoding
// arbitrary bytes must never misbehave.
#include <cstddef>
#include <cstdint>
#include <string>

#include "extract.h"
#include "facts.h"
#include "index.h"

extern "C" const TSLanguage* tree_sitter_python(void);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fc::Extractor ex(tree_sitter_python());
  // An arena so small that most parses spill into malloc part-way: the
  // facts must not depend on where that happens.
  static fc::Extractor tight(tree_sitter_python(), 4096);
  std::string_view src(reinterpret_cast<const char*>(data), size);
  fc::FileFacts f = ex.extract(src);
  std::string enc = fc::encode_facts(f);
  if (fc::encode_facts(tight.extract(src)) != enc) __builtin_trap();
  fc::FileFacts back;
  if (!fc::decode_facts(enc.data(), enc.size(), back)) __builtin_trap();
  if (fc::encode_facts(back) != enc) __builtin_trap();
  // The same bytes as a stored facts blob and as a stored record.
  fc::decode_facts(src.data(), src.size(), back);
  fc::RecordView rv;
  fc::decode_record(src.data(), src.size(), rv);
  return 0;
}
