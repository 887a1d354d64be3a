#include "engine/base/buggify.h"

#include <xxhash.h>

namespace seedgrid {

namespace {
// sg:thread-context-ok: installed and cleared by ScopedBuggify, one simulation per thread.
thread_local BuggifyContext* current_context = nullptr;
}  // namespace

BuggifyContext::BuggifyContext(uint64_t seed)
    : seed_(seed), random_(XXH3_64bits_withSeed("buggify", 7, seed)) {}

bool BuggifyContext::Enabled(std::string_view site) const {
  return XXH3_64bits_withSeed(site.data(), site.size(), seed_) % 4 == 0;
}

bool BuggifyContext::Fire(std::string_view site) {
  auto it = sites_.find(site);
  if (it == sites_.end()) it = sites_.emplace(std::string(site), SiteStats{Enabled(site)}).first;
  SiteStats& stats = it->second;
  ++stats.evaluated;
  if (!stats.enabled) return false;
  const bool fire = random_.Uniform(4) == 0;
  stats.fired += fire;
  return fire;
}

ScopedBuggify::ScopedBuggify(BuggifyContext* context) : previous_(current_context) {
  current_context = context;
}

ScopedBuggify::~ScopedBuggify() { current_context = previous_; }

namespace internal {
bool BuggifyFire(std::string_view site) {
  return current_context != nullptr && current_context->Fire(site);
}
}  // namespace internal

}  // namespace seedgrid
