// libFuzzer entry point for the wire decoder: any input must decode to a message or an error,
// and a decoded message must re-encode and decode to itself. Build with `cmake --preset fuzz`.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded =
      seedgrid::DecodeMessage(std::string_view(reinterpret_cast<const char*>(data), size));
  if (decoded.ok()) {
    auto again = seedgrid::DecodeMessage(seedgrid::EncodeMessage(*decoded));
    if (!again.ok() || !(*again == *decoded)) std::abort();
  }
  return 0;
}
