#include "engine/env/real/asio_timers.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "absl/container/btree_map.h"
#include "engine/base/assert.h"

namespace seedgrid {

struct AsioTimers::State {
  explicit State(boost::asio::io_context& io) : io(io) {}
  boost::asio::io_context& io;
  TimerId next_id = 1;
  absl::btree_map<TimerId, std::unique_ptr<boost::asio::steady_timer>> pending;
};

AsioTimers::AsioTimers(boost::asio::io_context& io) : state_(std::make_shared<State>(io)) {}

AsioTimers::~AsioTimers() {
  for (auto& [id, timer] : state_->pending) timer->cancel();
  state_->pending.clear();
}

Timers::TimerId AsioTimers::Schedule(uint64_t delay_ms, std::function<void()> callback) {
  SG_ASSERT(delay_ms <= 365ull * 24 * 3600 * 1000);
  const TimerId id = state_->next_id++;
  auto timer = std::make_unique<boost::asio::steady_timer>(state_->io);
  timer->expires_after(std::chrono::milliseconds(delay_ms));
  timer->async_wait([state = state_, id, cb = std::move(callback)](boost::system::error_code) {
    // Ran or cancelled: only a timer still pending fires (Cancel may follow a queued expiry).
    auto it = state->pending.find(id);
    if (it == state->pending.end()) return;
    state->pending.erase(it);
    cb();
  });
  state_->pending.emplace(id, std::move(timer));
  return id;
}

bool AsioTimers::Cancel(TimerId id) {
  auto it = state_->pending.find(id);
  if (it == state_->pending.end()) return false;
  it->second->cancel();
  state_->pending.erase(it);
  return true;
}

size_t AsioTimers::pending() const { return state_->pending.size(); }

}  // namespace seedgrid
