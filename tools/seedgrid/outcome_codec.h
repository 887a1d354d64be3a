// How a run's Outcome crosses from a worker process to the tool: JSON bytes.
//
// Contract: DecodeOutcome(EncodeOutcome(o)) equals `o` in every field the reports, tables, JUnit
// XML, repro files and probe reports read — everything but the in-memory trace log, which never
// leaves the worker. DecodeOutcome returns nullopt for bytes EncodeOutcome did not write (a worker
// that wrote garbage is treated as crashed by the caller). The swarm travels in the repro file's
// form (repro.h: SwarmJson).
#ifndef SEEDGRID_TOOLS_SEEDGRID_OUTCOME_CODEC_H_
#define SEEDGRID_TOOLS_SEEDGRID_OUTCOME_CODEC_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "scenarios/swarm.h"
#include "tools/seedgrid/execute.h"

namespace seedgrid::tools {

std::string EncodeOutcome(const Outcome& o);
std::optional<Outcome> DecodeOutcome(std::string_view bytes);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_OUTCOME_CODEC_H_
