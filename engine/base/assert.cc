#include "engine/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace seedgrid::internal {

void AssertFail(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace seedgrid::internal
