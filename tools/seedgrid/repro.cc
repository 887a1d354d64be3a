#include "tools/seedgrid/repro.h"

#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <utility>

#include "tools/seedgrid/command.h"

namespace seedgrid::tools {

using nlohmann::json;

std::string ReplayCommand(const std::string& path, uint64_t seed) {
  return fmt::format("seedgrid replay --scenario {} --seed {}", path, seed);
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
  v["replay"] = ReplayCommand(loaded.path, seed);
  return v;
}

json ReproJson(const Outcome& o, const Loaded& loaded, uint64_t seed, const char* commit) {
  return json{
      {"format", "seedgrid-repro-1"},           {"scenario_path", loaded.path},
      {"scenario_text", loaded.text},           {"seed", seed},
      {"swarm", o.result.swarm.ToString()},     {"commit", commit},
      {"trace_hash", Hex(o.result.trace_hash)}, {"violation", ViolationJson(o, loaded, seed)}};
}

void WriteRepro(const std::string& path, const Outcome& o, const Loaded& loaded, uint64_t seed,
                const char* commit) {
  WriteFileOrThrow(path, ReproJson(o, loaded, seed, commit).dump(2) + "\n");
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
  return Repro{Loaded{std::move(*s), path, std::move(scenario_text)}, seed, std::move(repro)};
}

}  // namespace seedgrid::tools
