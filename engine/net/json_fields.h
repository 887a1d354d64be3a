// Internal to net_json (sync_json.cc): the field readers for JSON bodies. Each reads one JSON value
// into a C++ value and checks it, and a bad value is an InvalidArgument that names the field path
// ("ops[3].concern: expected a write concern string, got 7"), so a hand-written body's author
// learns which field is wrong. Not for use elsewhere.
//
// Contract.
// - Readers take (value, path, out): on success they set `out`; on an error they may have
//   partly set it. Values the wire decoder would reject (node ids, map names, partitions) are
//   rejected by the same rules.
// - Errors quote at most the first 64 bytes of a value, and name at most 5 unknown fields.
// - Pure functions: no clock, no randomness, no state.
#ifndef SEEDGRID_ENGINE_NET_JSON_FIELDS_H_
#define SEEDGRID_ENGINE_NET_JSON_FIELDS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/crdt/value.h"
#include "engine/hlc/timestamp.h"
#include "engine/wire/messages.h"

namespace seedgrid::net::json_fields {

// "fire_and_forget", "applied", "replicated": msg::WriteConcernName in lower case.
std::string ConcernName(msg::WriteConcern concern);

// A position in the body, such as "ops[3].concern": a chain of segments on the stack, formatted
// only when an error names it. Make paths as call arguments or locals, never store them.
class Path {
 public:
  Path() = default;  // The body itself.
  Path Field(std::string_view name) const { return Path(this, name, kNoIndex); }
  Path operator[](size_t i) const { return Path(this, {}, i); }
  std::string str() const;

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  Path(const Path* parent, std::string_view text, size_t index)
      : parent_(parent), text_(text), index_(index) {}
  void AppendTo(std::string& out) const;

  const Path* parent_ = nullptr;
  std::string_view text_;
  size_t index_ = kNoIndex;
};

// "<path>: <what>".
absl::Status Error(const Path& at, std::string_view what);
// "<path>: expected <what>, got <v described>".
absl::Status Expected(const Path& at, std::string_view what, const nlohmann::json& v);

// `s`, cut to its first 64 bytes with "..." when longer.
std::string Clip(std::string_view s);
// How an error shows a value it did not expect: numbers and short strings as they are, other
// types by name.
std::string Describe(const nlohmann::json& v);
// "a, b or c".
std::string OneOf(std::initializer_list<const char*> names);

// An object whose fields are all among `fields`.
absl::Status CheckObject(const nlohmann::json& j, const Path& at,
                         std::initializer_list<const char*> fields);
// The field, or nullptr when it is absent or null (an optional field may be spelled null).
const nlohmann::json* Optional(const nlohmann::json& j, const char* name);
// The field (possibly null), or an error when it is absent.
absl::Status Required(const nlohmann::json& j, const Path& at, const char* name,
                      const nlohmann::json*& out);

absl::Status U64(const nlohmann::json& v, const Path& at, uint64_t& out);
absl::Status Bool(const nlohmann::json& v, const Path& at, bool& out);
absl::Status Str(const nlohmann::json& v, const Path& at, std::string& out);
// The wire decoder's rule (Decoder::Node): ValidateNodeId of engine/hlc/timestamp.h.
absl::Status Node(const nlohmann::json& v, const Path& at, std::string& out);
// The wire decoder's rule (Decoder::MapName).
absl::Status MapName(const nlohmann::json& v, const Path& at, std::string& out);
// "millis:counter:node_id" (Timestamp::Parse).
absl::Status Ts(const nlohmann::json& v, const Path& at, Timestamp& out);
// A ConcernName.
absl::Status Concern(const nlohmann::json& v, const Path& at, msg::WriteConcern& out);
// 0..kPartitionCount-1.
absl::Status Partition(const nlohmann::json& v, const Path& at, uint32_t& out);
// A "digests" key: a partition in canonical decimal.
std::optional<uint32_t> PartitionKey(std::string_view text);
// 16 hex digits, in either case.
absl::Status Digest(const nlohmann::json& v, const Path& at, uint64_t& out);
// A document (DocumentFromJson, document_json.h).
absl::Status Doc(const nlohmann::json& v, const Path& at, Document& out);
// Checks only that `v` is an array; `of` names its elements in the error.
absl::Status Array(const nlohmann::json& v, const Path& at, std::string_view of);

// The whole body; an error is "body: not JSON: ...".
absl::Status Parse(std::string_view body, nlohmann::json& out);

}  // namespace seedgrid::net::json_fields

#endif  // SEEDGRID_ENGINE_NET_JSON_FIELDS_H_
