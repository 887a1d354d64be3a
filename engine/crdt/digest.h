// DigestWriter: streams a canonical little-endian encoding into XXH3-64. Used for document
// digests and for the item hashes the CRDT maps feed their Merkle trees. Internal to engine/.
#ifndef SEEDGRID_ENGINE_CRDT_DIGEST_H_
#define SEEDGRID_ENGINE_CRDT_DIGEST_H_

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdint>
#include <string_view>

#include "engine/base/assert.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

class DigestWriter {
 public:
  DigestWriter() { SG_ASSERT(XXH3_64bits_reset(&state_) == XXH_OK); }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    Bytes(b, 4);
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
    Bytes(b, 8);
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
  void Bytes(const void* data, size_t size) { XXH3_64bits_update(&state_, data, size); }
  uint64_t Finish() { return XXH3_64bits_digest(&state_); }

 private:
  XXH3_state_t state_;
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_DIGEST_H_
