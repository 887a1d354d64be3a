// Byte helpers of the packed wire forms (packed_doc.cc, packed_record.cc; internal to
// engine/wire): appending varints, length-prefixed bytes and little-endian fixed-width numbers to
// a string, and a bounds-checked Reader whose first error sticks and names its byte offset.
//
// Varints are Document's own (flat_bytes.h: LEB128, at most 5 bytes, a uint32), so a packed
// string list is Document's flat list encoding. The Reader accepts only minimal varints: every
// packed form is canonical.
#ifndef SEEDGRID_ENGINE_WIRE_PACKED_BYTES_H_
#define SEEDGRID_ENGINE_WIRE_PACKED_BYTES_H_

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/base/assert.h"
#include "engine/crdt/flat_bytes.h"

namespace seedgrid::wire_codec::packed {

// Document's own varint (flat_bytes.h): a packed list's items are then Document's flat list
// encoding, which the decoder borrows in place (ListView::Flat).
inline void PutVarint(std::string& out, size_t v) {
  SG_ASSERT(v <= UINT32_MAX);  // Documents and strings are far below 4 GiB (the wire limit).
  uint8_t bytes[5];
  const uint8_t* end = flat::StoreVarint(bytes, static_cast<uint32_t>(v));
  out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(end - bytes));
}

inline void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

template <typename T>
inline void PutFixed(std::string& out, T v) {
  uint8_t bytes[sizeof v];
  flat::Store(bytes, v);
  out.append(reinterpret_cast<const char*>(bytes), sizeof v);
}

// A bounds-checked reader over the packed bytes; the first error sticks.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  const char* data() const { return bytes_.data(); }
  size_t offset() const { return at_; }
  size_t left() const { return bytes_.size() - at_; }

  bool Varint(uint32_t& v, std::string& error) {
    v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (at_ >= bytes_.size()) return Fail(error, "truncated varint");
      const auto b = static_cast<uint8_t>(bytes_[at_++]);
      if (shift == 28 && (b & 0xf0) != 0) return Fail(error, "varint exceeds 32 bits");
      v |= static_cast<uint32_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        // Canonical: a last byte of 0 after the first adds nothing (PackDocument never writes it).
        if (b == 0 && shift > 0) return Fail(error, "non-minimal varint");
        return true;
      }
    }
    return Fail(error, "varint exceeds 32 bits");
  }
  bool Bytes(std::string_view& s, std::string& error) {
    uint32_t n = 0;
    if (!Varint(n, error)) return false;
    if (n > left()) return Fail(error, fmt::format("{} bytes announced, {} left", n, left()));
    s = bytes_.substr(at_, n);
    at_ += n;
    return true;
  }
  // One byte; `what` names it in the error ("a value type").
  bool Byte(uint8_t& b, std::string_view what, std::string& error) {
    if (at_ >= bytes_.size()) return Fail(error, fmt::format("truncated: {} is missing", what));
    b = static_cast<uint8_t>(bytes_[at_++]);
    return true;
  }
  template <typename T>
  bool Fixed(T& v, std::string& error) {
    if (left() < sizeof v) return Fail(error, fmt::format("truncated {}-byte number", sizeof v));
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }

 private:
  bool Fail(std::string& error, std::string what) {
    error = fmt::format("byte {}: {}", at_, what);
    return false;
  }
  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace seedgrid::wire_codec::packed

#endif  // SEEDGRID_ENGINE_WIRE_PACKED_BYTES_H_
