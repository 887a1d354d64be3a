// Documents as JSON, for the real client and server (seedgrid client, HTTP sync: sync_json.h).
//
// A document is a JSON object whose fields are null, true/false, integers (int64), other numbers
// (double), strings, or arrays of strings — exactly what a Document holds. Anything else (a nested
// object, an array with a non-string, an integer beyond int64) is an InvalidArgument naming the
// field. Output is an object in field order; doubles print so that they read back bit-equal
// (non-finite doubles print as null, JSON having no other spelling for them).
#ifndef SEEDGRID_ENGINE_NET_DOCUMENT_JSON_H_
#define SEEDGRID_ENGINE_NET_DOCUMENT_JSON_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/crdt/value.h"

namespace seedgrid::net {

// `where` prefixes error messages (e.g. "line 3").
absl::StatusOr<Document> DocumentFromJson(const nlohmann::json& j, std::string_view where);
absl::StatusOr<Document> ParseDocument(std::string_view text, std::string_view where);
nlohmann::json DocumentToJson(const Document& doc);

}  // namespace seedgrid::net

#endif  // SEEDGRID_ENGINE_NET_DOCUMENT_JSON_H_
