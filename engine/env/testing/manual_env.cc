#include "engine/env/testing/manual_env.h"

#include <fmt/format.h>

#include "engine/base/assert.h"

namespace seedgrid {

namespace {
constexpr uint64_t kTimerDelayMsMax = 365ULL * 24 * 3600 * 1000;
}  // namespace

Timers::TimerId ManualTimers::Schedule(uint64_t delay_ms, std::function<void()> callback) {
  SG_ASSERT(delay_ms <= kTimerDelayMsMax);
  SG_ASSERT(callback != nullptr);
  const TimerId id = next_id_++;
  const uint64_t due_ms = clock_.NowMs() + delay_ms;
  timers_.emplace(std::make_pair(due_ms, id), std::move(callback));
  due_by_id_[id] = due_ms;
  return id;
}

bool ManualTimers::Cancel(TimerId id) {
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  due_by_id_.erase(it);
  return true;
}

size_t ManualTimers::RunDue(size_t max_callbacks) {
  size_t ran = 0;
  while (ran < max_callbacks && !timers_.empty()) {
    auto it = timers_.begin();
    if (it->first.first > clock_.NowMs()) break;
    std::function<void()> callback = std::move(it->second);
    due_by_id_.erase(it->first.second);
    timers_.erase(it);
    callback();
    ++ran;
  }
  return ran;
}

absl::Status QueueNetwork::Send(const NodeId& from, const NodeId& to, std::string_view bytes) {
  if (!handlers_.contains(to)) {
    return absl::NotFoundError(fmt::format("network: unknown destination node '{}'", to));
  }
  queue_.push_back(Message{from, to, std::string(bytes)});
  return absl::OkStatus();
}

void QueueNetwork::SetHandler(const NodeId& node, Handler handler) {
  handlers_[node] = std::move(handler);
}

bool QueueNetwork::DeliverNext() {
  if (queue_.empty()) return false;
  Message message = std::move(queue_.front());
  queue_.pop_front();
  auto it = handlers_.find(message.to);
  SG_ASSERT(it != handlers_.end());
  if (it->second) it->second(message.from, message.bytes);  // No handler: the node is gone.
  return true;
}

size_t QueueNetwork::DeliverOrDrop(const std::vector<bool>& keep) {
  size_t delivered = 0;
  for (size_t i = 0; i < keep.size() && !queue_.empty(); ++i) {
    if (keep[i]) {
      delivered += DeliverNext() ? 1 : 0;
    } else {
      queue_.pop_front();
    }
  }
  return delivered;
}

size_t QueueNetwork::DeliverAll(size_t max_messages) {
  size_t delivered = 0;
  while (delivered < max_messages && DeliverNext()) ++delivered;
  return delivered;
}

}  // namespace seedgrid
