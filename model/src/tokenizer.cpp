// Tokenizer: encoding (special-token cut, then byte-level BPE or
// SentencePiece BPE) and decoding. The tables come from tokenizer_gguf.cpp.
#include "kpolicy/model/tokenizer.h"

#include <algorithm>
#include <optional>
#include <queue>

#include "tokenizer_tables.h"
#include "unicode_text.h"

namespace kpolicy::model {
namespace {

// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's stand-in for a space.
constexpr std::string_view kSpaceMark = "\xE2\x96\x81";

// ---- The merge loop both BPE flavours share -------------------------------

// A run of bytes [start, start + length) of the text being encoded, and the
// token it is (-1: a single character that is no token). Symbols form a
// doubly linked list in text order; a merged-away symbol has length 0.
struct Symbol {
  uint32_t start;
  uint32_t length;
  int32_t id;
  int32_t prev;
  int32_t next;
};

struct Candidate {
  double priority;  // higher merges first
  int32_t left;     // symbol index; the right one is symbols[left].next
  int32_t right;
  int32_t result;
  uint32_t length;  // left + right length when the candidate was made
};

struct CandidateOrder {
  // std::priority_queue pops the greatest: highest priority, then leftmost
  // (both llama.cpp's and SentencePiece's tie break).
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.left > b.left;
  }
};

struct MergeProposal {
  double priority;
  int32_t result;
};

// Merges adjacent symbols while `propose(left, right)` offers a merge, best
// first. A candidate whose symbols changed since it was queued is dropped:
// symbols only grow, so a changed length sum is exact evidence.
template <typename Propose>
void MergeSymbols(std::vector<Symbol>& symbols, const Propose& propose) {
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue;
  auto offer = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    if (std::optional<MergeProposal> p = propose(symbols[left], symbols[right])) {
      queue.push({p->priority, left, right, p->result, symbols[left].length + symbols[right].length});
    }
  };
  for (size_t i = 1; i < symbols.size(); ++i) offer(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.length == 0 || right.length == 0 || left.next != c.right || left.length + right.length != c.length) {
      continue;
    }
    left.length += right.length;
    left.id = c.result;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    offer(left.prev, c.left);
    offer(c.left, left.next);
  }
}

// ---- Byte-level BPE ---------------------------------------------------------

void EncodeByteLevelPiece(const Tokenizer::Tables& t, std::string_view piece, std::vector<int32_t>& out) {
  std::vector<Symbol> symbols(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    const int32_t last = static_cast<int32_t>(piece.size()) - 1;
    const int32_t index = static_cast<int32_t>(i);
    symbols[i] = {static_cast<uint32_t>(i), 1, t.byte_tokens[static_cast<unsigned char>(piece[i])], index - 1,
                  index == last ? -1 : index + 1};
  }
  MergeSymbols(symbols, [&](const Symbol& left, const Symbol& right) -> std::optional<MergeProposal> {
    const auto it = t.merges.find(MergeKey(left.id, right.id));
    if (it == t.merges.end()) return std::nullopt;
    return MergeProposal{-static_cast<double>(it->second.rank), it->second.result};
  });
  for (int32_t i = 0; i >= 0 && !symbols.empty(); i = symbols[i].next) {
    if (symbols[i].id >= 0) out.push_back(symbols[i].id);  // -1: a byte with no piece
  }
}

void EncodeByteLevel(const Tokenizer::Tables& t, std::string_view text, std::vector<int32_t>& out) {
  for (std::string_view piece : PreTokenize(text, t.pre)) EncodeByteLevelPiece(t, piece, out);
}

// ---- SentencePiece BPE ------------------------------------------------------

std::string EscapeSpaces(std::string_view text, bool add_prefix) {
  std::string escaped;
  escaped.reserve(text.size() + text.size() / 4 + 3);
  if (add_prefix) escaped += kSpaceMark;
  for (char c : text) {
    if (c == ' ') {
      escaped += kSpaceMark;
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

int32_t FindPiece(const Tokenizer::Tables& t, std::string_view piece) {
  const auto it = t.ids.find(piece);
  return it == t.ids.end() ? -1 : it->second;
}

void EncodeSentencePiece(const Tokenizer::Tables& t, std::string_view text, bool add_prefix,
                         std::vector<int32_t>& out) {
  const std::string escaped = EscapeSpaces(text, add_prefix);
  const std::string_view view(escaped);
  std::vector<Symbol> symbols;
  symbols.reserve(view.size());
  for (size_t pos = 0; pos < view.size();) {
    const size_t length = DecodeUtf8(view, pos).length;
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(length),
                       FindPiece(t, view.substr(pos, length)), index - 1, index + 1});
    pos += length;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  // Symbols are contiguous, so a pair's text is one slice of the text.
  MergeSymbols(symbols, [&](const Symbol& left, const Symbol& right) -> std::optional<MergeProposal> {
    const int32_t id = FindPiece(t, view.substr(left.start, left.length + right.length));
    if (id < 0) return std::nullopt;
    return MergeProposal{t.scores[id], id};
  });
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    // A character that is no token: its bytes (byte fallback).
    for (uint32_t b = s.start; b < s.start + s.length; ++b) {
      const int32_t byte_token = t.byte_tokens[static_cast<unsigned char>(view[b])];
      out.push_back(byte_token >= 0 ? byte_token : t.unk);
    }
  }
}

// ---- Decoding ---------------------------------------------------------------

// The byte a "<0xNN>" piece stands for.
std::optional<char> ByteTokenValue(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int high = hex(piece[3]), low = hex(piece[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<char>(high * 16 + low);
}

void AppendByteLevelDecoded(std::string_view piece, std::string& out) {
  for (size_t pos = 0; pos < piece.size();) {
    const DecodedCodePoint d = DecodeUtf8(piece, pos);
    if (const std::optional<uint8_t> byte = CodePointToByte(d.code_point)) {
      out.push_back(static_cast<char>(*byte));
    } else {
      out.append(piece.substr(pos, d.length));  // outside the alphabet: as written
    }
    pos += d.length;
  }
}

void AppendSpacesUnescaped(std::string_view piece, std::string& out) {
  for (size_t pos = 0; pos < piece.size();) {
    if (piece.substr(pos, kSpaceMark.size()) == kSpaceMark) {
      out.push_back(' ');
      pos += kSpaceMark.size();
    } else {
      out.push_back(piece[pos++]);
    }
  }
}

void AppendPiece(const Tokenizer::Tables& t, int32_t id, std::string& out) {
  if (id < 0 || static_cast<size_t>(id) >= t.pieces.size()) return;
  const std::string& piece = t.pieces[id];
  switch (t.types[id]) {
    case TokenType::kControl:
    case TokenType::kUserDefined:
    case TokenType::kUnknown:
      out += piece;  // special tokens are their text
      return;
    case TokenType::kByte:
      if (const std::optional<char> byte = ByteTokenValue(piece)) {
        out.push_back(*byte);
        return;
      }
      break;
    default:
      break;
  }
  if (t.model == TokenizerModel::kByteLevelBpe) {
    AppendByteLevelDecoded(piece, out);
  } else {
    AppendSpacesUnescaped(piece, out);
  }
}

}  // namespace

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos) const {
  const Tables& t = *tables_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && t.bos >= 0) out.push_back(t.bos);
  // Ordinary text between special tokens goes to the model's algorithm; a
  // SentencePiece dummy prefix goes where the text starts or follows a
  // special token (llama.cpp's placement).
  bool after_special = true;
  auto encode_ordinary = [&](std::string_view part) {
    if (part.empty()) return;
    if (t.model == TokenizerModel::kByteLevelBpe) {
      EncodeByteLevel(t, part, out);
    } else {
      EncodeSentencePiece(t, part, t.add_space_prefix && after_special, out);
    }
    after_special = false;
  };
  size_t ordinary_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const SpecialTokenMatcher::Match match = t.specials.LongestAt(text, pos);
    if (match.length == 0) {
      ++pos;
      continue;
    }
    encode_ordinary(text.substr(ordinary_start, pos - ordinary_start));
    out.push_back(match.id);
    after_special = true;
    pos += match.length;
    ordinary_start = pos;
  }
  encode_ordinary(text.substr(ordinary_start));
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) AppendPiece(*tables_, id, out);
  return out;
}

std::string Tokenizer::TokenPiece(int32_t id) const {
  std::string out;
  AppendPiece(*tables_, id, out);
  return out;
}

int32_t Tokenizer::bos() const { return tables_->bos; }
int32_t Tokenizer::eos() const { return tables_->eos; }
int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(tables_->pieces.size()); }
bool Tokenizer::adds_bos() const { return tables_->add_bos; }

bool Tokenizer::IsEndOfGeneration(int32_t id) const {
  const std::vector<int32_t>& eog = tables_->end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), id);
}

}  // namespace kpolicy::model
