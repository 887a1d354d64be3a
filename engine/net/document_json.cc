#include "engine/net/document_json.h"

#include <fmt/format.h>

#include <cmath>

namespace seedgrid::net {

absl::StatusOr<Document> DocumentFromJson(const nlohmann::json& j, std::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: a document must be a JSON object, got {}", where, j.type_name()));
  }
  Document doc;
  for (const auto& [name, v] : j.items()) {
    auto bad = [&, name = name](std::string_view why) {
      return absl::InvalidArgumentError(fmt::format("{}: field '{}' {}", where, name, why));
    };
    if (v.is_null()) {
      doc.Set(name, std::monostate{});
    } else if (v.is_boolean()) {
      doc.Set(name, v.get<bool>());
    } else if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
        return bad("is an integer beyond int64");
      }
      doc.Set(name, v.get<int64_t>());
    } else if (v.is_number_float()) {
      doc.Set(name, v.get<double>());
    } else if (v.is_string()) {
      doc.Set(name, v.get<std::string>());
    } else if (v.is_array()) {
      StringList list;
      for (const auto& item : v) {
        if (!item.is_string()) return bad("is an array with a non-string item");
        list.push_back(item.get<std::string>());
      }
      doc.Set(name, std::move(list));
    } else {
      return bad(fmt::format("is a {} (fields are null, bool, number, string or string array)",
                             v.type_name()));
    }
  }
  return doc;
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
  for (const auto& [name, v] : doc) {
    std::visit(
        [&, name = name.str()](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            j[name] = nullptr;
          } else if constexpr (std::is_same_v<T, double>) {
            j[name] = std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
          } else {
            j[name] = x;
          }
        },
        v);
  }
  return j;
}

}  // namespace seedgrid::net
