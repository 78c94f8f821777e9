// SpecialTokenMatcher: finds, at a position of a text, the longest text of a
// special token (control, user-defined, unknown) that starts there. A byte
// trie, so the cost per position is the length of the match attempt, not
// the number of special tokens (Gemma 3 declares about 6400 of them, 6242
// of them "<unusedN>"). Internal to kpolicy_model. Immutable after Add;
// const calls are thread-safe.
#ifndef KPOLICY_MODEL_SPECIAL_TOKENS_H_
#define KPOLICY_MODEL_SPECIAL_TOKENS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace kpolicy::model {

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher() { root_.fill(-1); }

  // `text` must be non-empty; a later Add of the same text replaces the id.
  void Add(std::string_view text, int32_t id);

  struct Match {
    int32_t id = -1;
    size_t length = 0;  // 0: no special token starts here
  };
  Match LongestAt(std::string_view text, size_t pos) const;

  bool empty() const { return nodes_.empty(); }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // byte, node index
    int32_t id = -1;                                          // token ending here
  };
  int32_t Child(int32_t node, unsigned char byte) const;

  std::array<int32_t, 256> root_;  // node index per first byte
  std::vector<Node> nodes_;
};

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_SPECIAL_TOKENS_H_
