// Little helpers for the flat encodings of document.cc, value.cc and query/index_value.cc
// (internal to engine/): unaligned integers in the machine's byte order (blocks never leave the
// process), read and written with memcpy, and LEB128 varint lengths.
#ifndef SEEDGRID_ENGINE_CRDT_FLAT_BYTES_H_
#define SEEDGRID_ENGINE_CRDT_FLAT_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/crdt/value.h"

namespace seedgrid::flat {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// Bytes of `v` as a varint (7 bits per byte, low bits first).
inline size_t VarintBytes(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline uint8_t* StoreVarint(uint8_t* p, uint32_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// REQUIRES: a varint written by StoreVarint (at most 5 bytes).
inline uint32_t LoadVarint(const uint8_t*& p) {
  uint32_t v = 0;
  for (int shift = 0;; shift += 7) {
    const uint8_t b = *p++;
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}

// A varint length and that many bytes, at p; advances p past them.
inline std::string_view LoadStr(const uint8_t*& p) {
  const uint32_t n = LoadVarint(p);
  const std::string_view s(reinterpret_cast<const char*>(p), n);
  p += n;
  return s;
}

inline size_t StrBytes(std::string_view s) {
  return VarintBytes(static_cast<uint32_t>(s.size())) + s.size();
}

inline uint8_t* StoreStr(uint8_t* p, std::string_view s) {
  p = StoreVarint(p, static_cast<uint32_t>(s.size()));
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// A list as Document and IndexValue encode it: a varint count, then each element as a string.
inline size_t ListBytes(ListView list) {
  size_t n = VarintBytes(static_cast<uint32_t>(list.size()));
  for (std::string_view s : list) n += StrBytes(s);
  return n;
}

inline uint8_t* StoreList(uint8_t* p, ListView list) {
  p = StoreVarint(p, static_cast<uint32_t>(list.size()));
  for (std::string_view s : list) p = StoreStr(p, s);
  return p;
}

// REQUIRES: a list written by StoreList at p, living as long as the view.
inline ListView LoadList(const uint8_t* p) {
  const uint32_t count = LoadVarint(p);
  const uint8_t* const first = p;
  for (uint32_t k = 0; k < count; ++k) LoadStr(p);
  return ListView::Flat(first, p, count);
}

}  // namespace seedgrid::flat

#endif  // SEEDGRID_ENGINE_CRDT_FLAT_BYTES_H_
