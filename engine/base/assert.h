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

#define SG_ASSERT(condition)                                            \
  do {                                                                  \
    if (!(condition)) [[unlikely]] {                                    \
      ::seedgrid::internal::AssertFail(__FILE__, __LINE__, #condition); \
    }                                                                   \
  } while (false)

#endif  // SEEDGRID_ENGINE_BASE_ASSERT_H_
