#include "kpolicy/spelling.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace kpolicy {

// ASCII lower case (names are ASCII; other bytes compare as they are).
static char Fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int EditDistance(std::string_view a, std::string_view b, int limit) {
  const size_t n = a.size(), m = b.size();
  const size_t length_gap = n > m ? n - m : m - n;
  if (length_gap > static_cast<size_t>(limit)) return limit + 1;
  // Only cells within `limit` of the diagonal can lead to a distance
  // within it: each row fills that band, O(n * limit). Cells outside it
  // hold limit + 1, "too far". Three rolling rows: the transposition step
  // looks two rows back.
  const int far = limit + 1;
  const auto band = static_cast<size_t>(limit);
  std::vector<int> two_back(m + 1, far), prev(m + 1, far), cur(m + 1, far);
  for (size_t j = 0; j <= std::min(m, band); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    const size_t from = i > band ? i - band : 1;
    const size_t to = std::min(m, i + band);
    // The cell left of the band still holds a row from three rows back.
    cur[from - 1] = from == 1 ? static_cast<int>(std::min(i, band + 1)) : far;
    for (size_t j = from; j <= to; ++j) {
      const int cost = Fold(a[i - 1]) == Fold(b[j - 1]) ? 0 : 1;
      int d = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && Fold(a[i - 1]) == Fold(b[j - 2]) && Fold(a[i - 2]) == Fold(b[j - 1])) {
        d = std::min(d, two_back[j - 2] + 1);
      }
      cur[j] = std::min(d, far);
    }
    std::swap(two_back, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], far);
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const int allowed = word.size() >= 6 ? 2 : 1;
  std::optional<std::string> best;
  int best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == word) continue;
    const int d = EditDistance(word, candidate, best_distance - 1);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> match = ClosestMatch(word, candidates);
  return match ? " (did you mean '" + *match + "'?)" : "";
}

}  // namespace kpolicy
