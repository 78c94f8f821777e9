// Spelling: "did you mean" suggestions for misspelt keys, names and
// environment variables, by edit distance.
//
// Thread-safety: pure functions.
#ifndef KPOLICY_SPELLING_H_
#define KPOLICY_SPELLING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kpolicy {

// Levenshtein distance with transpositions counted as one edit (optimal
// string alignment), ASCII case-insensitive: HW_DP4A_Q4K vs hw_dp4a_q4k is 0.
// Distances above `limit` come back as limit + 1: only a band of width
// 2 * limit + 1 is computed, so the cost is O(|a| * limit), and words whose
// lengths differ by more than `limit` cost nothing.
int EditDistance(std::string_view a, std::string_view b, int limit);

// The candidate nearest to `word` if it is close enough to be a plausible
// typo: within 1 edit for short words, 2 for words of 6 or more characters.
// Exact matches are not suggestions. Cost: O(|word|) per candidate of a
// length within 2 of the word's, nothing for the others.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace kpolicy

#endif  // KPOLICY_SPELLING_H_
