#include "engine/net/json_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/base/status_macros.h"
#include "engine/cluster/partition.h"
#include "engine/crdt/value.h"
#include "engine/hlc/timestamp.h"
#include "engine/net/document_json.h"
#include "engine/wire/codec.h"
#include "engine/wire/messages.h"

namespace seedgrid::net::json_fields {
namespace {

using json = nlohmann::json;

static_assert(kPartitionCount == kWirePartitionCount);

constexpr msg::WriteConcern kConcerns[] = {
    msg::WriteConcern::kFireAndForget, msg::WriteConcern::kApplied, msg::WriteConcern::kReplicated};
constexpr size_t kClipBytes = 64;  // of a value quoted in an error
constexpr size_t kUnknownFieldsNamed = 5;

}  // namespace

std::string ConcernName(msg::WriteConcern concern) {
  std::string name(msg::WriteConcernName(concern));
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

std::string Path::str() const {
  std::string out;
  AppendTo(out);
  return out.empty() ? std::string("body") : out;
}

void Path::AppendTo(std::string& out) const {
  if (parent_ != nullptr) parent_->AppendTo(out);
  if (index_ != kNoIndex) {
    out += fmt::format("[{}]", index_);
  } else if (!text_.empty()) {
    if (!out.empty()) out += '.';
    out += text_;
  }
}

absl::Status Error(const Path& at, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", at.str(), what));
}

std::string Clip(std::string_view s) {
  if (s.size() <= kClipBytes) return std::string(s);
  return fmt::format("{}...", s.substr(0, kClipBytes));
}

// How an error shows a value it did not expect: numbers and short strings as they are, other
// types by name.
std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
    case json::value_t::boolean:
    case json::value_t::null:
      return v.dump();
    case json::value_t::string:
      return fmt::format("string '{}'", Clip(v.get_ref<const std::string&>()));
    default:
      return v.type_name();
  }
}

absl::Status Expected(const Path& at, std::string_view what, const json& v) {
  return Error(at, fmt::format("expected {}, got {}", what, Describe(v)));
}

// "a, b or c".
std::string OneOf(std::initializer_list<const char*> names) {
  std::string out;
  size_t i = 0;
  for (const char* name : names) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += name;
    ++i;
  }
  return out;
}

// An object whose fields are all among `fields`.
absl::Status CheckObject(const json& j, const Path& at, std::initializer_list<const char*> fields) {
  if (!j.is_object()) return Expected(at, "an object", j);
  std::vector<std::string> unknown;
  size_t unknown_count = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const bool known =
        std::any_of(fields.begin(), fields.end(), [&name](const char* f) { return name == f; });
    if (known) continue;
    ++unknown_count;
    if (unknown.size() < kUnknownFieldsNamed) unknown.push_back(fmt::format("'{}'", Clip(name)));
  }
  if (unknown_count == 0) return absl::OkStatus();
  std::string named = fmt::format("{}", fmt::join(unknown, ", "));
  if (unknown_count > unknown.size()) {
    named += fmt::format(" and {} more", unknown_count - unknown.size());
  }
  return Error(at, fmt::format("unknown field{} {} (expected {})", unknown_count == 1 ? "" : "s",
                               named, OneOf(fields)));
}

// The field, or nullptr when it is absent or null (an optional field may be spelled null).
const json* Optional(const json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

absl::Status Required(const json& j, const Path& at, const char* name, const json*& out) {
  auto it = j.find(name);
  if (it == j.end()) return Error(at, fmt::format("missing required field '{}'", name));
  out = &*it;
  return absl::OkStatus();
}

absl::Status U64(const json& v, const Path& at, uint64_t& out) {
  // "-0" parses as a signed zero; every other non-negative integer as unsigned.
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    return Expected(at, "a non-negative integer", v);
  }
  out = v.is_number_unsigned() ? v.get<uint64_t>() : 0;
  return absl::OkStatus();
}

absl::Status Bool(const json& v, const Path& at, bool& out) {
  if (!v.is_boolean()) return Expected(at, "true or false", v);
  out = v.get<bool>();
  return absl::OkStatus();
}

absl::Status Str(const json& v, const Path& at, std::string& out) {
  if (!v.is_string()) return Expected(at, "a string", v);
  out = v.get<std::string>();
  return absl::OkStatus();
}

// The wire decoder's rule (Decoder::Node): ValidateNodeId of engine/hlc/timestamp.h.
absl::Status Node(const json& v, const Path& at, std::string& out) {
  SG_RETURN_IF_ERROR(Str(v, at, out));
  if (absl::Status s = ::seedgrid::ValidateNodeId(out); !s.ok()) {
    return Error(at, std::string(s.message()));
  }
  return absl::OkStatus();
}

// The wire decoder's rule (Decoder::MapName).
absl::Status MapName(const json& v, const Path& at, std::string& out) {
  SG_RETURN_IF_ERROR(Str(v, at, out));
  if (out.empty()) return Error(at, "map name must not be empty");
  if (out.size() > kMapNameBytesMax) {
    return Error(at, fmt::format("map name is {} bytes; at most {}", out.size(), kMapNameBytesMax));
  }
  return absl::OkStatus();
}

absl::Status Ts(const json& v, const Path& at, Timestamp& out) {
  if (!v.is_string()) return Expected(at, "a timestamp string \"millis:counter:node_id\"", v);
  absl::StatusOr<Timestamp> ts = Timestamp::Parse(v.get_ref<const std::string&>());
  if (!ts.ok()) return Error(at, std::string(ts.status().message()));
  out = *std::move(ts);
  return absl::OkStatus();
}

absl::Status Concern(const json& v, const Path& at, msg::WriteConcern& out) {
  if (!v.is_string()) return Expected(at, "a write concern string", v);
  const std::string& text = v.get_ref<const std::string&>();
  for (msg::WriteConcern c : kConcerns) {
    if (text == ConcernName(c)) {
      out = c;
      return absl::OkStatus();
    }
  }
  return Error(at, fmt::format("unknown write concern '{}' (expected fire_and_forget, applied or "
                               "replicated)",
                               Clip(text)));
}

absl::Status Partition(const json& v, const Path& at, uint32_t& out) {
  uint64_t p = 0;
  SG_RETURN_IF_ERROR(U64(v, at, p));
  if (p >= kPartitionCount) {
    return Error(at, fmt::format("partition {} is not 0..{}", p, kPartitionCount - 1));
  }
  out = static_cast<uint32_t>(p);
  return absl::OkStatus();
}

// A "digests" key: a partition in canonical decimal.
std::optional<uint32_t> PartitionKey(std::string_view text) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t p = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p >= kPartitionCount) return std::nullopt;
  return p;
}

absl::Status Digest(const json& v, const Path& at, uint64_t& out) {
  if (!v.is_string()) return Expected(at, "a digest of 16 hex digits", v);
  const std::string& text = v.get_ref<const std::string&>();
  uint64_t d = 0;
  bool ok = text.size() == 16;
  for (size_t i = 0; ok && i < text.size(); ++i) {
    const char c = text[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      ok = false;
    }
    d = (d << 4) | digit;
  }
  if (!ok) return Error(at, fmt::format("digest '{}' is not 16 hex digits", Clip(text)));
  out = d;
  return absl::OkStatus();
}

absl::Status Doc(const json& v, const Path& at, Document& out) {
  absl::StatusOr<Document> doc = DocumentFromJson(v, at.str());
  if (!doc.ok()) return doc.status();
  out = *std::move(doc);
  return absl::OkStatus();
}

absl::Status Array(const json& v, const Path& at, std::string_view of) {
  if (!v.is_array()) return Expected(at, fmt::format("an array of {}", of), v);
  return absl::OkStatus();
}

absl::Status Parse(std::string_view body, json& out) {
  try {
    out = json::parse(body.data(), body.data() + body.size());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, ...": the part after the tag.
    std::string_view what = e.what();
    if (const size_t tag_end = what.find("] "); tag_end != std::string_view::npos) {
      what.remove_prefix(tag_end + 2);
    }
    return Error(Path(), fmt::format("not JSON: {}", what));
  }
  return absl::OkStatus();
}

}  // namespace seedgrid::net::json_fields
