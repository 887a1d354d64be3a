#include "tools/seedgrid/outcome_codec.h"

#include "tools/seedgrid/command.h"
#include "tools/seedgrid/repro.h"

namespace seedgrid::tools {

using nlohmann::json;

namespace {

// Each struct's fields, listed once for both directions.
// clang-format off
#define SG_STATS_FIELDS(X) \
  X(messages_sent)         \
  X(messages_delivered)    \
  X(dropped_partition)     \
  X(dropped_loss)          \
  X(dropped_dead)          \
  X(duplicated)            \
  X(reordered)             \
  X(clogged)               \
  X(timers_fired)          \
  X(events)                \
  X(crashes)               \
  X(restarts)              \
  X(pauses)
#define SG_RESULT_FIELDS(X) \
  X(pass)                   \
  X(trace_hash)             \
  X(events)                 \
  X(sim_events)             \
  X(messages)               \
  X(virtual_ms)             \
  X(ops)                    \
  X(checks)                 \
  X(converged_after_ms)     \
  X(buggify_fired)          \
  X(buggify_sites)          \
  X(ops_generated)          \
  X(ops_dropped)            \
  X(faults_generated)       \
  X(faults_dropped)         \
  X(probes)
// clang-format on
#define SG_TO_JSON(field) j[#field] = v.field;
#define SG_FROM_JSON(field) j.at(#field).get_to(v.field);

json StatsToJson(const sim::SimStats& v) {
  json j;
  SG_STATS_FIELDS(SG_TO_JSON)
  return j;
}

sim::SimStats StatsFromJson(const json& j) {
  sim::SimStats v;
  SG_STATS_FIELDS(SG_FROM_JSON)
  return v;
}

json ResultToJson(const scenarios::RunResult& v) {
  json j;
  SG_RESULT_FIELDS(SG_TO_JSON)
  j["swarm"] = SwarmJson(v.swarm);
  j["stats"] = StatsToJson(v.stats);
  if (v.violation) {
    j["violation"] = {{"invariant", v.violation->invariant},
                      {"detail", v.violation->detail},
                      {"virtual_time_ns", v.violation->virtual_time_ns},
                      {"event_index", v.violation->event_index}};
  }
  return j;
}

scenarios::RunResult ResultFromJson(const json& j) {
  scenarios::RunResult v;
  SG_RESULT_FIELDS(SG_FROM_JSON)
  v.swarm = SwarmFromJson(j.at("swarm"), "a worker's result");
  v.stats = StatsFromJson(j.at("stats"));
  if (j.contains("violation")) {
    const json& w = j["violation"];
    v.violation = scenarios::RunViolation{
        w.at("invariant").get<std::string>(), w.at("detail").get<std::string>(),
        w.at("virtual_time_ns").get<uint64_t>(), w.at("event_index").get<uint64_t>()};
  }
  return v;
}

}  // namespace

std::string EncodeOutcome(const Outcome& o) {
  json j{{"result", ResultToJson(o.result)},
         {"wall_ms", o.wall_ms},
         {"nondeterministic", o.nondeterministic},
         {"divergence", o.divergence}};
  return j.dump();
}

std::optional<Outcome> DecodeOutcome(std::string_view bytes) {
  const json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    Outcome o{ResultFromJson(j.at("result"))};
    j.at("wall_ms").get_to(o.wall_ms);
    j.at("nondeterministic").get_to(o.nondeterministic);
    j.at("divergence").get_to(o.divergence);
    return o;
  } catch (const json::exception&) {
    return std::nullopt;
  } catch (const InputError&) {
    return std::nullopt;
  }
}

#undef SG_STATS_FIELDS
#undef SG_RESULT_FIELDS
#undef SG_TO_JSON
#undef SG_FROM_JSON

}  // namespace seedgrid::tools
