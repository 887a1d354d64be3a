// Interned<Traits>: a string interned in a process-wide pool, 8 bytes instead of std::string's 32,
// for text that repeats across millions of objects: document field names (FieldName) and the node
// ids in HLC timestamps (NodeId).
//
// An Interned behaves as its text: equality, ordering (byte-wise) and hashing see only the bytes,
// never the address, so nothing observable depends on whether or where a text was interned.
// Each Traits type has its own pool (thread-safe; finding a pooled text takes no lock, adding one
// takes a mutex; never shrinks; a fixed table of 2 * Traits::kNamesMax slots of 8 bytes, made on
// first use). A pool is bounded: it holds at most Traits::kNamesMax texts of at most
// Traits::kNameBytesMax bytes each; any other text is owned by its Interned (a heap copy), so a
// peer inventing names cannot grow a pool without bound. Pooled texts live until the process
// exits. Traits: `static constexpr size_t kNamesMax` (a power of two) and `kNameBytesMax`.
#ifndef SEEDGRID_ENGINE_BASE_INTERNED_H_
#define SEEDGRID_ENGINE_BASE_INTERNED_H_

#include <fmt/format.h>

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace seedgrid {

namespace interned_internal {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

struct Entry {
  std::string text;
  bool interned;
  uint32_t slot = kNoSlot;
};

// One pool: an open-addressing table of immortal entries, found without a lock (entries are never
// removed, so a slot once set never changes); inserts take a mutex. Process-wide rather than per
// thread: tests run simulations on several threads and objects may outlive the thread that built
// them. Never destroyed, so texts stay valid in static destructors. Slot order is never iterated,
// so the hash only decides speed.
class Pool {
 public:
  Pool(size_t names_max, size_t name_bytes_max);
  // The pooled entry of `text`, or a new owned entry (interned == false) the caller deletes.
  const Entry* Make(std::string_view text);
  // REQUIRES: `slot` is a pooled entry's slot.
  std::string_view Text(uint32_t slot) const;
  size_t size() const;
  // The empty text: pooled in no pool (slot kNoSlot), shared, immortal.
  static const Entry* Empty();

 private:
  struct Inserts;
  const size_t names_max_;
  const size_t name_bytes_max_;
  const size_t slots_count_;  // 2 * names_max_: the load factor stays at most 1/2.
  std::unique_ptr<std::atomic<const Entry*>[]> slots_;
  std::unique_ptr<Inserts> inserts_;
};

}  // namespace interned_internal

template <typename Traits>
class Interned {
 public:
  static constexpr size_t kPoolNamesMax = Traits::kNamesMax;
  static constexpr size_t kPoolNameBytesMax = Traits::kNameBytesMax;
  static constexpr uint32_t kNoSlot = interned_internal::kNoSlot;

  Interned() : name_(interned_internal::Pool::Empty()) {}
  Interned(std::string_view text) : name_(ThePool().Make(text)) {}  // NOLINT: a name is its text.
  Interned(const std::string& text) : Interned(std::string_view(text)) {}  // NOLINT
  Interned(const char* text) : Interned(std::string_view(text)) {}         // NOLINT
  Interned(const Interned& other)
      : name_(other.name_->interned ? other.name_ : Own(other.view())) {}
  Interned(Interned&& other) noexcept : name_(other.name_) {
    other.name_ = interned_internal::Pool::Empty();
  }
  Interned& operator=(const Interned& other) {
    if (this != &other) *this = Interned(other);
    return *this;
  }
  Interned& operator=(Interned&& other) noexcept {
    if (this == &other) return *this;
    Release();
    name_ = std::exchange(other.name_, interned_internal::Pool::Empty());
    return *this;
  }
  ~Interned() { Release(); }

  std::string_view view() const { return name_->text; }
  const std::string& str() const { return name_->text; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  const char* data() const { return name_->text.data(); }
  size_t size() const { return name_->text.size(); }
  bool empty() const { return name_->text.empty(); }
  int compare(std::string_view other) const { return view().compare(other); }
  // True when the text lives in the pool (for tests and memory reports; not observable).
  bool interned() const { return name_->interned; }

  friend bool operator==(const Interned& a, const Interned& b) {
    // Two interned texts are equal exactly when they are the same entry.
    if (a.name_->interned && b.name_->interned) return a.name_ == b.name_;
    return a.view() == b.view();
  }
  friend bool operator==(const Interned& a, std::string_view b) { return a.view() == b; }
  friend std::strong_ordering operator<=>(const Interned& a, const Interned& b) {
    return a.view() <=> b.view();
  }
  friend std::strong_ordering operator<=>(const Interned& a, std::string_view b) {
    return a.view() <=> b;
  }
  // Exact matches for literals, so comparing with one never builds (and interns) an Interned.
  friend bool operator==(const Interned& a, const char* b) { return a.view() == b; }
  friend bool operator==(const Interned& a, const std::string& b) { return a.view() == b; }

  // Texts in this pool now (for tests and memory reports).
  static size_t PoolSize() { return ThePool().size(); }
  // The pool slot of an interned text (below 2 * kPoolNamesMax), or kNoSlot (the empty text, and
  // texts the pool does not hold). A slot names one text for the life of the process, so compact
  // encodings (Document) store it instead of the text.
  uint32_t pool_slot() const { return name_->slot; }
  // The text of a slot. REQUIRES: `slot` came from pool_slot() (not kNoSlot).
  static std::string_view PoolText(uint32_t slot) { return ThePool().Text(slot); }

 private:
  static interned_internal::Pool& ThePool() {
    static auto* pool = new interned_internal::Pool(Traits::kNamesMax, Traits::kNameBytesMax);
    return *pool;
  }
  static const interned_internal::Entry* Own(std::string_view text) {
    return new interned_internal::Entry{std::string(text), false};
  }
  void Release() {
    if (!name_->interned) delete name_;
  }

  const interned_internal::Entry* name_;  // Pooled (shared, immortal) or owned (deleted with this).
};

}  // namespace seedgrid

template <typename Traits>
struct fmt::formatter<seedgrid::Interned<Traits>> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const seedgrid::Interned<Traits>& text, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(text.view(), ctx);
  }
};

#endif  // SEEDGRID_ENGINE_BASE_INTERNED_H_
