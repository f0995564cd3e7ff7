// libFuzzer: the -k/-m expression parser and evaluator on arbitrary input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto e = fc::Expression::parse(s);
  if (!e) return 0;
  size_t n = 0;
  fc::Tri r = e->eval([&](const fc::ExprNode& node) {
    ++n;
    return static_cast<fc::Tri>((node.name.size() + n) % 3);
  });
  if (static_cast<int>(r) > 2) __builtin_trap();
  return 0;
}
