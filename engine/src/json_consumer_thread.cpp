#include "json_consumer_thread.h"

namespace kpolicy {

JsonConsumerThread::JsonConsumerThread(Consume consume)
    : consume_(std::move(consume)), thread_([this] { Run(); }) {
  filling_.reserve(kBatch);
}

JsonConsumerThread::~JsonConsumerThread() {
  if (thread_.joinable()) (void)Finish();
}

Status JsonConsumerThread::Take(size_t index, JsonValue&& element) {
  filling_.emplace_back(index, std::move(element));
  if (filling_.size() < kBatch) return {};
  Batch full;
  full.reserve(kBatch);
  std::swap(full, filling_);
  Push(std::move(full));
  std::lock_guard<std::mutex> lock(mu_);
  if (error_) return Fail(*error_);
  return {};
}

void JsonConsumerThread::Push(Batch batch) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return queue_.size() < kMaxQueuedBatches || error_; });
  if (error_) return;  // nothing more is consumed
  queue_.push_back(std::move(batch));
  changed_.notify_all();
}

Status JsonConsumerThread::Finish() {
  if (!thread_.joinable()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_) return Fail(*error_);
    return {};
  }
  if (!filling_.empty()) Push(std::move(filling_));
  filling_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    changed_.notify_all();
  }
  thread_.join();
  if (error_) return Fail(*error_);
  return {};
}

void JsonConsumerThread::Run() {
  while (true) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return !queue_.empty() || closed_; });
      if (queue_.empty()) return;  // closed and drained
      batch = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();  // room for the parser's next batch
    }
    for (auto& [index, element] : batch) {
      Status consumed = consume_(index, element);
      if (consumed.ok()) continue;
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::move(consumed).error();
      queue_.clear();
      changed_.notify_all();
      return;
    }
    // `batch` (the elements' trees) is freed here, on this thread.
  }
}

}  // namespace kpolicy
