#include "engine/net/document_json.h"

#include <fmt/format.h>

#include <cmath>

namespace seedgrid::net {

absl::StatusOr<Document> DocumentFromJson(const nlohmann::json& j, std::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: a document must be a JSON object, got {}", where, j.type_name()));
  }
  std::vector<Document::Field> fields;  // Keys of a JSON object are unique.
  for (const auto& [name, v] : j.items()) {
    auto bad = [&, name = name](std::string_view why) {
      return absl::InvalidArgumentError(fmt::format("{}: field '{}' {}", where, name, why));
    };
    if (v.is_null()) {
      fields.emplace_back(FieldName(name), Value(std::monostate{}));
    } else if (v.is_boolean()) {
      fields.emplace_back(FieldName(name), Value(v.get<bool>()));
    } else if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
        return bad("is an integer beyond int64");
      }
      fields.emplace_back(FieldName(name), Value(v.get<int64_t>()));
    } else if (v.is_number_float()) {
      fields.emplace_back(FieldName(name), Value(v.get<double>()));
    } else if (v.is_string()) {
      fields.emplace_back(FieldName(name), Value(v.get<std::string>()));
    } else if (v.is_array()) {
      StringList list;
      for (const auto& item : v) {
        if (!item.is_string()) return bad("is an array with a non-string item");
        list.push_back(item.get<std::string>());
      }
      fields.emplace_back(FieldName(name), Value(std::move(list)));
    } else {
      return bad(fmt::format("is a {} (fields are null, bool, number, string or string array)",
                             v.type_name()));
    }
  }
  return Document(std::move(fields));
}

absl::StatusOr<Document> ParseDocument(std::string_view text, std::string_view where) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(fmt::format("{}: not valid JSON: {}", where, text));
  }
  return DocumentFromJson(j, where);
}

nlohmann::json DocumentToJson(const Document& doc) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto [name, v] : doc) {
    nlohmann::json& out = j[std::string(name)];
    switch (v.type()) {
      case ValueType::kNull:
        out = nullptr;
        break;
      case ValueType::kBool:
        out = v.bool_value();
        break;
      case ValueType::kInt:
        out = v.int_value();
        break;
      case ValueType::kDouble:
        out = std::isfinite(v.double_value()) ? nlohmann::json(v.double_value())
                                              : nlohmann::json(nullptr);
        break;
      case ValueType::kString:
        out = std::string(v.string_value());
        break;
      case ValueType::kList:
        out = nlohmann::json::array();
        for (std::string_view s : v.list_value()) out.push_back(std::string(s));
        break;
    }
  }
  return j;
}

}  // namespace seedgrid::net
