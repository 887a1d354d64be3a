// SG_RETURN_IF_ERROR(expr): evaluates an absl::Status expression and returns it from the
// enclosing function when it is not OK (the decoders' and JSON readers' one early-return idiom).
#ifndef SEEDGRID_ENGINE_BASE_STATUS_MACROS_H_
#define SEEDGRID_ENGINE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"

#define SG_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (false)

#endif  // SEEDGRID_ENGINE_BASE_STATUS_MACROS_H_
