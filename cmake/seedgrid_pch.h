// The precompiled header of GCC's optimised builds of seedgrid's own code (SEEDGRID_PCH, see
// cmake/SeedgridHelpers.cmake): the standard library, Abseil, fmt and nlohmann-json headers that
// most files include. Third-party headers only: an edit to a seedgrid header must not rebuild the
// PCH and with it every file.
//
// Contract: nothing here may change what a file means when it includes its own headers too (each
// header is include-guarded, and none depends on a macro a file defines first): do not add a
// header whose meaning depends on the file. Every file still includes what it uses; the asan
// preset and the nightly canaries' build compile without this header and so check that.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
