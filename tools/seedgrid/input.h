// Inputs of the simulation commands: scenario files, seeds, and the files the commands write.
//
// Contract: every function here either succeeds or throws InputError with a message that names
// the offending flag or file (the command then exits 2). Nothing here runs a simulation.
#ifndef SEEDGRID_TOOLS_SEEDGRID_INPUT_H_
#define SEEDGRID_TOOLS_SEEDGRID_INPUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scenarios/scenario.h"

namespace seedgrid::tools {

// A parsed scenario with where it came from.
struct Loaded {
  scenarios::Scenario scenario;
  std::string path;  // as given (or the repro file's record of it)
  std::string text;  // the scenario file's exact text
};

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> ReadFile(const std::string& path);
// Writes (truncating) `text` to `path`.
void WriteFileOrThrow(const std::string& path, const std::string& text);

// Creates `dir` (and parents) unless it exists; `what` names the flag in the error.
void CreateDirectoryOrThrow(const std::string& dir, std::string_view what);

// Reads and parses a scenario file.
Loaded LoadScenarioFile(const std::string& path);
// Parses a 64-bit seed, decimal or 0x-hex; `what` names the flag in the error.
uint64_t ParseSeed(const std::string& text, std::string_view what = "--seed");

// Seconds from "90", "90s", "10m" or "2h"; `what` names the flag in the error. "0" is accepted
// only when `zero_ok` (meaning "no limit"); at most a year.
uint64_t ParseDuration(const std::string& text, std::string_view what, bool zero_ok);

// 16 lower-case hex digits (trace hashes).
std::string Hex(uint64_t v);

}  // namespace seedgrid::tools

#endif  // SEEDGRID_TOOLS_SEEDGRID_INPUT_H_
