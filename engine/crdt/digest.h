// DigestWriter: streams a canonical little-endian encoding into XXH3-64. Used for document
// digests and for the item hashes the CRDT maps feed their Merkle trees. Internal to engine/.
#ifndef SEEDGRID_ENGINE_CRDT_DIGEST_H_
#define SEEDGRID_ENGINE_CRDT_DIGEST_H_

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/base/assert.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

// Appends into an inline buffer and hashes once at Finish(): far cheaper than XXH3's streaming
// API for the many tiny fields of a record.
class DigestWriter {
 public:
  void U8(uint8_t v) { Bytes(&v, 1); }
  // Little-endian: the bytes are the digest's definition on every host.
  void U32(uint32_t v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                          static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
    Bytes(b, sizeof b);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v));
    U32(static_cast<uint32_t>(v >> 32));
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
  // One bounds check and one copy per field into a plain array (a push_back per byte into an
  // InlinedVector was a third of a record hash); past 256 bytes the rest goes to the heap.
  void Bytes(const void* data, size_t size) {
    if (size == 0) return;  // `data` may be null (an empty string_view): no memcpy of it
    if (spilled_.empty() && size_ + size <= sizeof inline_) {
      std::memcpy(inline_ + size_, data, size);
      size_ += size;
      return;
    }
    if (spilled_.empty()) spilled_.assign(reinterpret_cast<const char*>(inline_), size_);
    spilled_.append(static_cast<const char*>(data), size);
  }
  uint64_t Finish() const {
    return spilled_.empty() ? XXH3_64bits(inline_, size_)
                            : XXH3_64bits(spilled_.data(), spilled_.size());
  }

 private:
  uint8_t inline_[256];  // the first size_ bytes are written
  size_t size_ = 0;
  std::string spilled_;  // everything, once it outgrew inline_
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_DIGEST_H_
