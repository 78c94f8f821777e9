#include "kpolicy/expression.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "kpolicy/limits.h"
#include "kpolicy/spelling.h"

namespace kpolicy {
namespace {

// ---- Lexing -----------------------------------------------------------------

enum class Tok { kEnd, kInt, kString, kName, kTrue, kFalse, kLParen, kRParen, kComma, kOp };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // operator spelling, name, or decoded string literal
  int64_t number = 0;
  int column = 0;    // 0-based offset into the expression text
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

struct SyntaxError {
  int column;
  std::string message;
};

Expected<std::vector<Token>, SyntaxError> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { ++i; continue; }
    Token t;
    t.column = static_cast<int>(i);
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t n = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        const int digit = s[i] - '0';
        if (n > (std::numeric_limits<int64_t>::max() - digit) / 10) {
          return Fail(SyntaxError{t.column, "integer literal is too large"});
        }
        n = n * 10 + digit;
        ++i;
      }
      if (i < s.size() && (IsNameStart(s[i]) || s[i] == '.')) {
        return Fail(SyntaxError{static_cast<int>(i), "unexpected '" + std::string(1, s[i]) +
                                                         "' after a number"});
      }
      t.kind = Tok::kInt;
      t.number = n;
    } else if (c == '"') {
      ++i;
      std::string text;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') { closed = true; ++i; break; }
        if (s[i] == '\\') {
          if (i + 1 >= s.size()) break;
          const char e = s[i + 1];
          if (e == '"' || e == '\\') text += e;
          else if (e == 'n') text += '\n';
          else if (e == 't') text += '\t';
          else return Fail(SyntaxError{static_cast<int>(i), std::string("unknown escape '\\") + e + "'"});
          i += 2;
          continue;
        }
        text += s[i++];
      }
      if (!closed) return Fail(SyntaxError{t.column, "string literal is not closed"});
      t.kind = Tok::kString;
      t.text = std::move(text);
    } else if (IsNameStart(c)) {
      size_t start = i;
      while (true) {
        while (i < s.size() && IsNameChar(s[i])) ++i;
        if (i + 1 < s.size() && s[i] == '.' && IsNameStart(s[i + 1])) { ++i; continue; }
        break;
      }
      t.text = std::string(s.substr(start, i - start));
      t.kind = t.text == "true" ? Tok::kTrue : t.text == "false" ? Tok::kFalse : Tok::kName;
    } else if (c == '(') { t.kind = Tok::kLParen; ++i; }
    else if (c == ')') { t.kind = Tok::kRParen; ++i; }
    else if (c == ',') { t.kind = Tok::kComma; ++i; }
    else {
      static constexpr std::string_view kTwo[] = {"&&", "||", "==", "!=", "<=", ">="};
      static constexpr std::string_view kOne = "!<>+-*/%";
      t.kind = Tok::kOp;
      for (std::string_view op : kTwo) {
        if (s.substr(i, 2) == op) { t.text = std::string(op); break; }
      }
      if (t.text.empty() && kOne.find(c) != std::string_view::npos) t.text = std::string(1, c);
      if (t.text.empty()) {
        std::string hint;
        if (c == '=') hint = " (comparison is '==')";
        if (c == '&') hint = " (logical and is '&&')";
        if (c == '|') hint = " (logical or is '||')";
        if (c == '\'') hint = " (strings take double quotes)";
        return Fail(SyntaxError{t.column, "unexpected character '" + std::string(1, c) + "'" + hint});
      }
      i += t.text.size();
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.column = static_cast<int>(s.size());
  out.push_back(end);
  return out;
}

// ---- Parsing into a syntax tree -------------------------------------------

struct Syntax {
  enum Kind { kInt, kString, kBool, kName, kUnary, kBinary, kCall } kind;
  std::string text;  // operator, name, function, or string literal
  int64_t number = 0;
  int column = 0;
  std::vector<int> kids;
  int height = 1;    // levels of the tree below and including this node
};

// Hostile-input guards: compiling and evaluating recurse over the tree, so
// its height is bounded whether it comes from parentheses or from a long
// flat chain such as 1+1+...+1.
constexpr int kMaxDepth = limits::kExpressionDepth;    // nested parentheses, unary operators, calls
constexpr int kMaxHeight = limits::kExpressionHeight;  // the tree as a whole

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Expected<int, SyntaxError> ParseAll() {
    auto root = ParseOr(0);
    if (!root.ok()) return root;
    if (Peek().kind != Tok::kEnd) {
      return Fail(SyntaxError{Peek().column, "unexpected " + Describe(Peek()) + " after the expression"});
    }
    return root;
  }
  std::vector<Syntax> TakeTree() { return std::move(tree_); }

 private:
  using Result = Expected<int, SyntaxError>;

  const Token& Peek() const { return tokens_[pos_]; }
  bool PeekOp(std::string_view op) const { return Peek().kind == Tok::kOp && Peek().text == op; }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "end of expression";
      case Tok::kInt: return "number " + std::to_string(t.number);
      case Tok::kString: return "string \"" + t.text + "\"";
      case Tok::kName: return "name '" + t.text + "'";
      case Tok::kTrue: return "'true'";
      case Tok::kFalse: return "'false'";
      case Tok::kLParen: return "'('";
      case Tok::kRParen: return "')'";
      case Tok::kComma: return "','";
      case Tok::kOp: return "'" + t.text + "'";
    }
    return "token";
  }

  Result Add(Syntax s) {
    for (int kid : s.kids) s.height = std::max(s.height, tree_[kid].height + 1);
    if (s.height > kMaxHeight) {
      return Fail(SyntaxError{s.column, "expression is too large: more than " +
                                            std::to_string(kMaxHeight) + " levels of operators"});
    }
    tree_.push_back(std::move(s));
    return static_cast<int>(tree_.size()) - 1;
  }
  Result Binary(const Token& op, int left, int right) {
    return Add({Syntax::kBinary, op.text, 0, op.column, {left, right}});
  }

  Result ParseOr(int depth) {
    auto left = ParseAnd(depth);
    while (left.ok() && PeekOp("||")) {
      Token op = tokens_[pos_++];
      auto right = ParseAnd(depth);
      if (!right.ok()) return right;
      left = Binary(op, *left, *right);
    }
    return left;
  }
  Result ParseAnd(int depth) {
    auto left = ParseComparison(depth);
    while (left.ok() && PeekOp("&&")) {
      Token op = tokens_[pos_++];
      auto right = ParseComparison(depth);
      if (!right.ok()) return right;
      left = Binary(op, *left, *right);
    }
    return left;
  }
  static bool IsComparison(const Token& t) {
    return t.kind == Tok::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                  t.text == "<=" || t.text == ">" || t.text == ">=");
  }
  Result ParseComparison(int depth) {
    auto left = ParseSum(depth);
    if (!left.ok() || !IsComparison(Peek())) return left;
    Token op = tokens_[pos_++];
    auto right = ParseSum(depth);
    if (!right.ok()) return right;
    if (IsComparison(Peek())) {
      return Fail(SyntaxError{Peek().column, "comparisons do not chain: use '&&' between them"});
    }
    return Binary(op, *left, *right);
  }
  Result ParseSum(int depth) {
    auto left = ParseProduct(depth);
    while (left.ok() && (PeekOp("+") || PeekOp("-"))) {
      Token op = tokens_[pos_++];
      auto right = ParseProduct(depth);
      if (!right.ok()) return right;
      left = Binary(op, *left, *right);
    }
    return left;
  }
  Result ParseProduct(int depth) {
    auto left = ParseUnary(depth);
    while (left.ok() && (PeekOp("*") || PeekOp("/") || PeekOp("%"))) {
      Token op = tokens_[pos_++];
      auto right = ParseUnary(depth);
      if (!right.ok()) return right;
      left = Binary(op, *left, *right);
    }
    return left;
  }
  Result ParseUnary(int depth) {
    if (depth > kMaxDepth) {
      return Fail(SyntaxError{Peek().column, "expression nests deeper than " +
                                                 std::to_string(kMaxDepth) + " levels"});
    }
    if (PeekOp("!") || PeekOp("-")) {
      Token op = tokens_[pos_++];
      auto operand = ParseUnary(depth + 1);
      if (!operand.ok()) return operand;
      return Add({Syntax::kUnary, op.text, 0, op.column, {*operand}});
    }
    return ParsePrimary(depth);
  }
  Result ParsePrimary(int depth) {
    Token t = tokens_[pos_];
    switch (t.kind) {
      case Tok::kInt: ++pos_; return Add({Syntax::kInt, "", t.number, t.column, {}});
      case Tok::kString: ++pos_; return Add({Syntax::kString, t.text, 0, t.column, {}});
      case Tok::kTrue: ++pos_; return Add({Syntax::kBool, "", 1, t.column, {}});
      case Tok::kFalse: ++pos_; return Add({Syntax::kBool, "", 0, t.column, {}});
      case Tok::kName: {
        ++pos_;
        if (Peek().kind != Tok::kLParen) return Add({Syntax::kName, t.text, 0, t.column, {}});
        ++pos_;
        Syntax call{Syntax::kCall, t.text, 0, t.column, {}};
        if (Peek().kind != Tok::kRParen) {
          while (true) {
            auto arg = ParseOr(depth + 1);
            if (!arg.ok()) return arg;
            call.kids.push_back(*arg);
            if (Peek().kind != Tok::kComma) break;
            ++pos_;
          }
        }
        if (Peek().kind != Tok::kRParen) {
          return Fail(SyntaxError{Peek().column, "expected ')' to close the call of " + t.text +
                                                     "(), found " + Describe(Peek())});
        }
        ++pos_;
        return Add(std::move(call));
      }
      case Tok::kLParen: {
        ++pos_;
        auto inner = ParseOr(depth + 1);
        if (!inner.ok()) return inner;
        if (Peek().kind != Tok::kRParen) {
          return Fail(SyntaxError{Peek().column, "expected ')', found " + Describe(Peek())});
        }
        ++pos_;
        return inner;
      }
      default:
        return Fail(SyntaxError{t.column, t.kind == Tok::kEnd ? "expression is incomplete"
                                                              : "unexpected " + Describe(t)});
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<Syntax> tree_;
};

}  // namespace

// ---- Type checking into the compiled form ----------------------------------

class ExpressionCompiler {
 public:
  ExpressionCompiler(const std::vector<Syntax>& tree, const TextLocations& where,
                     const SymbolTable& symbols, Expression& out)
      : tree_(tree), where_(where), symbols_(symbols), out_(out) {}

  // Compiles syntax node `i`; `hint` is the type the context wants, used to
  // read bare names as enum members. Returns the compiled node index.
  std::optional<int> Compile(int i, const Type* hint, Type& type) {
    std::optional<int> node = CompileNode(tree_[i], hint, type);
    // The node stands where its syntax does (a binary node at its
    // operator), so an evaluation that fails there says where.
    if (node && out_.nodes_[*node].column < 0) out_.nodes_[*node].column = tree_[i].column;
    return node;
  }

  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  using Op = Expression::Op;

  std::optional<int> CompileNode(const Syntax& s, const Type* hint, Type& type) {
    switch (s.kind) {
      case Syntax::kInt: type = Type::Int(); return Literal(Value::Int(s.number));
      case Syntax::kBool: type = Type::Bool(); return Literal(Value::Bool(s.number != 0));
      case Syntax::kString: type = Type::String(); return Literal(Value::String(s.text));
      case Syntax::kName: return CompileName(s, hint, type);
      case Syntax::kUnary: return CompileUnary(s, type);
      case Syntax::kBinary: return CompileBinary(s, type);
      case Syntax::kCall: return CompileCall(s, type);
    }
    return std::nullopt;
  }

  void Error(int column, std::string message) { diagnostics_.Error(where_.At(column), std::move(message)); }

  int Emit(Expression::Node node) {
    out_.nodes_.push_back(std::move(node));
    return static_cast<int>(out_.nodes_.size()) - 1;
  }
  int Literal(Value v) {
    Expression::Node n;
    n.op = Op::kLiteral;
    n.literal = std::move(v);
    return Emit(std::move(n));
  }

  std::optional<int> CompileName(const Syntax& s, const Type* hint, Type& type) {
    if (hint && hint->kind == TypeKind::kEnum) {
      if (auto member = hint->MemberIndex(s.text)) {
        type = *hint;
        return Literal(Value::Enum(*member));
      }
    }
    std::optional<Symbol> symbol = symbols_.Find(s.text);
    if (!symbol) {
      // Past the reported-error limit the message is never shown: no "did
      // you mean" search for it (an expression may hold a thousand names).
      std::vector<std::string> names;
      if (diagnostics_.error_count() < limits::kReportedErrors) names = symbols_.Names();
      if (hint && hint->kind == TypeKind::kEnum) {
        names.insert(names.end(), hint->members.begin(), hint->members.end());
        Error(s.column, "'" + s.text + "' is neither a name in scope nor a member of " +
                            hint->ToString() + DidYouMean(s.text, names));
      } else {
        Error(s.column, "unknown name '" + s.text + "'" + DidYouMean(s.text, names));
      }
      return std::nullopt;
    }
    type = *symbol->type;
    bool seen = false;
    for (int r : out_.reads_) seen |= (r == symbol->slot);
    if (!seen) out_.reads_.push_back(symbol->slot);
    Expression::Node n;
    n.op = Op::kSlot;
    n.slot = symbol->slot;
    return Emit(std::move(n));
  }

  std::optional<int> CompileUnary(const Syntax& s, Type& type) {
    Type operand_type;
    auto operand = Compile(s.kids[0], nullptr, operand_type);
    if (!operand) return std::nullopt;
    const bool is_not = s.text == "!";
    const TypeKind want = is_not ? TypeKind::kBool : TypeKind::kInt;
    if (operand_type.kind != want) {
      Error(s.column, "'" + s.text + "' needs " + (is_not ? "a bool" : "an int") + ", got " +
                          operand_type.ToString());
      return std::nullopt;
    }
    type = is_not ? Type::Bool() : Type::Int();
    Expression::Node n;
    n.op = is_not ? Op::kNot : Op::kNegate;
    n.left = *operand;
    return Emit(std::move(n));
  }

  bool IsUnknownName(int i) const {
    return tree_[i].kind == Syntax::kName && !symbols_.Find(tree_[i].text);
  }

  std::optional<int> CompileBinary(const Syntax& s, Type& type) {
    const std::string& op = s.text;
    Type lt, rt;
    std::optional<int> l, r;
    // A bare name on one side of == or != may be a member of the other
    // side's enum, so compile the known side first and pass its type on.
    if (IsUnknownName(s.kids[0]) && !IsUnknownName(s.kids[1])) {
      r = Compile(s.kids[1], nullptr, rt);
      l = Compile(s.kids[0], r ? &rt : nullptr, lt);
    } else {
      l = Compile(s.kids[0], nullptr, lt);
      r = Compile(s.kids[1], l ? &lt : nullptr, rt);
    }
    if (!l || !r) return std::nullopt;

    Expression::Node n;
    n.left = *l;
    n.right = *r;
    auto need = [&](TypeKind kind, const char* what) {
      if (lt.kind == kind && rt.kind == kind) return true;
      Error(s.column, "'" + op + "' needs " + what + " operands, got " + lt.ToString() + " and " +
                          rt.ToString());
      return false;
    };
    if (op == "&&" || op == "||") {
      if (!need(TypeKind::kBool, "bool")) return std::nullopt;
      n.op = op == "&&" ? Op::kAnd : Op::kOr;
      type = Type::Bool();
    } else if (IsComparison(op) && IsVersionComparison(lt, rt)) {
      if (!CheckVersionLiteral(s.kids[0], *l) || !CheckVersionLiteral(s.kids[1], *r)) return std::nullopt;
      n.op = VersionOp(op);
      type = Type::Bool();
    } else if (op == "==" || op == "!=") {
      if (!lt.ComparableWith(rt)) {
        Error(s.column, "'" + op + "' compares values of one type, got " + lt.ToString() +
                            " and " + rt.ToString());
        return std::nullopt;
      }
      const bool text = lt.kind == TypeKind::kString;
      n.op = op == "==" ? (text ? Op::kTextEqual : Op::kEqual)
                        : (text ? Op::kTextNotEqual : Op::kNotEqual);
      type = Type::Bool();
    } else if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      if (!need(TypeKind::kInt, "int")) return std::nullopt;
      n.op = op == "<" ? Op::kLess : op == "<=" ? Op::kLessEqual : op == ">" ? Op::kGreater
                                                                             : Op::kGreaterEqual;
      type = Type::Bool();
    } else if (op == "+" && lt.kind == TypeKind::kString && rt.kind == TypeKind::kString) {
      n.op = Op::kConcat;
      type = Type::String();
    } else {
      if (op == "+" && (lt.kind == TypeKind::kString || rt.kind == TypeKind::kString)) {
        Error(s.column, "'+' joins two strings or adds two ints, got " + lt.ToString() + " and " +
                            rt.ToString() + " (str() turns an int into a string)");
        return std::nullopt;
      }
      if (!need(TypeKind::kInt, "int")) return std::nullopt;
      n.op = op == "+" ? Op::kAdd : op == "-" ? Op::kSubtract : op == "*" ? Op::kMultiply
             : op == "/" ? Op::kDivide : Op::kModulo;
      type = Type::Int();
    }
    return Emit(std::move(n));
  }

  static bool IsComparison(const std::string& op) {
    return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
  }
  // A version on one side and a version or a string on the other: the
  // string is read as a version ("570.207").
  static bool IsVersionComparison(const Type& a, const Type& b) {
    auto versionish = [](const Type& t) { return t.kind == TypeKind::kVersion || t.kind == TypeKind::kString; };
    return (a.kind == TypeKind::kVersion || b.kind == TypeKind::kVersion) && versionish(a) && versionish(b);
  }
  static Op VersionOp(const std::string& op) {
    if (op == "==") return Op::kVersionEqual;
    if (op == "!=") return Op::kVersionNotEqual;
    if (op == "<") return Op::kVersionLess;
    if (op == "<=") return Op::kVersionLessEqual;
    if (op == ">") return Op::kVersionGreater;
    return Op::kVersionGreaterEqual;
  }
  // A string literal compared with a version must be one, found at load.
  bool CheckVersionLiteral(int syntax, int node) {
    const Expression::Node& n = out_.nodes_[node];
    if (n.op != Op::kLiteral || tree_[syntax].kind != Syntax::kString || IsVersionText(n.literal.text)) return true;
    Error(tree_[syntax].column, "\"" + n.literal.text + "\" is not a version: digits separated by dots, e.g. \"570.207\"");
    return false;
  }

  // min(a, b, ...), max(a, b, ...) and clamp(x, lo, hi): ints only; min and
  // max fold left into binary nodes.
  std::optional<int> CompileIntFunction(const Syntax& s, Type& type) {
    const bool clamp = s.text == "clamp";
    if (clamp ? s.kids.size() != 3 : s.kids.size() < 2) {
      Error(s.column, s.text + (clamp ? "() takes 3 arguments (x, lo, hi), got " : "() takes 2 or more arguments, got ") +
                          std::to_string(s.kids.size()));
      return std::nullopt;
    }
    std::vector<int> args;
    for (int kid : s.kids) {
      Type arg_type;
      auto arg = Compile(kid, nullptr, arg_type);
      if (!arg) return std::nullopt;
      if (arg_type.kind != TypeKind::kInt) {
        Error(tree_[kid].column, s.text + "() takes ints, got " + arg_type.ToString());
        return std::nullopt;
      }
      args.push_back(*arg);
    }
    type = Type::Int();
    Expression::Node n;
    if (clamp) {
      n.op = Op::kClamp;
      n.left = args[0];
      n.right = args[1];
      n.third = args[2];
      return Emit(std::move(n));
    }
    int folded = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      Expression::Node pair;
      pair.op = s.text == "min" ? Op::kMin : Op::kMax;
      pair.left = folded;
      pair.right = args[i];
      folded = Emit(std::move(pair));
    }
    return folded;
  }

  std::optional<int> CompileCall(const Syntax& s, Type& type) {
    struct Function { const char* name; TypeKind argument; TypeKind result; Op op; };
    static constexpr Function kFunctions[] = {
        {"str", TypeKind::kInt, TypeKind::kString, Op::kToString},
        {"int", TypeKind::kString, TypeKind::kInt, Op::kToInt},
        {"version", TypeKind::kString, TypeKind::kVersion, Op::kToVersion},
    };
    if (s.text == "min" || s.text == "max" || s.text == "clamp") return CompileIntFunction(s, type);
    const Function* f = nullptr;
    for (const Function& candidate : kFunctions) {
      if (s.text == candidate.name) f = &candidate;
    }
    if (!f) {
      Error(s.column, "unknown function '" + s.text + "'" +
                          DidYouMean(s.text, {"str", "int", "version", "min", "max", "clamp"}) +
                          "; the functions are str(int), int(string), version(string), min, max and clamp");
      return std::nullopt;
    }
    if (s.kids.size() != 1) {
      Error(s.column, std::string(f->name) + "() takes 1 argument, got " +
                          std::to_string(s.kids.size()));
      return std::nullopt;
    }
    Type arg_type;
    auto arg = Compile(s.kids[0], nullptr, arg_type);
    if (!arg) return std::nullopt;
    if (arg_type.kind != f->argument) {
      Error(tree_[s.kids[0]].column, std::string(f->name) + "() takes " +
                                         (f->argument == TypeKind::kInt ? "an int" : "a string") +
                                         ", got " + arg_type.ToString());
      return std::nullopt;
    }
    type = Type{f->result, {}};
    Expression::Node n;
    n.op = f->op;
    n.left = *arg;
    return Emit(std::move(n));
  }

  const std::vector<Syntax>& tree_;
  const TextLocations& where_;
  const SymbolTable& symbols_;
  Expression& out_;
  Diagnostics diagnostics_;
};

SourceLocation TextLocations::At(int offset) const {
  SourceLocation at = start_;
  if (offset >= 0 && static_cast<size_t>(offset) < line_column_.size()) {
    at.line = line_column_[offset].first;
    at.column = line_column_[offset].second;
  } else if (!line_column_.empty()) {  // just past the end
    at.line = line_column_.back().first;
    at.column = line_column_.back().second + 1;
  } else if (at.column > 0) {
    at.column += offset;
  }
  return at;
}

Checked<Expression> Expression::Compile(std::string_view text, const TextLocations& where,
                                        const SymbolTable& symbols, const Type* expected) {
  auto error_at = [&](int column, std::string message) {
    Diagnostics d;
    d.Error(where.At(column), std::move(message));
    return d;
  };
  auto tokens = Lex(text);
  if (!tokens.ok()) return Fail(error_at(tokens.error().column, tokens.error().message));
  if (tokens->size() == 1) return Fail(error_at(0, "expression is empty"));
  Parser parser(std::move(tokens).value());
  auto root = parser.ParseAll();
  if (!root.ok()) return Fail(error_at(root.error().column, root.error().message));
  std::vector<Syntax> tree = parser.TakeTree();

  Expression expr;
  expr.text_ = std::string(text);
  expr.place_ = where.At(0);
  expr.where_ = where;
  ExpressionCompiler compiler(tree, where, symbols, expr);
  Type type;
  std::optional<int> compiled = compiler.Compile(*root, expected, type);
  if (!compiled) {
    compiler.diagnostics().SortByLocation();
    return Fail(std::move(compiler.diagnostics()));
  }
  if (expected && !type.ComparableWith(*expected)) {
    return Fail(error_at(0, "expected " + expected->ToString() + ", but '" + expr.text_ +
                                "' is " + type.ToString()));
  }
  expr.root_ = *compiled;
  expr.type_ = expected ? *expected : type;
  if (auto failure = expr.FailingConstantPart()) {
    Diagnostics d;
    d.Error(failure->place, "this always fails, whatever the device: " + failure->message);
    return Fail(std::move(d));
  }
  if (expr.reads_.empty()) expr.constant_ = expr.Evaluate({}).value();
  return expr;
}

// The largest parts that read no slot (the whole expression, or an operand
// of a part that reads one) have one value each; computing them now finds
// the ones that fail on every evaluation: `1 / 0`, `int("lots")`, an
// overflow. Parts a short circuit skips (`false && 1 / 0 > 0`) are not
// computed here either.
std::optional<Error> Expression::FailingConstantPart() const {
  // Children come before their parents in nodes_, so one forward pass
  // knows, for each node, whether anything under it reads a slot.
  std::vector<bool> reads_slot(nodes_.size(), false);
  std::vector<int> parent(nodes_.size(), -1);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    reads_slot[i] = n.op == Op::kSlot;
    for (int kid : {n.left, n.right, n.third}) {
      if (kid < 0) continue;
      reads_slot[i] = reads_slot[i] || reads_slot[kid];
      parent[kid] = static_cast<int>(i);
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const bool largest = parent[i] < 0 ? static_cast<int>(i) == root_ : reads_slot[parent[i]];
    if (reads_slot[i] || !largest) continue;
    auto value = EvaluateNode(static_cast<int>(i), {}, nullptr);
    if (!value.ok()) return std::move(value).error();
  }
  return std::nullopt;
}

std::vector<std::string> Expression::NamesIn(std::string_view text) {
  auto tokens = Lex(text);
  std::vector<std::string> out;
  if (!tokens.ok()) return out;
  std::set<std::string> seen;
  for (size_t i = 0; i + 1 < tokens->size(); ++i) {
    const Token& t = (*tokens)[i];
    if (t.kind != Tok::kName || (*tokens)[i + 1].kind == Tok::kLParen) continue;
    if (seen.insert(t.text).second) out.push_back(t.text);
  }
  return out;
}

std::vector<Expression::Comparison> Expression::ComparedLiterals() const {
  auto is_comparison = [](Op op) {
    switch (op) {
      case Op::kEqual: case Op::kNotEqual: case Op::kLess: case Op::kLessEqual: case Op::kGreater:
      case Op::kGreaterEqual: case Op::kTextEqual: case Op::kTextNotEqual: case Op::kVersionEqual:
      case Op::kVersionNotEqual: case Op::kVersionLess: case Op::kVersionLessEqual: case Op::kVersionGreater:
      case Op::kVersionGreaterEqual:
        return true;
      default:
        return false;
    }
  };
  // The slot a side reads directly or through int()/version(), if any.
  auto slot_of = [&](int index, bool& through_int) -> int {
    const Node& n = nodes_[index];
    through_int = false;
    if (n.op == Op::kSlot) return n.slot;
    if ((n.op == Op::kToInt || n.op == Op::kToVersion) && nodes_[n.left].op == Op::kSlot) {
      through_int = n.op == Op::kToInt;
      return nodes_[n.left].slot;
    }
    return -1;
  };
  std::vector<Comparison> out;
  for (const Node& n : nodes_) {
    if (!is_comparison(n.op)) continue;
    for (auto [side, other] : {std::pair{n.left, n.right}, std::pair{n.right, n.left}}) {
      if (nodes_[other].op != Op::kLiteral) continue;
      bool through_int = false;
      const int slot = slot_of(side, through_int);
      if (slot >= 0) out.push_back({slot, nodes_[other].literal, through_int});
    }
  }
  return out;
}

// ---- Evaluation -------------------------------------------------------------

static Expected<int64_t> ParseDecimal(const std::string& text) {
  // Decimal digits with an optional sign, nothing else: "+5" and "05" are 5,
  // " 5" and "5x" are not numbers.
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return Fail(ErrorCode::kInvalidInput, "int(\"" + text + "\"): not a decimal integer");
  // The magnitude of INT64_MIN is one more than INT64_MAX.
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  uint64_t n = 0;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Fail(ErrorCode::kInvalidInput, "int(\"" + text + "\"): not a decimal integer");
    }
    const unsigned digit = static_cast<unsigned>(text[i] - '0');
    if (n > (limit - digit) / 10) return Fail(ErrorCode::kInvalidInput, "int(\"" + text + "\"): out of the 64-bit range");
    n = n * 10 + digit;
  }
  if (!negative) return static_cast<int64_t>(n);
  return n == limit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(n);
}

Unexpected<Error> Expression::Failure(const Node& n, std::string message) const {
  return Fail(ErrorCode::kInvalidInput, n.column >= 0 ? where_.At(n.column) : place_, std::move(message));
}

Expected<Value> Expression::Evaluate(const std::vector<Value>& slots, EvaluationBudget* budget) const {
  if (root_ < 0) return Fail(ErrorCode::kInternal, "evaluating an expression that was never compiled");
  return EvaluateNode(root_, slots, budget);
}

Expected<Value> Expression::EvaluateNode(int index, const std::vector<Value>& slots, EvaluationBudget* budget) const {
  const Node& n = nodes_[index];
  if (budget) {
    // A node's own work, and the string it copies: a slot or literal is
    // copied whole, '+' and str() build one of at most the operands' size.
    size_t bytes = 0;
    if (n.op == Op::kLiteral) bytes = n.literal.text.size();
    if (n.op == Op::kSlot) bytes = slots[n.slot].text.size();
    if (!budget->Spend(1 + EvaluationBudget::ForBytes(bytes))) return Failure(n, "stopped: " + budget->Message());
  }
  switch (n.op) {
    case Op::kLiteral: return n.literal;
    case Op::kSlot: return slots[n.slot];
    case Op::kAnd:
    case Op::kOr: {
      auto l = EvaluateNode(n.left, slots, budget);
      if (!l.ok()) return l;
      // Short-circuit, so `x != 0 && 100 / x > 3` is safe.
      if ((n.op == Op::kAnd) != (l->number != 0)) return l;
      return EvaluateNode(n.right, slots, budget);
    }
    default: break;
  }
  auto l = EvaluateNode(n.left, slots, budget);
  if (!l.ok()) return l;
  const int64_t a = l->number;
  switch (n.op) {
    case Op::kNot: return Value::Bool(a == 0);
    case Op::kNegate:
      if (a == std::numeric_limits<int64_t>::min()) return Failure(n, "integer overflow");
      return Value::Int(-a);
    case Op::kToString: return Value::String(std::to_string(a));
    case Op::kToInt: {
      auto parsed = ParseDecimal(l->text);
      if (!parsed.ok()) return Failure(n, parsed.error().message);
      return Value::Int(*parsed);
    }
    case Op::kToVersion:
      // "" stays unknown; anything else must be a version.
      if (!l->text.empty() && !IsVersionText(l->text)) {
        return Failure(n, "version(\"" + l->text + "\"): not a version (digits separated by dots)");
      }
      return l;
    default: break;
  }
  auto r = EvaluateNode(n.right, slots, budget);
  if (!r.ok()) return r;
  const int64_t b = r->number;
  int64_t result = 0;
  switch (n.op) {
    case Op::kMin: return Value::Int(std::min(a, b));
    case Op::kMax: return Value::Int(std::max(a, b));
    case Op::kClamp: {
      auto hi = EvaluateNode(n.third, slots, budget);
      if (!hi.ok()) return hi;
      if (b > hi->number) {
        return Failure(n, "clamp(): lower bound " + std::to_string(b) + " is above upper bound " +
                       std::to_string(hi->number));
      }
      return Value::Int(std::clamp(a, b, hi->number));
    }
    case Op::kVersionEqual:
    case Op::kVersionNotEqual:
    case Op::kVersionLess:
    case Op::kVersionLessEqual:
    case Op::kVersionGreater:
    case Op::kVersionGreaterEqual: {
      auto c = CompareVersions(l->text, r->text);
      if (!c.ok()) return Failure(n, c.error().message);
      switch (n.op) {
        case Op::kVersionEqual: return Value::Bool(*c == 0);
        case Op::kVersionNotEqual: return Value::Bool(*c != 0);
        case Op::kVersionLess: return Value::Bool(*c < 0);
        case Op::kVersionLessEqual: return Value::Bool(*c <= 0);
        case Op::kVersionGreater: return Value::Bool(*c > 0);
        default: return Value::Bool(*c >= 0);
      }
    }
    case Op::kEqual: return Value::Bool(a == b);
    case Op::kNotEqual: return Value::Bool(a != b);
    case Op::kLess: return Value::Bool(a < b);
    case Op::kLessEqual: return Value::Bool(a <= b);
    case Op::kGreater: return Value::Bool(a > b);
    case Op::kGreaterEqual: return Value::Bool(a >= b);
    case Op::kTextEqual: return Value::Bool(l->text == r->text);
    case Op::kTextNotEqual: return Value::Bool(l->text != r->text);
    case Op::kConcat:
      if (l->text.size() + r->text.size() > limits::kStringBytes) {
        return Failure(n, "'+' would build a string of " + std::to_string(l->text.size() + r->text.size()) +
                              " bytes; the limit is " + std::to_string(limits::kStringBytes));
      }
      if (budget && !budget->Spend(EvaluationBudget::ForBytes(l->text.size() + r->text.size()))) {
        return Failure(n, "stopped: " + budget->Message());
      }
      return Value::String(l->text + r->text);
    case Op::kAdd:
      if (__builtin_add_overflow(a, b, &result)) return Failure(n, "integer overflow");
      return Value::Int(result);
    case Op::kSubtract:
      if (__builtin_sub_overflow(a, b, &result)) return Failure(n, "integer overflow");
      return Value::Int(result);
    case Op::kMultiply:
      if (__builtin_mul_overflow(a, b, &result)) return Failure(n, "integer overflow");
      return Value::Int(result);
    case Op::kDivide:
    case Op::kModulo:
      if (b == 0) return Failure(n, "division by zero");
      if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        return Failure(n, "integer overflow");
      }
      return Value::Int(n.op == Op::kDivide ? a / b : a % b);
    default: break;
  }
  return Failure(n, "unknown operation");
}

}  // namespace kpolicy
