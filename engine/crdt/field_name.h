// FieldName: the name of a document field, interned so that a million documents with the same
// eight fields hold eight strings, not eight million (8 bytes per field instead of 32).
//
// A FieldName behaves as its text: equality, ordering (byte-wise) and hashing see only the bytes,
// never the address, so nothing observable depends on whether or where a name was interned.
// Names are interned in one process-wide pool (thread-safe; finding a pooled name takes no lock,
// adding one or making an owned one past the cap takes a mutex; never shrinks;
// a fixed table of 2 * kPoolNamesMax slots, 512 KiB, made on first use). The pool is bounded:
// it holds at most kPoolNamesMax names of at most kPoolNameBytesMax bytes each; any other name is
// owned by its FieldName (a heap copy), so a client inventing field names cannot grow the pool
// without bound. Interned names live until the process exits.
#ifndef SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_
#define SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_

#include <fmt/format.h>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace seedgrid {

class FieldName {
 public:
  static constexpr size_t kPoolNamesMax = 1 << 15;
  static constexpr size_t kPoolNameBytesMax = 128;
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  FieldName() : FieldName(std::string_view{}) {}
  FieldName(std::string_view text);  // NOLINT(google-explicit-constructor): a name is its text.
  FieldName(const std::string& text) : FieldName(std::string_view(text)) {}  // NOLINT
  FieldName(const char* text) : FieldName(std::string_view(text)) {}         // NOLINT
  FieldName(const FieldName& other);
  FieldName(FieldName&& other) noexcept : name_(other.name_) { other.name_ = Empty(); }
  FieldName& operator=(const FieldName& other);
  FieldName& operator=(FieldName&& other) noexcept;
  ~FieldName();

  std::string_view view() const { return name_->text; }
  const std::string& str() const { return name_->text; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  size_t size() const { return name_->text.size(); }
  bool empty() const { return name_->text.empty(); }
  // True when the name lives in the pool (for tests and memory reports; not observable).
  bool interned() const { return name_->interned; }

  friend bool operator==(const FieldName& a, const FieldName& b) {
    // Two interned names are equal exactly when they are the same entry.
    if (a.name_->interned && b.name_->interned) return a.name_ == b.name_;
    return a.view() == b.view();
  }
  friend bool operator==(const FieldName& a, std::string_view b) { return a.view() == b; }
  friend std::strong_ordering operator<=>(const FieldName& a, const FieldName& b) {
    return a.view() <=> b.view();
  }
  friend std::strong_ordering operator<=>(const FieldName& a, std::string_view b) {
    return a.view() <=> b;
  }
  // Exact matches for literals, so comparing with one never builds (and interns) a FieldName.
  friend bool operator==(const FieldName& a, const char* b) { return a.view() == b; }
  friend bool operator==(const FieldName& a, const std::string& b) { return a.view() == b; }

  // Names in the pool now (for tests and memory reports).
  static size_t PoolSize();

  // The pool slot of an interned name (below 2 * kPoolNamesMax), or kNoSlot (the empty name, and
  // names the pool does not hold). A slot names one text for the life of the process, so compact
  // encodings (Document) store it instead of the text.
  uint32_t pool_slot() const { return name_->slot; }
  // The text of a slot. REQUIRES: `slot` came from pool_slot() (not kNoSlot).
  static std::string_view PoolText(uint32_t slot);

 private:
  struct Name {
    std::string text;
    bool interned;
    uint32_t slot = kNoSlot;
  };

  static const Name* Empty();
  static const Name* Make(std::string_view text);

  const Name* name_;  // Interned (shared, immortal) or owned (deleted with this FieldName).
};

}  // namespace seedgrid

template <>
struct fmt::formatter<seedgrid::FieldName> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const seedgrid::FieldName& name, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(name.view(), ctx);
  }
};

#endif  // SEEDGRID_ENGINE_CRDT_FIELD_NAME_H_
