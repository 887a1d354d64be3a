#include "engine/crdt/field_name.h"

#include <xxhash.h>

#include <array>
#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/assert.h"

namespace seedgrid {

namespace {

// The process-wide pool: an open-addressing table of immortal names, found without a lock (names
// are never removed, so a slot once set never changes); inserts take a mutex. Process-wide rather
// than per thread: tests run simulations on several threads and documents may outlive the thread
// that built them. Never destroyed, so names stay valid in static destructors. Slot order is never
// iterated, so the hash only decides speed.
constexpr size_t kSlots = FieldName::kPoolNamesMax * 2;  // Load factor at most 1/2.
static_assert((kSlots & (kSlots - 1)) == 0);

struct Pool {
  std::array<std::atomic<const void*>, kSlots> slots{};
  absl::Mutex mu;  // Serialises inserts.
  size_t size ABSL_GUARDED_BY(mu) = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

}  // namespace

const FieldName::Name* FieldName::Empty() {
  static const Name* empty = new Name{std::string(), true};
  return empty;
}

const FieldName::Name* FieldName::Make(std::string_view text) {
  if (text.empty()) return Empty();
  if (text.size() > kPoolNameBytesMax) return new Name{std::string(text), false};
  Pool& pool = ThePool();
  const size_t start = XXH3_64bits(text.data(), text.size()) & (kSlots - 1);
  size_t empty = 0;  // The first empty slot of the last probe.
  // `text`'s entry, or nullptr. Ends: the table is never more than half full.
  const auto probe = [&]() -> const Name* {
    for (size_t i = start;; i = (i + 1) & (kSlots - 1)) {
      const auto* name = static_cast<const Name*>(pool.slots[i].load(std::memory_order_acquire));
      if (name == nullptr) {
        empty = i;
        return nullptr;
      }
      if (name->text == text) return name;
    }
  };
  if (const Name* found = probe()) return found;
  absl::MutexLock lock(&pool.mu);
  if (const Name* found = probe()) return found;  // Another thread may have added it meanwhile.
  if (pool.size >= kPoolNamesMax) return new Name{std::string(text), false};
  const Name* name = new Name{std::string(text), true, static_cast<uint32_t>(empty)};
  pool.slots[empty].store(name, std::memory_order_release);
  ++pool.size;
  return name;
}

FieldName::FieldName(std::string_view text) : name_(Make(text)) {}

FieldName::FieldName(const FieldName& other)
    : name_(other.name_->interned ? other.name_ : new Name{other.name_->text, false}) {}

FieldName& FieldName::operator=(const FieldName& other) {
  if (this != &other) *this = FieldName(other);
  return *this;
}

FieldName& FieldName::operator=(FieldName&& other) noexcept {
  if (this == &other) return *this;
  if (!name_->interned) delete name_;
  name_ = other.name_;
  other.name_ = Empty();
  return *this;
}

FieldName::~FieldName() {
  if (!name_->interned) delete name_;
}

std::string_view FieldName::PoolText(uint32_t slot) {
  SG_ASSERT(slot < kSlots);
  const auto* name =
      static_cast<const Name*>(ThePool().slots[slot].load(std::memory_order_acquire));
  SG_ASSERT(name != nullptr);
  return name->text;
}

size_t FieldName::PoolSize() {
  Pool& pool = ThePool();
  absl::MutexLock lock(&pool.mu);
  return pool.size;
}

}  // namespace seedgrid
