#include "special_tokens.h"

namespace kpolicy::model {

int32_t SpecialTokenMatcher::Child(int32_t node, unsigned char byte) const {
  for (const auto& [b, child] : nodes_[node].children) {
    if (b == byte) return child;
  }
  return -1;
}

void SpecialTokenMatcher::Add(std::string_view text, int32_t id) {
  const unsigned char first = static_cast<unsigned char>(text[0]);
  if (root_[first] < 0) {
    root_[first] = static_cast<int32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  int32_t node = root_[first];
  for (size_t i = 1; i < text.size(); ++i) {
    const unsigned char byte = static_cast<unsigned char>(text[i]);
    int32_t next = Child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();  // may move nodes_: index again below
      nodes_[node].children.emplace_back(byte, next);
    }
    node = next;
  }
  nodes_[node].id = id;
}

SpecialTokenMatcher::Match SpecialTokenMatcher::LongestAt(std::string_view text, size_t pos) const {
  Match best;
  int32_t node = root_[static_cast<unsigned char>(text[pos])];
  for (size_t i = pos + 1; node >= 0; ++i) {
    if (nodes_[node].id >= 0) best = {nodes_[node].id, i - pos};
    if (i >= text.size()) break;
    node = Child(node, static_cast<unsigned char>(text[i]));
  }
  return best;
}

}  // namespace kpolicy::model
