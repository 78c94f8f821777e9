// JsonConsumerThread: the elements a streaming parse hands over
// (JsonArrayStream), consumed in order on a thread of their own. Parsing a
// 100,000-node inventory is about two thirds of reading it, and turning each
// node into facts (and freeing its tree) the other third: with the two on
// different cores the wall time is the parse's alone.
//
// The consumer sees the elements in the order taken, one at a time, on its
// own thread, so what it writes needs no lock as long as nobody else looks
// before Finish. Memory is bounded: at most kMaxQueuedBatches batches of
// kBatch elements wait.
//
// Thread-safety: Take and Finish are called from one thread (the parser's).
#ifndef KPOLICY_ENGINE_JSON_CONSUMER_THREAD_H_
#define KPOLICY_ENGINE_JSON_CONSUMER_THREAD_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "kpolicy/expected.h"
#include "kpolicy/json.h"

namespace kpolicy {

class JsonConsumerThread {
 public:
  using Consume = std::function<Status(size_t index, const JsonValue& element)>;

  explicit JsonConsumerThread(Consume consume);
  ~JsonConsumerThread();  // finishes (and joins) if Finish was not called
  JsonConsumerThread(const JsonConsumerThread&) = delete;
  JsonConsumerThread& operator=(const JsonConsumerThread&) = delete;

  // For JsonArrayStream::take: queues the element. Once the consumer has
  // failed, returns its error, so the parse stops.
  Status Take(size_t index, JsonValue&& element);
  // Waits until every element taken has been consumed, or the consumer
  // failed; returns its first error. Elements after a failure are dropped.
  Status Finish();

 private:
  using Batch = std::vector<std::pair<size_t, JsonValue>>;
  static constexpr size_t kBatch = 256;
  static constexpr size_t kMaxQueuedBatches = 16;

  void Run();
  void Push(Batch batch);

  Consume consume_;
  Batch filling_;  // the parser's batch, handed over when full

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;      // under mu_
  bool closed_ = false;          // under mu_: no more batches come
  std::optional<Error> error_;   // under mu_: the consumer's first error
  std::thread thread_;           // last: started once the rest exists
};

}  // namespace kpolicy

#endif  // KPOLICY_ENGINE_JSON_CONSUMER_THREAD_H_
