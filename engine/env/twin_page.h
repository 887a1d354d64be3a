// Twin pages: small text values (a next sequence number, an HLC state) that a torn write must
// never roll back.
//
// Contract.
// - Storage tears at most the last unsynced write, leaving a prefix of its new bytes (a crash in
//   the simulator, sim_storage.h; a power cut mid-write on a disk); every other unsynced write is
//   lost, its page back to what the last good sync left. A plain decimal page "217" torn to "2"
//   still parses — to a smaller value.
// - PutTwinPage writes the value sealed (a terminator appended, so no strict prefix passes) to
//   two copies, "<name>.1" then "<name>.2". A crash tears at most one; the other holds the new
//   value or the last synced one. So a restore that takes the largest valid copy never goes below
//   the last synced value, whichever write was last — also when a rewrite after a storage error
//   stops between the two.
// - The single unsealed page `name` of a data directory written before twins existed is its
//   legacy part: read whole, and erased by the restore that read it (its next sync writes the
//   copies). Until that sync succeeds, the legacy page stays, so nothing rolls back meanwhile.
// - Values must not contain the terminator (asserted).
// Determinism: pure functions of their arguments.
#ifndef SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_
#define SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_

#include <optional>
#include <string>
#include <string_view>

#include "engine/env/page_store.h"

namespace seedgrid {

// Copy 1 or 2 of twin page `name`.
std::string TwinCopyName(std::string_view name, int copy);
// Writes `value` sealed to copy 1, then to copy 2.
void PutTwinPage(PageStore& pages, std::string_view name, std::string_view value);

// What a stored page is to twin page `name`.
enum class TwinPart { kNeither, kCopy, kLegacy };
TwinPart TwinPartOf(std::string_view page, std::string_view name);
// The value a part holds, or nullopt for a torn copy (the caller erases it).
std::optional<std::string_view> TwinPageValue(std::string_view bytes, TwinPart part);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_ENV_TWIN_PAGE_H_
