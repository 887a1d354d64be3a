#include "engine/base/probe.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "engine/base/assert.h"

namespace seedgrid {

namespace {

// The catalogue of probe names. A function-local static, so that registrations from other
// translation units' static initialisers find it constructed whatever the initialisation order.
struct Registry {
  std::mutex mu;
  std::map<std::string, uint32_t, std::less<>> ids;  // name -> id
  std::vector<std::string> names;                    // id -> name
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry();  // Never destroyed: used until exit.
  return *registry;
}

}  // namespace

std::vector<std::string> ProbeNames() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  names.reserve(r.ids.size());
  for (const auto& [name, id] : r.ids) names.push_back(name);
  return names;  // std::map: already sorted and unique.
}

void ProbeContext::Hit(uint32_t id) {
  if (id >= hits_.size()) hits_.resize(id + 1, 0);
  ++hits_[id];
}

std::vector<std::pair<std::string, uint64_t>> ProbeContext::Hits() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  Registry& r = TheRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    for (size_t id = 0; id < hits_.size(); ++id) {
      SG_ASSERT(id < r.names.size());
      if (hits_[id] > 0) out.emplace_back(r.names[id], hits_[id]);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

ScopedProbes::ScopedProbes(ProbeContext* context) : previous_(internal::current_probes) {
  internal::current_probes = context;
}

ScopedProbes::~ScopedProbes() { internal::current_probes = previous_; }

namespace internal {

uint32_t RegisterProbe(std::string_view name) {
  SG_ASSERT(IsValidProbeName(name));
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.ids.find(name);
  if (it != r.ids.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(r.names.size());
  r.names.emplace_back(name);
  r.ids.emplace(std::string(name), id);
  return id;
}

}  // namespace internal

}  // namespace seedgrid
