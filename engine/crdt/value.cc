#include "engine/crdt/value.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "engine/base/assert.h"
#include "engine/crdt/digest.h"

namespace seedgrid {

namespace {

uint64_t DoubleBits(double d) { return std::bit_cast<uint64_t>(d); }

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

bool ValueEquals(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const double* da = std::get_if<double>(&a))
    return DoubleBits(*da) == DoubleBits(std::get<double>(b));
  return a == b;
}

std::string ValueToString(const Value& v) {
  switch (TypeOf(v)) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return std::get<bool>(v) ? "true" : "false";
    case ValueType::kInt:
      return fmt::format("{}", std::get<int64_t>(v));
    case ValueType::kDouble:
      return fmt::format("{}", std::get<double>(v));
    case ValueType::kString:
      return Quote(std::get<std::string>(v));
    case ValueType::kList: {
      std::string out = "[";
      for (const auto& s : std::get<StringList>(v)) {
        if (out.size() > 1) out += ", ";
        out += Quote(s);
      }
      return out + "]";
    }
  }
  SG_ASSERT(false);
}

Document::Document(std::initializer_list<Field> fields) {
  for (const auto& [name, value] : fields) Set(name, value);
}

void Document::Set(FieldName name, Value value) {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), name.view(),
                             [](const Field& f, std::string_view n) { return f.first.view() < n; });
  if (it != fields_.end() && it->first == name) {
    it->second = std::move(value);
  } else {
    fields_.emplace(it, std::move(name), std::move(value));
  }
}

const Value* Document::Get(std::string_view name) const {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), name,
                             [](const Field& f, std::string_view n) { return f.first.view() < n; });
  if (it != fields_.end() && it->first == name) return &it->second;
  return nullptr;
}

bool Document::Erase(std::string_view name) {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), name,
                             [](const Field& f, std::string_view n) { return f.first.view() < n; });
  if (it == fields_.end() || it->first != name) return false;
  fields_.erase(it);
  return true;
}

uint64_t Document::Digest() const {
  DigestWriter w;
  w.U32(static_cast<uint32_t>(fields_.size()));
  for (const auto& [name, value] : fields_) {
    w.Str(name);
    w.U8(static_cast<uint8_t>(TypeOf(value)));
    switch (TypeOf(value)) {
      case ValueType::kNull:
        break;
      case ValueType::kBool:
        w.U8(std::get<bool>(value) ? 1 : 0);
        break;
      case ValueType::kInt:
        w.U64(static_cast<uint64_t>(std::get<int64_t>(value)));
        break;
      case ValueType::kDouble:
        w.U64(DoubleBits(std::get<double>(value)));
        break;
      case ValueType::kString:
        w.Str(std::get<std::string>(value));
        break;
      case ValueType::kList: {
        const auto& list = std::get<StringList>(value);
        w.U32(static_cast<uint32_t>(list.size()));
        for (const auto& s : list) w.Str(s);
        break;
      }
    }
  }
  return w.Finish();
}

std::string Document::ToString() const {
  std::string out = "{";
  for (const auto& [name, value] : fields_) {
    if (out.size() > 1) out += ", ";
    out += Quote(name.view()) + ": " + ValueToString(value);
  }
  return out + "}";
}

bool operator==(const Document& a, const Document& b) {
  if (a.fields_.size() != b.fields_.size()) return false;
  for (size_t i = 0; i < a.fields_.size(); ++i) {
    if (a.fields_[i].first != b.fields_[i].first) return false;
    if (!ValueEquals(a.fields_[i].second, b.fields_[i].second)) return false;
  }
  return true;
}

}  // namespace seedgrid
