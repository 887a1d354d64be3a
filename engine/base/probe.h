// SG_PROBE("area.what"): coverage probes — states in engine code worth reaching in simulation (an
// LWW tie broken by hash, an op log replayed after a restart, a handoff with a write pending).
// Reports list how often each probe was hit and which were never reached; `fuzz --guided` steers
// towards the rare ones.
//
// Contract.
// - `SG_PROBE(name)` is a statement that counts one hit of `name` in the run context installed on
//   the calling thread. It never changes what the program does: no randomness, no output, and it
//   reads nothing but the context pointer. With no context installed (production, unit tests) it
//   costs one predictable branch on a null thread-local pointer and counts nothing.
// - `name` is a string literal `area.what`: lower-case letters, digits and '_', one '.', both
//   parts non-empty and starting with a letter (checked at compile time). Several sites may share
//   a name; they count as one probe.
// - Every probe site linked into the binary registers its name during static initialisation,
//   before main, whether or not it is ever hit: ProbeNames() is the full catalogue.
// - Counts live in a ProbeContext, one per simulation run, installed for the run's thread by a
//   ScopedProbes (like BuggifyContext). Runs on different threads never share counts.
// Thread safety: registration and ProbeNames() are safe from any thread; a ProbeContext belongs
// to the one thread that runs its simulation.
#ifndef SEEDGRID_ENGINE_BASE_PROBE_H_
#define SEEDGRID_ENGINE_BASE_PROBE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seedgrid {

// Whether `name` is a well-formed probe name (see the contract).
constexpr bool IsValidProbeName(std::string_view name) {
  const size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return false;
  if (name.find('.', dot + 1) != std::string_view::npos) return false;
  const auto is_letter = [](char c) { return c >= 'a' && c <= 'z'; };
  if (!is_letter(name[0]) || !is_letter(name[dot + 1])) return false;
  for (const char c : name) {
    if (!is_letter(c) && !(c >= '0' && c <= '9') && c != '_' && c != '.') return false;
  }
  return true;
}

// Every registered probe name, sorted, each once.
std::vector<std::string> ProbeNames();

// The hit counts of one simulation run.
class ProbeContext {
 public:
  ProbeContext() = default;
  ProbeContext(const ProbeContext&) = delete;
  ProbeContext& operator=(const ProbeContext&) = delete;

  // Counts one hit of the probe registered as `id`.
  void Hit(uint32_t id);
  // (name, hits) of every probe hit at least once, sorted by name.
  std::vector<std::pair<std::string, uint64_t>> Hits() const;

 private:
  std::vector<uint64_t> hits_;  // by probe id
};

// Installs `context` (may be null) for the current thread until destroyed, then restores the
// previous one.
class ScopedProbes {
 public:
  explicit ScopedProbes(ProbeContext* context);
  ~ScopedProbes();
  ScopedProbes(const ScopedProbes&) = delete;
  ScopedProbes& operator=(const ScopedProbes&) = delete;

 private:
  ProbeContext* previous_;
};

namespace internal {

// Registers `name` (once per name) and returns its id. Thread-safe.
uint32_t RegisterProbe(std::string_view name);

// The context of the simulation running on this thread, or null.
// sg:thread-context-ok: installed and cleared by ScopedProbes, one simulation per thread.
inline constinit thread_local ProbeContext* current_probes = nullptr;

inline void ProbeHit(uint32_t id) {
  if (ProbeContext* context = current_probes) [[unlikely]] {
    context->Hit(id);
  }
}

// A probe name as a template argument; ill-formed (a compile error) unless the name is valid.
template <size_t N>
struct ProbeLiteral {
  consteval ProbeLiteral(const char (&text)[N]) {  // NOLINT: implicit from a literal on purpose.
    for (size_t i = 0; i < N; ++i) chars[i] = text[i];
    if (!IsValidProbeName(view())) throw "SG_PROBE: the name must be area.what ([a-z0-9_])";
  }
  constexpr std::string_view view() const { return std::string_view(chars, N - 1); }
  char chars[N] = {};
};

// One id per name, registered during static initialisation of the site's translation unit.
template <ProbeLiteral kName>
inline const uint32_t kProbeId = RegisterProbe(kName.view());

}  // namespace internal

}  // namespace seedgrid

#define SG_PROBE(name) ::seedgrid::internal::ProbeHit(::seedgrid::internal::kProbeId<name>)

#endif  // SEEDGRID_ENGINE_BASE_PROBE_H_
