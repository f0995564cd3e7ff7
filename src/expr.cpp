// Recursive-descent parser mirroring _pytest/mark/expression.py:
//   expression: expr? EOF
//   expr:       and_expr ('or' and_expr)*
//   and_expr:   not_expr ('and' not_expr)*
//   not_expr:   'not' not_expr | '(' expr ')' | ident kwargs?
//   kwargs:     '(' name '=' value (',' name '=' value)* ')'
#include "expr.h"

#include <cctype>

namespace fc {
namespace {

enum class Tok { LParen, RParen, Or, And, Not, Ident, Eof, Equal, String, Comma };

struct Token {
  Tok type;
  std::string value;
};

bool ident_char(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == ':' || c == '+' || c == '-' || c == '.' || c == '[' ||
         c == ']' || c == '\\' || c == '/';
}

bool lex(const std::string& in, std::vector<Token>& out, std::string& err) {
  size_t pos = 0;
  for (unsigned char c : in) {
    if (c >= 0x80) {
      err = "non-ASCII expression";
      return false;
    }
  }
  while (pos < in.size()) {
    char c = in[pos];
    if (c == ' ' || c == '\t') {
      ++pos;
    } else if (c == '(') {
      out.push_back({Tok::LParen, "("});
      ++pos;
    } else if (c == ')') {
      out.push_back({Tok::RParen, ")"});
      ++pos;
    } else if (c == '=') {
      out.push_back({Tok::Equal, "="});
      ++pos;
    } else if (c == ',') {
      out.push_back({Tok::Comma, ","});
      ++pos;
    } else if (c == '\'' || c == '"') {
      size_t end = in.find(c, pos + 1);
      if (end == std::string::npos) {
        err = "closing quote is missing";
        return false;
      }
      if (in.find('\\') != std::string::npos) {
        err = "escaping not supported";
        return false;
      }
      out.push_back({Tok::String, in.substr(pos, end + 1 - pos)});
      pos = end + 1;
    } else if (ident_char(static_cast<unsigned char>(c))) {
      size_t end = pos;
      while (end < in.size() && ident_char(static_cast<unsigned char>(in[end]))) ++end;
      std::string v = in.substr(pos, end - pos);
      Tok t = v == "or" ? Tok::Or : v == "and" ? Tok::And : v == "not" ? Tok::Not : Tok::Ident;
      out.push_back({t, v});
      pos = end;
    } else {
      err = std::string("unexpected character ") + c;
      return false;
    }
  }
  out.push_back({Tok::Eof, ""});
  return true;
}

bool is_python_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_')) return false;
  return true;
}

bool is_python_keyword(const std::string& s) {
  static const char* kw[] = {"False", "None", "True", "and", "as", "assert", "async", "await",
                             "break", "class", "continue", "def", "del", "elif", "else", "except",
                             "finally", "for", "from", "global", "if", "import", "in", "is",
                             "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
                             "while", "with", "yield"};
  for (const char* k : kw)
    if (s == k) return true;
  return false;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}
  bool failed = false;
  bool kwargs_used = false;
  std::string err;

  std::unique_ptr<ExprNode> expression() {
    if (accept(Tok::Eof)) {
      auto n = std::make_unique<ExprNode>();
      n->kind = ExprNode::Const;
      n->value = false;
      return n;
    }
    auto r = expr(0);
    if (!failed && !accept(Tok::Eof)) fail("expected end of input");
    return r;
  }

 private:
  static constexpr int kMaxDepth = 500;
  std::vector<Token> t_;
  size_t i_ = 0;

  bool accept(Tok t) {
    if (failed || t_[i_].type != t) return false;
    if (t != Tok::Eof) ++i_;
    return true;
  }
  std::unique_ptr<ExprNode> fail(const std::string& why) {
    if (!failed) err = why;
    failed = true;
    return nullptr;
  }
  std::unique_ptr<ExprNode> bin(ExprNode::Kind k, std::unique_ptr<ExprNode> a, std::unique_ptr<ExprNode> b) {
    auto n = std::make_unique<ExprNode>();
    n->kind = k;
    n->lhs = std::move(a);
    n->rhs = std::move(b);
    return n;
  }
  std::unique_ptr<ExprNode> expr(int depth) {
    auto r = and_expr(depth);
    while (!failed && accept(Tok::Or)) r = bin(ExprNode::Or, std::move(r), and_expr(depth));
    return r;
  }
  std::unique_ptr<ExprNode> and_expr(int depth) {
    auto r = not_expr(depth);
    while (!failed && accept(Tok::And)) r = bin(ExprNode::And, std::move(r), not_expr(depth));
    return r;
  }
  std::unique_ptr<ExprNode> not_expr(int depth) {
    if (depth > kMaxDepth) return fail("expression nested too deeply");
    if (accept(Tok::Not)) {
      auto n = std::make_unique<ExprNode>();
      n->kind = ExprNode::Not;
      n->lhs = not_expr(depth + 1);
      return failed ? nullptr : std::move(n);
    }
    if (accept(Tok::LParen)) {
      auto r = expr(depth + 1);
      if (!accept(Tok::RParen)) return fail("expected right parenthesis");
      return r;
    }
    if (!failed && t_[i_].type == Tok::Ident) {
      auto n = std::make_unique<ExprNode>();
      n->kind = ExprNode::Ident;
      n->name = t_[i_++].value;
      n->lname = n->name;
      for (char& ch : n->lname)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
      if (accept(Tok::LParen)) {
        n->has_kwargs = true;
        kwargs_used = true;
        do {
          if (t_[i_].type != Tok::Ident) return fail("expected identifier");
          std::string key = t_[i_++].value;
          if (!is_python_identifier(key) || is_python_keyword(key)) return fail("bad keyword name");
          if (!accept(Tok::Equal)) return fail("expected =");
          std::string val;
          if (t_[i_].type == Tok::String) {
            val = t_[i_++].value;
          } else if (t_[i_].type == Tok::Ident) {
            val = t_[i_++].value;
            std::string digits = (!val.empty() && val[0] == '-') ? val.substr(1) : val;
            bool number = !digits.empty();
            for (unsigned char c : digits) number = number && std::isdigit(c);
            if (!number && val != "True" && val != "False" && val != "None") return fail("bad value");
          } else {
            return fail("expected value");
          }
          n->kwargs.emplace_back(key, val);
        } while (accept(Tok::Comma));
        if (!accept(Tok::RParen)) return fail("expected right parenthesis");
      }
      return n;
    }
    return fail("expected not, ( or identifier");
  }
};

Tri eval_node(const ExprNode& n, const std::function<Tri(const ExprNode&)>& ident) {
  switch (n.kind) {
    case ExprNode::Const:
      return n.value ? Tri::True : Tri::False;
    case ExprNode::Ident:
      return ident(n);
    case ExprNode::Not:
      return tri_not(eval_node(*n.lhs, ident));
    case ExprNode::And: {
      Tri a = eval_node(*n.lhs, ident);
      if (a == Tri::False) return a;
      return tri_and(a, eval_node(*n.rhs, ident));
    }
    case ExprNode::Or: {
      Tri a = eval_node(*n.lhs, ident);
      if (a == Tri::True) return a;
      return tri_or(a, eval_node(*n.rhs, ident));
    }
  }
  return Tri::Unknown;
}

}  // namespace

std::unique_ptr<Expression> Expression::parse(const std::string& input, std::string* error) {
  std::vector<Token> toks;
  std::string err;
  if (!lex(input, toks, err)) {
    if (error) *error = err;
    return nullptr;
  }
  Parser p(std::move(toks));
  auto root = p.expression();
  if (p.failed || !root) {
    if (error) *error = p.err;
    return nullptr;
  }
  auto e = std::make_unique<Expression>();
  e->root_ = std::move(root);
  e->uses_kwargs_ = p.kwargs_used;
  return e;
}

Tri Expression::eval(const std::function<Tri(const ExprNode&)>& ident) const {
  return eval_node(*root_, ident);
}

}  // namespace fc
