// DigestWriter: streams a canonical little-endian encoding into XXH3-64. Used for document
// digests and for the item hashes the CRDT maps feed their Merkle trees. Internal to engine/.
#ifndef SEEDGRID_ENGINE_CRDT_DIGEST_H_
#define SEEDGRID_ENGINE_CRDT_DIGEST_H_

#include <xxhash.h>

#include <cstdint>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "engine/base/assert.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

// Appends into an inline buffer and hashes once at Finish(): far cheaper than XXH3's streaming
// API for the many tiny fields of a record.
class DigestWriter {
 public:
  void U8(uint8_t v) { buffer_.push_back(v); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) buffer_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) buffer_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Str(std::string_view s) {
    SG_ASSERT(s.size() <= UINT32_MAX);
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  void Ts(const Timestamp& ts) {
    U64(ts.millis);
    U32(ts.counter);
    Str(ts.node_id);
  }
  void Bytes(const void* data, size_t size) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    buffer_.insert(buffer_.end(), p, p + size);
  }
  uint64_t Finish() const { return XXH3_64bits(buffer_.data(), buffer_.size()); }

 private:
  absl::InlinedVector<uint8_t, 256> buffer_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_DIGEST_H_
