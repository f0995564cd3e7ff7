// Prints one line per Python file named on standard input: the xxh3-64 of its
// encoded facts, then the path. Two builds that must extract the same facts
// (a faster walk, a new allocator) are compared by diffing their output over
// a large corpus:
//   find /usr/lib/python3 -name '*.py' | build/cpp/fc_facts_dump > a.txt
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <xxhash.h>

#include "extract.h"
#include "facts.h"
#include "grammar.h"

int main() {
  fc::Extractor ex(tree_sitter_python());
  std::string path;
  while (std::getline(std::cin, path)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::printf("unreadable %s\n", path.c_str());
      continue;
    }
    std::string src((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string enc = fc::encode_facts(ex.extract(src));
    std::printf("%016" PRIx64 " %s\n", static_cast<uint64_t>(XXH3_64bits(enc.data(), enc.size())), path.c_str());
  }
  return 0;
}
