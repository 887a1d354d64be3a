#include "tools/seedgrid/repro.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

using nlohmann::json;

std::string ReplayCommand(const std::string& path, uint64_t seed, bool nondeterministic) {
  return fmt::format("{} replay --scenario {} --seed {}{}", ProgramName(), path, seed,
                     nondeterministic ? " --check-determinism" : "");
}

json ViolationJson(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  if (!Failed(o)) return nullptr;
  json v;
  if (o.nondeterministic) {
    v["invariant"] = "determinism";
    v["detail"] = o.divergence;
  } else {
    v["invariant"] = o.result.violation->invariant;
    v["detail"] = o.result.violation->detail;
    v["virtual_time_ns"] = o.result.violation->virtual_time_ns;
    v["event_index"] = o.result.violation->event_index;
  }
  v["replay"] = ReplayCommand(loaded.path, seed, o.nondeterministic);
  return v;
}

namespace {

// SwarmDraw's fields as JSON names.
constexpr std::pair<const char*, uint32_t scenarios::SwarmDraw::*> kSwarmRates[] = {
    {"loss_ppm", &scenarios::SwarmDraw::loss_ppm},
    {"duplicate_ppm", &scenarios::SwarmDraw::duplicate_ppm},
    {"reorder_ppm", &scenarios::SwarmDraw::reorder_ppm},
    {"partitions_per_min", &scenarios::SwarmDraw::partitions_per_min},
    {"crashes_per_min", &scenarios::SwarmDraw::crashes_per_min},
    {"pauses_per_min", &scenarios::SwarmDraw::pauses_per_min},
    {"clock_steps_per_min", &scenarios::SwarmDraw::clock_steps_per_min},
    {"clogs_per_min", &scenarios::SwarmDraw::clogs_per_min},
    {"offline_per_min", &scenarios::SwarmDraw::offline_per_min},
    {"storage_errors_ppm", &scenarios::SwarmDraw::storage_errors_ppm}};
// Rates added after repro files were first written: absent in an older file means 0.
constexpr std::pair<const char*, uint32_t scenarios::SwarmDraw::*> kSwarmRatesLater[] = {
    {"power_losses_per_min", &scenarios::SwarmDraw::power_losses_per_min},
    {"zone_losses_per_min", &scenarios::SwarmDraw::zone_losses_per_min},
    {"restart_clock_behind_pct", &scenarios::SwarmDraw::restart_clock_behind_pct},
    {"crash_points_ppm", &scenarios::SwarmDraw::crash_points_ppm}};
constexpr std::pair<const char*, bool scenarios::SwarmDraw::*> kSwarmFlags[] = {
    {"buggify", &scenarios::SwarmDraw::buggify},
    {"torn_writes", &scenarios::SwarmDraw::torn_writes}};

}  // namespace

json SwarmJson(const scenarios::SwarmDraw& swarm) {
  json j = json::object();
  for (const auto& [name, field] : kSwarmRates) j[name] = swarm.*field;
  for (const auto& [name, field] : kSwarmRatesLater) j[name] = swarm.*field;
  for (const auto& [name, field] : kSwarmFlags) j[name] = swarm.*field;
  return j;
}

scenarios::SwarmDraw SwarmFromJson(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError{fmt::format("{}: must be an object", where)};
  scenarios::SwarmDraw swarm;
  for (const auto& [name, field] : kSwarmRates) {
    if (!j.contains(name) || !j[name].is_number_unsigned() ||
        j[name].get<uint64_t>() > UINT32_MAX) {
      throw InputError{
          fmt::format("{}: field \"{}\" must be an unsigned 32-bit integer", where, name)};
    }
    swarm.*field = j[name].get<uint32_t>();
  }
  for (const auto& [name, field] : kSwarmRatesLater) {
    if (!j.contains(name)) continue;
    if (!j[name].is_number_unsigned() || j[name].get<uint64_t>() > UINT32_MAX) {
      throw InputError{
          fmt::format("{}: field \"{}\" must be an unsigned 32-bit integer", where, name)};
    }
    swarm.*field = j[name].get<uint32_t>();
  }
  for (const auto& [name, field] : kSwarmFlags) {
    if (!j.contains(name) || !j[name].is_boolean()) {
      throw InputError{fmt::format("{}: field \"{}\" must be true or false", where, name)};
    }
    swarm.*field = j[name].get<bool>();
  }
  return swarm;
}

bool SwarmGiven(const Outcome& o, const Loaded& loaded, uint64_t seed) {
  return !(o.result.swarm == scenarios::DrawSwarm(loaded.scenario, seed));
}

json ReproJson(const Outcome& o, const Loaded& loaded, uint64_t seed, const char* commit) {
  return json{{"format", "seedgrid-repro-1"},
              {"scenario_path", loaded.path},
              {"scenario_text", loaded.text},
              {"seed", seed},
              {"swarm", o.result.swarm.ToString()},
              {"swarm_draw", SwarmJson(o.result.swarm)},
              {"swarm_given", SwarmGiven(o, loaded, seed)},
              {"commit", commit},
              {"trace_hash", Hex(o.result.trace_hash)},
              {"violation", ViolationJson(o, loaded, seed)}};
}

void WriteRepro(const std::string& path, const Outcome& o, const Loaded& loaded, uint64_t seed,
                const char* commit) {
  json record = ReproJson(o, loaded, seed, commit);
  // The seed alone would draw another swarm: only this file replays the run.
  if (record["swarm_given"].get<bool>() && record["violation"].is_object()) {
    record["violation"]["replay"] = std::string(ProgramName()) + " replay " + path;
  }
  WriteFileOrThrow(path, record.dump(2) + "\n");
}

std::string FuzzReproPath(const std::string& out_dir, const std::string& scenario_name,
                          uint64_t seed) {
  std::string name = scenario_name;  // A file name: keep it one path segment.
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return fmt::format("{}/{}-seed-{}.repro.json", out_dir, name, seed);
}

namespace {

// Throws unless `repro` has the fields every repro file must have, with the right types.
void CheckReproFields(const std::string& file, const json& repro) {
  if (repro.is_discarded() || !repro.is_object() ||
      repro.value("format", "") != "seedgrid-repro-1" || !repro.contains("scenario_text") ||
      !repro["scenario_text"].is_string() || !repro.contains("seed") ||
      !repro["seed"].is_number_unsigned()) {
    throw InputError{fmt::format(
        "{}: not a seedgrid repro file (expected JSON with format \"seedgrid-repro-1\", "
        "scenario_text and seed)",
        file)};
  }
  for (const char* field : {"scenario_path", "trace_hash", "commit"}) {
    if (repro.contains(field) && !repro[field].is_string()) {
      throw InputError{fmt::format("{}: field \"{}\" must be a string", file, field)};
    }
  }
}

}  // namespace

Repro LoadRepro(const std::string& file) {
  std::optional<std::string> text = ReadFile(file);
  if (!text) throw InputError{fmt::format("{}: cannot read the repro file", file)};
  json repro = json::parse(*text, nullptr, false);
  CheckReproFields(file, repro);
  const std::string path = repro.value("scenario_path", file);
  std::string scenario_text = repro["scenario_text"].get<std::string>();
  absl::StatusOr<scenarios::Scenario> s = scenarios::ParseScenario(scenario_text, path);
  if (!s.ok()) throw InputError{std::string(s.status().message())};
  const uint64_t seed = repro["seed"].get<uint64_t>();
  std::optional<scenarios::SwarmDraw> swarm;
  if (repro.contains("swarm_given") && !repro["swarm_given"].is_boolean()) {
    throw InputError{fmt::format("{}: field \"swarm_given\" must be true or false", file)};
  }
  if (repro.value("swarm_given", false)) {
    if (!repro.contains("swarm_draw")) {
      throw InputError{fmt::format("{}: \"swarm_given\" is true but there is no swarm_draw", file)};
    }
    swarm = SwarmFromJson(repro["swarm_draw"], file + ": swarm_draw");
    if (absl::Status v = scenarios::ValidateSwarm(*s, *swarm); !v.ok()) {
      throw InputError{fmt::format("{}: swarm_draw: {}", file, std::string(v.message()))};
    }
  }
  return Repro{Loaded{std::move(*s), path, std::move(scenario_text)}, seed, std::move(repro),
               swarm};
}

}  // namespace seedgrid::tools
