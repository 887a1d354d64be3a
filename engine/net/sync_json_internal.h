// Internal to engine/net/sync_json*.cc: the HTTP sync JSON body's shared readers, and the readers
// and writers of its counter and OR-Map parts (sync_json_crdt.cc). The formats are sync_json.h's.
#ifndef SEEDGRID_ENGINE_NET_SYNC_JSON_INTERNAL_H_
#define SEEDGRID_ENGINE_NET_SYNC_JSON_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/crdt/pn_counter.h"
#include "engine/net/json_fields.h"
#include "engine/wire/messages.h"

namespace seedgrid::net::sync_json_internal {

// An array of `what` that the budget (the records, counters included, the message may still hold)
// has room for; takes its length from the budget.
absl::Status TakeRecords(const nlohmann::json& v, const json_fields::Path& at, const char* what,
                         size_t& budget);
// The required "key" of a record or counter of `partition`.
absl::Status ReadKey(const nlohmann::json& j, const json_fields::Path& at, uint32_t partition,
                     std::string& key);

// Readers (sync_json_crdt.cc): a map's "counters" and "or_keys", an op's "counter" and "or".
absl::Status ReadCounters(const nlohmann::json& v, const json_fields::Path& at, uint32_t partition,
                          size_t& budget, std::vector<msg::CounterEntry>& out);
absl::Status ReadOrKeys(const nlohmann::json& v, const json_fields::Path& at, uint32_t partition,
                        size_t& budget, std::vector<msg::OrKeyState>& out);
absl::Status ReadOrOp(const nlohmann::json& v, const json_fields::Path& at, size_t& budget,
                      msg::GridOp& op);
absl::Status ReadCounterOp(const nlohmann::json& v, const json_fields::Path& at, PnTotals& out);

// Writers: "counters" and "or_keys" go into `out` only when there are any.
void AddCountersJson(const std::vector<msg::CounterEntry>& counters, nlohmann::ordered_json& out);
void AddOrKeysJson(const std::vector<msg::OrKeyState>& or_keys, nlohmann::ordered_json& out);
nlohmann::ordered_json StampsJson(const std::vector<Timestamp>& stamps);

}  // namespace seedgrid::net::sync_json_internal

#endif  // SEEDGRID_ENGINE_NET_SYNC_JSON_INTERNAL_H_
