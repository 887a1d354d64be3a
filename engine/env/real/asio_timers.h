// Timers on a Boost.Asio io_context (steady clock): the production Timers. Callbacks run on the
// thread running the io_context, never inside Schedule; a cancelled timer's callback never runs,
// even when its expiry was already queued.
#ifndef SEEDGRID_ENGINE_ENV_REAL_ASIO_TIMERS_H_
#define SEEDGRID_ENGINE_ENV_REAL_ASIO_TIMERS_H_

#include <memory>

#include "engine/env/env.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace seedgrid {

class AsioTimers final : public Timers {
 public:
  explicit AsioTimers(boost::asio::io_context& io);
  // Cancels every pending timer.
  ~AsioTimers() override;
  TimerId Schedule(uint64_t delay_ms, std::function<void()> callback) override;
  bool Cancel(TimerId id) override;
  size_t pending() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with queued handlers, which may outlive this object
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_REAL_ASIO_TIMERS_H_
