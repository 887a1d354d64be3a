// DigestWriter: streams a canonical little-endian encoding into XXH3-64. Used for document
// digests and for the item hashes the CRDT maps feed their Merkle trees. Internal to engine/.
#ifndef SEEDGRID_ENGINE_CRDT_DIGEST_H_
#define SEEDGRID_ENGINE_CRDT_DIGEST_H_

#include <xxhash.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/base/assert.h"
#include "engine/hlc/timestamp.h"

namespace seedgrid {

// Appends into an inline buffer and hashes once at Finish(): far cheaper than XXH3's streaming
// API for the many tiny fields of a record. The fixed-size writes (U8, U32, U64) inline to a
// bounds check and one store; only a record past 2 KiB takes the out-of-line spill path. (At 256
// bytes an OR entry with a few dozen tags and tombstones spilled ~40 fields per hash, 74
// instructions each: 2.4 % of a grid run with OR-Maps.)
class DigestWriter {
 public:
  // Little-endian: the bytes are the digest's definition (a big-endian host would need byte
  // swaps here, like the Merkle tree's inner hashes; both assert the host instead).
  static_assert(std::endian::native == std::endian::little);
  void U8(uint8_t v) { Fixed(v); }
  void U32(uint32_t v) { Fixed(v); }
  void U64(uint64_t v) { Fixed(v); }
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
    if (size == 0) return;  // `data` may be null (an empty string_view): no memcpy of it
    if (size_ + size <= sizeof inline_) {
      std::memcpy(inline_ + size_, data, size);
      size_ += size;
      return;
    }
    Spill(data, size);
  }
  uint64_t Finish() const {
    return size_ == kSpilled ? XXH3_64bits(spilled_.data(), spilled_.size())
                             : XXH3_64bits(inline_, size_);
  }

 private:
  // size_ once the bytes moved to spilled_: no append fits inline after it (a Str is at most
  // UINT32_MAX bytes, so size_ + size cannot wrap).
  static constexpr size_t kSpilled = SIZE_MAX / 2;

  template <typename T>
  void Fixed(T v) {
    if (size_ + sizeof v <= sizeof inline_) {
      std::memcpy(inline_ + size_, &v, sizeof v);  // a constant size: one store
      size_ += sizeof v;
      return;
    }
    Spill(&v, sizeof v);
  }
  [[gnu::noinline]] void Spill(const void* data, size_t size) {
    if (size_ != kSpilled) {
      spilled_.assign(reinterpret_cast<const char*>(inline_), size_);
      size_ = kSpilled;
    }
    spilled_.append(static_cast<const char*>(data), size);
  }

  uint8_t inline_[2048];  // the first size_ bytes are written (until spilled)
  size_t size_ = 0;
  std::string spilled_;  // everything, once it outgrew inline_
};

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_CRDT_DIGEST_H_
