// Strict reading of a JSON object's fields for scenario files: type and range checks that name
// the field path, unknown fields as errors, and (Locator, LineCol) the line and column of a path
// in the source text, since nlohmann does not report positions. Internal to scenarios/.
#ifndef SEEDGRID_SCENARIOS_JSON_READER_H_
#define SEEDGRID_SCENARIOS_JSON_READER_H_

#include <fmt/format.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "scenarios/scenario.h"

namespace seedgrid::scenarios::json_reader {

using nlohmann::json;

// Where every value of an (already valid) JSON text starts, by path ("a.b[2].c"); for object
// members, where the member's key starts. nlohmann does not report positions of values, so this
// small scanner walks the text once to give errors a line and column.
class Locator {
 public:
  explicit Locator(std::string_view text) : text_(text) { Value("", 0); }
  size_t OffsetOf(const std::string& path) const {
    auto it = offsets_.find(path);
    return it == offsets_.end() ? 0 : it->second;
  }

 private:
  void Ws() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  std::string String() {  // At '"': returns the raw contents (escapes kept), moves past it.
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') pos_ += text_[pos_] == '\\' ? 2 : 1;
    const std::string s(text_.substr(start, std::min(pos_, text_.size()) - start));
    ++pos_;
    return s;
  }
  void Value(const std::string& path, int depth) {
    Ws();
    if (pos_ >= text_.size() || depth > 64) return;
    offsets_.try_emplace(path, pos_);
    const char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      for (Ws(); pos_ < text_.size() && text_[pos_] != '}'; Ws()) {
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        const size_t key_at = pos_;
        const std::string key = String();
        const std::string child = path.empty() ? key : path + "." + key;
        offsets_[child] = key_at;
        Ws();
        ++pos_;  // ':'
        Value(child, depth + 1);
        offsets_[child] = key_at;  // The key, not the value, is where a reader looks.
      }
      ++pos_;
    } else if (c == '[') {
      ++pos_;
      size_t index = 0;
      for (Ws(); pos_ < text_.size() && text_[pos_] != ']'; Ws()) {
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        Value(fmt::format("{}[{}]", path, index++), depth + 1);
      }
      ++pos_;
    } else if (c == '"') {
      String();
    } else {
      while (pos_ < text_.size() && !strchr(",}] \n\r\t", text_[pos_])) ++pos_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  absl::btree_map<std::string, size_t> offsets_;
};

inline std::pair<size_t, size_t> LineCol(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// Reads one JSON object's fields with type and range checks; remembers the first error.
class Reader {
 public:
  Reader(const json& object, std::string path, std::string* error)
      : object_(object), path_(std::move(path)), error_(error) {
    if (!object_.is_object()) Fail(path_, "expected an object");
  }

  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  const json* Field(std::string_view key) {
    seen_.insert(std::string(key));
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }
  void Fail(const std::string& path, const std::string& what) {
    if (error_->empty()) *error_ = path + "\n" + what;
  }

  template <typename T>
  void Int(std::string_view key, T& out, int64_t lo, int64_t hi) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_number_integer()) {
      Fail(Path(key), fmt::format("expected an integer, got {}", v->type_name()));
      return;
    }
    const int64_t x =
        v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
    if (x < lo || x > hi) {
      Fail(Path(key), fmt::format("{} is out of range; expected {}..{}", x, lo, hi));
      return;
    }
    out = static_cast<T>(x);
  }
  void Str(std::string_view key, std::string& out) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_string()) {
      Fail(Path(key), fmt::format("expected a string, got {}", v->type_name()));
      return;
    }
    out = v->get<std::string>();
  }
  void Bool(std::string_view key, bool& out) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_boolean()) {
      Fail(Path(key), fmt::format("expected true or false, got {}", v->type_name()));
      return;
    }
    out = v->get<bool>();
  }
  void RangeOf(std::string_view key, Range& out, int64_t lo, int64_t hi) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number_integer() ||
        !(*v)[1].is_number_integer()) {
      Fail(Path(key), "expected a range [lo, hi] of two integers");
      return;
    }
    const auto as_int = [](const json& x) {
      return x.is_number_unsigned() && x.get<uint64_t>() > INT64_MAX ? INT64_MAX : x.get<int64_t>();
    };
    const int64_t a = as_int((*v)[0]);
    const int64_t b = as_int((*v)[1]);
    if (a > b) {
      Fail(Path(key), fmt::format("range [{}, {}] has lo > hi", a, b));
    } else if (a < lo || b > hi) {
      Fail(Path(key),
           fmt::format("range [{}, {}] is out of bounds; expected within [{}, {}]", a, b, lo, hi));
    } else {
      out = Range{a, b};
    }
  }
  void Nodes(std::string_view key, std::vector<int>& out, int nodes) {
    const json* v = Field(key);
    if (v == nullptr) return;
    if (!v->is_array()) {
      Fail(Path(key), "expected an array of node indexes");
      return;
    }
    for (const json& n : *v) {
      if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() >= nodes) {
        Fail(Path(key),
             fmt::format("node index {} is out of range; expected 0..{}", n.dump(), nodes - 1));
        return;
      }
      out.push_back(n.get<int>());
    }
  }
  // Unknown fields are errors (a typo must not silently mean "default").
  void Done() {
    if (!object_.is_object()) return;
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!seen_.contains(it.key())) {
        std::string known;
        for (const std::string& s : seen_) known += (known.empty() ? "" : ", ") + s;
        Fail(Path(it.key()), fmt::format("unknown field '{}'; known fields: {}", it.key(), known));
      }
    }
  }

 private:
  const json& object_;
  std::string path_;
  std::string* error_;
  absl::btree_set<std::string> seen_;
};

}  // namespace seedgrid::scenarios::json_reader

#endif  // SEEDGRID_SCENARIOS_JSON_READER_H_
