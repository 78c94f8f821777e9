// ParallelFor: a loop split over a few std::threads, for the model
// library's matrix work (decoding, products, requantisation). Internal to
// kpolicy_model.
//
// Thread-safety: work is called concurrently on disjoint ranges.
// Cost: one thread start per part (tens of microseconds), so callers keep
// small jobs on one thread.
#ifndef KPOLICY_MODEL_SRC_PARALLEL_FOR_H_
#define KPOLICY_MODEL_SRC_PARALLEL_FOR_H_

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace kpolicy::model {

// threads <= 0: std::thread::hardware_concurrency() (at least 1).
inline int ResolveThreads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Runs work(begin, end) over [0, count) split into `threads` contiguous
// parts, one std::thread each (the calling thread takes the last part).
template <typename Work>
void ParallelFor(int64_t count, int threads, const Work& work) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, count));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(parts - 1));
  for (int64_t t = 0; t < parts; ++t) {
    const int64_t begin = count * t / parts;
    const int64_t end = count * (t + 1) / parts;
    if (t + 1 == parts) {
      work(begin, end);
    } else {
      pool.emplace_back([&work, begin, end] { work(begin, end); });
    }
  }
  for (std::thread& thread : pool) thread.join();
}

}  // namespace kpolicy::model

#endif  // KPOLICY_MODEL_SRC_PARALLEL_FOR_H_
