// HLC timestamp {millis, counter, node_id}, as TopGun's, except for the node id order.
//
// Total order: millis, then counter, then node_id compared byte-wise (unsigned bytes of UTF-8).
// TopGun compares node ids with localeCompare, under which canonically equivalent ids (é and
// e + U+0301) compare equal and replicas can keep different records; byte order never ties two
// different ids (docs/architecture.md, "Where seedgrid departs from TopGun"). Text form
// "millis:counter:node_id". Node ids are non-empty and never contain ':'.
#ifndef SEEDGRID_ENGINE_HLC_TIMESTAMP_H_
#define SEEDGRID_ENGINE_HLC_TIMESTAMP_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/interned.h"

namespace seedgrid {

// A node id, interned (engine/base/interned.h): a timestamp is 24 bytes, not 48, and a million
// records written by a few nodes hold a few id strings. The pool takes ids up to the 255 bytes
// ValidateNodeId allows (decoders validate before they intern); past 65,536 distinct ids in one
// process (a server that has seen that many clients since it started), each timestamp owns a copy
// of its id: correct, and about as large as the std::string it replaced. The table is 1 MiB.
struct NodeIdTraits {
  static constexpr size_t kNamesMax = 1 << 16;
  static constexpr size_t kNameBytesMax = 255;
};
using InternedNodeId = Interned<NodeIdTraits>;

struct Timestamp {
  uint64_t millis = 0;
  uint32_t counter = 0;
  InternedNodeId node_id;

  // Byte-wise node_id comparison: string_view compares with char_traits<char>::compare, which is
  // memcmp-like (unsigned bytes), as the design requires.
  friend std::strong_ordering operator<=>(const Timestamp& a, const Timestamp& b) {
    if (auto c = a.millis <=> b.millis; c != 0) return c;
    if (auto c = a.counter <=> b.counter; c != 0) return c;
    const int c = a.node_id.compare(b.node_id);
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }
  friend bool operator==(const Timestamp& a, const Timestamp& b) = default;

  // "millis:counter:node_id".
  std::string ToString() const;
  // Parses the text form. Errors name the part that is wrong, e.g.
  // "timestamp '12:x:n1': counter 'x' is not a decimal uint32".
  static absl::StatusOr<Timestamp> Parse(std::string_view text);
};

// OK iff `node_id` is usable in a timestamp: non-empty, at most 255 bytes, no ':'.
absl::Status ValidateNodeId(std::string_view node_id);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_HLC_TIMESTAMP_H_
