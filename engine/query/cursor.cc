#include "engine/query/cursor.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "engine/base/strings.h"

namespace seedgrid {

namespace {

constexpr char kMagic[4] = {'S', 'G', 'C', '1'};

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s);
  }
  void Val(const Value& v) {
    U8(static_cast<uint8_t>(TypeOf(v)));
    switch (TypeOf(v)) {
      case ValueType::kNull:
        return;
      case ValueType::kBool:
        return U8(std::get<bool>(v) ? 1 : 0);
      case ValueType::kInt:
        return U64(static_cast<uint64_t>(std::get<int64_t>(v)));
      case ValueType::kDouble: {
        uint64_t bits = 0;
        const double d = std::get<double>(v);
        std::memcpy(&bits, &d, sizeof bits);
        return U64(bits);
      }
      case ValueType::kString:
        return Str(std::get<std::string>(v));
      case ValueType::kList:
        U64(std::get<StringList>(v).size());
        for (const std::string& s : std::get<StringList>(v)) Str(s);
        return;
    }
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (pos_ + 1 > in_.size()) return false;
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool U64(uint64_t* v) {
    if (pos_ + 8 > in_.size()) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n = 0;
    if (!U64(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool Val(Value* v) {
    uint8_t type = 0;
    if (!U8(&type)) return false;
    switch (static_cast<ValueType>(type)) {
      case ValueType::kNull:
        *v = std::monostate{};
        return true;
      case ValueType::kBool: {
        uint8_t b = 0;
        if (!U8(&b) || b > 1) return false;
        *v = b == 1;
        return true;
      }
      case ValueType::kInt: {
        uint64_t i = 0;
        if (!U64(&i)) return false;
        *v = static_cast<int64_t>(i);
        return true;
      }
      case ValueType::kDouble: {
        uint64_t bits = 0;
        if (!U64(&bits)) return false;
        double d = 0;
        std::memcpy(&d, &bits, sizeof d);
        *v = d;
        return true;
      }
      case ValueType::kString: {
        std::string s;
        if (!Str(&s)) return false;
        *v = std::move(s);
        return true;
      }
      case ValueType::kList: {
        uint64_t n = 0;
        // Each element takes >= 8 bytes (its length): bound the allocation by what is left.
        if (!U64(&n) || n > (in_.size() - pos_) / 8) return false;
        StringList list(n);
        for (std::string& s : list) {
          if (!Str(&s)) return false;
        }
        *v = std::move(list);
        return true;
      }
    }
    return false;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

absl::Status Garbled(std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("cursor is not valid: {}", why));
}

}  // namespace

bool operator==(const CursorState& a, const CursorState& b) {
  if (a.query_hash != b.query_hash || a.instance_id != b.instance_id ||
      a.start_seq != b.start_seq || a.expires_at_ms != b.expires_at_ms ||
      a.last_key != b.last_key || a.last_tag != b.last_tag ||
      a.last_sort_values.size() != b.last_sort_values.size()) {
    return false;
  }
  for (size_t i = 0; i < a.last_sort_values.size(); ++i) {
    if (!ValueEquals(a.last_sort_values[i], b.last_sort_values[i])) return false;
  }
  return true;
}

std::string EncodeCursor(const CursorState& s) {
  Writer w;
  w.out().append(kMagic, sizeof kMagic);
  w.U64(s.query_hash);
  w.U64(s.instance_id);
  w.U64(s.start_seq);
  w.U64(s.expires_at_ms);
  w.U64(s.last_sort_values.size());
  for (const Value& v : s.last_sort_values) w.Val(v);
  w.Str(s.last_key);
  w.U8(s.last_tag ? 1 : 0);
  if (s.last_tag) {
    w.U64(s.last_tag->millis);
    w.U64(s.last_tag->counter);
    w.Str(s.last_tag->node_id);
  }
  const uint64_t checksum = XXH3_64bits(w.out().data(), w.out().size());
  w.U64(checksum);
  std::string token;
  absl::WebSafeBase64Escape(w.out(), &token);
  return token;
}

absl::StatusOr<CursorState> DecodeCursor(std::string_view token) {
  if (token.empty()) return Garbled("empty token");
  if (token.size() > kCursorBytesMax) return Garbled("token longer than 1 MiB");
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(ToAbsl(token), &bytes)) return Garbled("not base64url text");
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return Garbled("not a seedgrid cursor");
  }
  const std::string_view body(bytes.data(), bytes.size() - 8);
  Reader tail(std::string_view(bytes).substr(body.size()));
  uint64_t checksum = 0;
  tail.U64(&checksum);
  if (checksum != XXH3_64bits(body.data(), body.size())) return Garbled("checksum mismatch");
  Reader r(body.substr(sizeof kMagic));
  CursorState s;
  uint64_t count = 0;
  if (!r.U64(&s.query_hash) || !r.U64(&s.instance_id) || !r.U64(&s.start_seq) ||
      !r.U64(&s.expires_at_ms) || !r.U64(&count) || count > 16) {
    return Garbled("truncated header");
  }
  s.last_sort_values.resize(count);
  for (Value& v : s.last_sort_values) {
    if (!r.Val(&v)) return Garbled("truncated sort value");
  }
  uint8_t has_tag = 0;
  if (!r.Str(&s.last_key) || !r.U8(&has_tag) || has_tag > 1) return Garbled("truncated key");
  if (has_tag == 1) {
    Timestamp tag;
    uint64_t counter = 0;
    std::string node_id;
    if (!r.U64(&tag.millis) || !r.U64(&counter) || counter > UINT32_MAX || !r.Str(&node_id)) {
      return Garbled("truncated tag");
    }
    tag.counter = static_cast<uint32_t>(counter);
    // A cursor is client input: its node id is checked before it is interned.
    if (!ValidateNodeId(node_id).ok()) return Garbled("bad tag node id");
    tag.node_id = node_id;
    s.last_tag = std::move(tag);
  }
  if (!r.done()) return Garbled("trailing bytes");
  return s;
}

}  // namespace seedgrid
