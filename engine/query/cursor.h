// Keyset cursors: an opaque, URL-safe token holding where the previous page ended (its last sort
// values, key and OR tag), the hash of the predicate and sort it belongs to, the issuing map
// instance, the change sequence at which paging began, and an expiry time on the Env clock.
// A checksum catches garbling; decoding never trusts a length or count it has not bounded.
#ifndef SEEDGRID_ENGINE_QUERY_CURSOR_H_
#define SEEDGRID_ENGINE_QUERY_CURSOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/crdt/value.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

struct CursorState {
  uint64_t query_hash = 0;   // PredicateAndSortHash of the query.
  uint64_t instance_id = 0;  // The QueryEngine that issued it.
  uint64_t start_seq = 0;    // Change sequence number when the first page was produced.
  uint64_t expires_at_ms = 0;
  std::vector<Value> last_sort_values;  // One per sort field.
  std::string last_key;
  std::optional<Timestamp> last_tag;  // OR-Map rows only.
  friend bool operator==(const CursorState& a, const CursorState& b);
};

inline constexpr size_t kCursorBytesMax = 1 << 20;

std::string EncodeCursor(const CursorState& state);
// InvalidArgument naming what is wrong for anything that is not a token EncodeCursor produced.
absl::StatusOr<CursorState> DecodeCursor(std::string_view token);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_CURSOR_H_
