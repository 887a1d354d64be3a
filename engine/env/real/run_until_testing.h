// Test support for engine/env/real: drives an io_context on the test's thread until a condition
// holds. Tests only (it reads the wall clock for its deadline).
#ifndef SEEDGRID_ENGINE_ENV_REAL_RUN_UNTIL_TESTING_H_
#define SEEDGRID_ENGINE_ENV_REAL_RUN_UNTIL_TESTING_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace seedgrid::testing {

// Runs `io` in 5 ms slices until `done()` or until `timeout` has passed; returns done().
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    io.restart();
  }
  return done();
}

}  // namespace seedgrid::testing

#endif  // SEEDGRID_ENGINE_ENV_REAL_RUN_UNTIL_TESTING_H_
