// Decoder: reads msg:: values out of one verified FlatBuffers wire message. Internal to
// engine/wire; callers use DecodeMessage (codec.h), which runs the FlatBuffers verifier first, so
// every offset here is in bounds and every required field present.
//
// Contract:
// - Mirrors the encoder (encoder.h): Encoder::Lww <-> Decoder::Lww, ... Each method checks the
//   semantic rules of what it reads and reports a failure as an InvalidArgument naming the path,
//   e.g. "OpBatch.lww[3].ts.node_id: node id must not be empty"; never a crash.
// - Owns the decode budget. FlatBuffers lets many offsets point at one table or string, and the
//   verifier checks each in constant time, so a 1 MB message can name the same 1 MB string a
//   million times. Decoding charges every string and every element against a budget
//   proportional to the message size and fails when it runs out. Once the budget is exceeded,
//   strings read as empty and every error reports the budget (the real cause).
// - One Decoder decodes one message; it holds no global or thread-local state.
#ifndef SEEDGRID_ENGINE_WIRE_DECODER_H_
#define SEEDGRID_ENGINE_WIRE_DECODER_H_

#include <fmt/format.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/base/status_macros.h"
#include "engine/wire/messages.h"
#include "engine/wire/seedgrid_generated.h"

namespace seedgrid::wire_codec {

namespace fb = ::seedgrid::wire;
using flatbuffers::Offset;

template <typename T>
using FbVector = flatbuffers::Vector<T>;
template <typename T>
using FbTables = flatbuffers::Vector<Offset<T>>;

// The budget: kDecodeBytesPerWireByte × the message size + kDecodeBytesSlack. Legitimate
// messages decode to a few times their own size.
inline constexpr size_t kDecodeBytesPerWireByte = 8;
inline constexpr size_t kDecodeBytesSlack = 64 * 1024;
inline constexpr size_t kDecodeElementCharge = 48;  // per table or vector element
inline constexpr size_t kDecodeStringCharge = 32;   // per string, plus its bytes
inline constexpr size_t kNoCharge = 0;              // elements charged by what decodes them

// A position in a message, such as "OpBatch.lww[3].ts.node_id": a chain of segments on the stack,
// formatted only when an error names it, so decoding a valid message builds no path strings (it
// used to build one per element and field: 5-10 % of a simulation's time).
// A path refers to its parent and to the text it was made from, which must outlive it: make
// paths as call arguments (`Ts(r->ts(), at + ".ts", ...)`) or locals, never store them.
class WirePath {
 public:
  WirePath(const char* root) : text_(root) {}         // NOLINT: implicit from a message name
  WirePath(std::string_view root) : text_(root) {}    // NOLINT
  WirePath(const std::string& root) : text_(root) {}  // NOLINT
  // The child "<this><field>"; `field` is written with its separator, e.g. ".ts".
  WirePath operator+(std::string_view field) const { return WirePath(this, field, kNoIndex); }
  // The element "<this>[i]".
  WirePath operator[](size_t i) const { return WirePath(this, {}, i); }
  std::string str() const;

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  WirePath(const WirePath* parent, std::string_view text, size_t index)
      : parent_(parent), text_(text), index_(index) {}
  void AppendTo(std::string& out) const;

  const WirePath* parent_ = nullptr;
  std::string_view text_;
  size_t index_ = kNoIndex;
};

// InvalidArgument "where: what", for errors found before decoding starts.
absl::Status WireError(std::string_view where, std::string_view what);

class Decoder {
 public:
  explicit Decoder(size_t message_bytes)
      : budget_left_(kDecodeBytesPerWireByte * message_bytes + kDecodeBytesSlack) {}
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // ---- Budget and errors.
  // Takes `bytes` from the budget; false (and exceeded from then on) when they are not left.
  bool Charge(size_t bytes);
  bool exceeded() const { return budget_exceeded_; }
  absl::Status BudgetError(const WirePath& where) const;
  // WireError, or BudgetError once the budget was exceeded.
  absl::Status Error(const WirePath& where, std::string_view what) const;
  // A packed vector's bytes (packed_doc.h, packed_record.h), and the result of unpacking them
  // with Charge as the budget: OK, BudgetError (ResourceExhausted) or Error naming `where`.
  static std::string_view Bytes(const FbVector<uint8_t>& packed) {
    return {reinterpret_cast<const char*>(packed.data()), packed.size()};
  }
  absl::Status Unpacked(const absl::Status& s, const WirePath& where) const;

  // ---- Strings, nodes, names. Absent strings read as empty.
  std::string Str(const flatbuffers::String* in);
  absl::Status Node(const flatbuffers::String* in, const WirePath& where, std::string& out);
  // Absent: out stays empty. Present: a valid node id.
  absl::Status OptionalNode(const flatbuffers::String* in, const WirePath& where, std::string& out);
  absl::Status MapName(const flatbuffers::String* in, const WirePath& where, std::string& out);
  // A Merkle path of length_min..length_max digits, each 0..15.
  absl::Status Path(const FbVector<uint8_t>* in, const WirePath& where, size_t length_min,
                    size_t length_max, std::vector<uint8_t>& out);
  absl::Status Partition(uint32_t in, const WirePath& where, uint32_t& out);
  // Uncharged: the caller charges the vector as a whole.
  absl::Status Partitions(const FbVector<uint32_t>* in, const WirePath& where,
                          std::vector<uint32_t>& out);

  // ---- Shared tables.
  absl::Status Ts(const fb::Timestamp* in, const WirePath& where, Timestamp& out);
  absl::Status Val(fb::Value type, const void* in, const WirePath& where, Value& out);
  absl::Status Doc(const fb::Document* in, const WirePath& where, Document& out);
  // Absent: nullopt.
  absl::Status OptionalDoc(const fb::Document* in, const WirePath& where,
                           std::optional<Document>& out);
  static std::optional<uint64_t> Ttl(flatbuffers::Optional<uint64_t> in);
  absl::Status Lww(const FbTables<fb::LwwRecord>* in, const WirePath& where,
                   std::vector<msg::LwwEntry>& out);
  absl::Status Or(const FbTables<fb::OrKeyState>* in, const WirePath& where,
                  std::vector<msg::OrKeyState>& out);
  // Node ids valid and unique.
  absl::Status Pn(const FbTables<fb::PnEntry>* in, const WirePath& where, PnState& out);
  absl::Status Map(const fb::MapRecords* in, const WirePath& where, msg::MapRecords& out);
  absl::Status Maps(const FbTables<fb::MapRecords>* in, const WirePath& where,
                    std::vector<msg::MapRecords>& out);

  // ---- The vector pattern. For each element of `in` (absent: none), in order: charges
  // charge_each bytes (a budget error names "where[i]"), then calls
  // decode_one(element, "where[i]") -> absl::Status; stops at the first error.
  template <typename T, typename Fn>
  absl::Status Elements(const FbVector<T>* in, const WirePath& where, size_t charge_each,
                        Fn&& decode_one) {
    const flatbuffers::uoffset_t size = in == nullptr ? 0 : in->size();
    for (flatbuffers::uoffset_t i = 0; i < size; ++i) {
      const WirePath at = where[i];
      if (!Charge(charge_each)) return BudgetError(at);
      SG_RETURN_IF_ERROR(decode_one(in->Get(i), at));
    }
    return absl::OkStatus();
  }
  // Elements(), appending to `out` what decode_one(element, at, Out&) decoded.
  template <typename T, typename Out, typename Fn>
  absl::Status Vector(const FbVector<T>* in, const WirePath& where, size_t charge_each,
                      std::vector<Out>& out, Fn&& decode_one) {
    return Elements(in, where, charge_each, [&](auto element, const WirePath& at) {
      Out value;
      SG_RETURN_IF_ERROR(decode_one(element, at, value));
      out.push_back(std::move(value));
      return absl::OkStatus();
    });
  }

 private:
  size_t budget_left_;
  bool budget_exceeded_ = false;
};

}  // namespace seedgrid::wire_codec

#endif  // SEEDGRID_ENGINE_WIRE_DECODER_H_
