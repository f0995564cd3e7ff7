// pytest's -k / -m match-expression grammar, evaluated in three-valued logic.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fc {

enum class Tri : uint8_t { False = 0, Unknown = 1, True = 2 };

inline Tri tri_not(Tri a) {
  return a == Tri::Unknown ? Tri::Unknown : (a == Tri::True ? Tri::False : Tri::True);
}
inline Tri tri_and(Tri a, Tri b) { return a < b ? a : b; }
inline Tri tri_or(Tri a, Tri b) { return a < b ? b : a; }

struct ExprNode {
  enum Kind : uint8_t { Const, Ident, Not, And, Or } kind = Const;
  bool value = false;            // Const
  std::string name;              // Ident
  std::string lname;             // Ident, ASCII-lowercased (for -k matching)
  bool has_kwargs = false;       // Ident: name(key=value, ...)
  std::vector<std::pair<std::string, std::string>> kwargs;  // raw value text
  std::unique_ptr<ExprNode> lhs, rhs;
};

class Expression {
 public:
  // Parses like pytest's Expression.compile. Returns nullptr when the input is
  // not something this engine fully understands (including pytest syntax
  // errors and any non-ASCII input); callers then decide nothing.
  static std::unique_ptr<Expression> parse(const std::string& input, std::string* error = nullptr);

  // Three-valued evaluation; `ident` answers for one identifier.
  Tri eval(const std::function<Tri(const ExprNode&)>& ident) const;
  bool uses_kwargs() const { return uses_kwargs_; }
  const ExprNode& root() const { return *root_; }

 private:
  std::unique_ptr<ExprNode> root_;
  bool uses_kwargs_ = false;
};

}  // namespace fc
