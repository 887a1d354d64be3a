// Encoder: builds one FlatBuffers wire message (seedgrid.fbs) from msg:: values. Internal to
// engine/wire; callers use EncodeMessage (codec.h).
//
// Contract:
// - Deterministic: the same calls with the same values give the same bytes. The order of builder
//   calls decides the bytes, and C++ leaves the evaluation order of function arguments
//   unspecified (gcc and clang differ), so every builder call is its own statement: keep each
//   result in a local and pass the locals (ci/check_determinism.py checks calls on b_).
// - The decoder (decoder.h) mirrors every method here: Encoder::Lww <-> Decoder::Lww, ...
// - REQUIRES: values are valid (what the decoder accepts); node ids are asserted.
// - One Encoder encodes one message: construct, encode the body, Finish.
#ifndef SEEDGRID_ENGINE_WIRE_ENCODER_H_
#define SEEDGRID_ENGINE_WIRE_ENCODER_H_

#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/wire/messages.h"
#include "engine/wire/seedgrid_generated.h"

namespace seedgrid::wire_codec {

namespace fb = ::seedgrid::wire;
using flatbuffers::Offset;

template <typename T>
using OffsetVector = Offset<flatbuffers::Vector<Offset<T>>>;

class Encoder {
 public:
  Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  flatbuffers::FlatBufferBuilder& builder() { return b_; }

  Offset<flatbuffers::String> String(std::string_view s) { return b_.CreateString(s); }
  // Absent (offset 0) when empty: the schema's optional strings.
  Offset<flatbuffers::String> OptionalString(std::string_view s);
  // REQUIRES: a valid node id (asserted).
  Offset<flatbuffers::String> Node(std::string_view node_id);
  Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> Strings(
      const std::vector<std::string>& strings);
  Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> Strings(ListView strings);
  template <typename T>
  Offset<flatbuffers::Vector<T>> Scalars(const std::vector<T>& values) {
    return b_.CreateVector(values);
  }

  Offset<fb::Timestamp> Ts(const Timestamp& ts);
  std::pair<fb::Value, Offset<void>> Val(ValueView value);
  // The packed form (packed_doc.h); an empty document has neither form.
  Offset<fb::Document> Doc(const Document& doc);
  // The least wire version of what was written (codec.h): kWirePackedDocsVersion after a packed
  // document, kWirePackedRecordsVersion after packed records; else 0.
  uint16_t version_floor() const { return version_floor_; }
  // Absent (offset 0) for nullopt: a tombstone or a remove.
  Offset<fb::Document> OptionalDoc(const std::optional<Document>& doc);
  static flatbuffers::Optional<uint64_t> Ttl(const std::optional<uint64_t>& ttl);

  OffsetVector<fb::LwwRecord> Lww(const std::vector<msg::LwwEntry>& entries);
  OffsetVector<fb::OrKeyState> Or(const std::vector<msg::OrKeyState>& entries);
  OffsetVector<fb::PnEntry> Pn(const PnState& state);
  // Absent (offset 0) for no counters: a map without counters encodes as it did before them.
  OffsetVector<fb::CounterState> Counters(const std::vector<msg::CounterEntry>& counters);
  Offset<fb::MapRecords> Map(const msg::MapRecords& map);
  OffsetVector<fb::MapRecords> Maps(const std::vector<msg::MapRecords>& maps);

  // The offsets of encode_one(element) for each element of `in` (a vector or an ordered map), in
  // order; no builder call of its own. For tables that build several vectors before writing any
  // of them: the bytes follow the order of builder calls, so that order must not change.
  template <typename Range, typename Fn>
  auto Offsets(const Range& in, Fn&& encode_one) {
    std::vector<decltype(encode_one(*std::begin(in)))> out;
    out.reserve(std::size(in));
    for (const auto& element : in) out.push_back(encode_one(element));
    return out;
  }
  // Offsets(), then the vector of them.
  template <typename Range, typename Fn>
  auto Vector(const Range& in, Fn&& encode_one) {
    auto offsets = Offsets(in, encode_one);
    return b_.CreateVector(offsets);
  }

  // Writes the envelope around an encoded sender (written first) and body, and returns the
  // message's bytes.
  std::string Finish(Offset<flatbuffers::String> sender, fb::Body type, Offset<void> body,
                     uint16_t version);

 private:
  flatbuffers::FlatBufferBuilder b_{1024};
  std::string packed_scratch_;  // Doc's and Map's packing buffer, reused across the message
  uint16_t version_floor_ = 0;
};

}  // namespace seedgrid::wire_codec

#endif  // SEEDGRID_ENGINE_WIRE_ENCODER_H_
