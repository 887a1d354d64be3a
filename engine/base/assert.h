// Invariant assertions that stay on in every build type (dev, release, asan).
//
// Contract: SG_ASSERT is for broken invariants only, never for bad input. Expected operating
// errors (malformed messages, bad timestamps, unreachable peers) return absl::Status.
// A failed assertion prints file, line and the condition, then aborts.
#ifndef SEEDGRID_ENGINE_BASE_ASSERT_H_
#define SEEDGRID_ENGINE_BASE_ASSERT_H_

namespace seedgrid::internal {
[[noreturn]] void AssertFail(const char* file, int line, const char* condition);
}  // namespace seedgrid::internal

// __FILE__ reaches only the failure message, never a hash or a trace (hence sg:path-ok).
#define SG_ASSERT(condition)                                                             \
  do {                                                                                   \
    if (!(condition)) [[unlikely]] {                                                     \
      /* sg:path-ok */ ::seedgrid::internal::AssertFail(__FILE__, __LINE__, #condition); \
    }                                                                                    \
  } while (false)

#endif  // SEEDGRID_ENGINE_BASE_ASSERT_H_
