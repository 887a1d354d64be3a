#include "engine/query/text.h"

#include <algorithm>
#include <iterator>

#include "engine/base/assert.h"

namespace seedgrid {

namespace {

constexpr uint32_t kEscapeBase = 0xDC80;

// Decodes one code point at s[*i], advancing *i. Invalid input yields one escape unit per byte.
uint32_t DecodeOne(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(*i);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  }
  bool ok = len > 0 && *i + len <= s.size();
  for (size_t k = 1; ok && k < len; ++k) {
    const uint8_t b = byte(*i + k);
    if ((b & 0xC0) != 0x80) ok = false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
  if (!ok) {
    ++*i;
    return kEscapeBase + b0;
  }
  *i += len;
  return cp;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp >= kEscapeBase && cp <= kEscapeBase + 0xFF && cp - kEscapeBase >= 0x80) {
    out->push_back(static_cast<char>(cp - kEscapeBase));  // Back to the original invalid byte.
  } else if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsWordUnit(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  // µ (U+00B5) is a letter that folds to μ: a word unit, so folding never turns a separator into
  // part of a word (an inverted index and a scan must agree on `contains` and `match`).
  if (cp >= 0xA0 && cp <= 0xBF && cp != 0xB5) return false;
  if (cp == 0xD7 || cp == 0xF7) return false;  // × and ÷.
  if (cp >= 0x2000 && cp <= 0x206F) return false;
  return true;
}

// Unicode simple case folding (CaseFolding.txt, statuses C and S) of Greek and Coptic: the
// ranges below, then the single mappings of this table (sorted by `from`).
struct Fold {
  uint16_t from, to;
};
constexpr Fold kGreekFolds[] = {
    {0x345, 0x3B9},  // Combining ypogegrammeni folds to iota.
    {0x370, 0x371}, {0x372, 0x373}, {0x376, 0x377}, {0x37F, 0x3F3}, {0x386, 0x3AC},
    {0x388, 0x3AD}, {0x389, 0x3AE}, {0x38A, 0x3AF}, {0x38C, 0x3CC}, {0x38E, 0x3CD},
    {0x38F, 0x3CE}, {0x3C2, 0x3C3},  // Final sigma folds to sigma.
    {0x3CF, 0x3D7}, {0x3D0, 0x3B2}, {0x3D1, 0x3B8}, {0x3D5, 0x3C6}, {0x3D6, 0x3C0},
    {0x3F0, 0x3BA}, {0x3F1, 0x3C1}, {0x3F4, 0x3B8}, {0x3F5, 0x3B5}, {0x3F7, 0x3F8},
    {0x3F9, 0x3F2}, {0x3FA, 0x3FB}, {0x3FD, 0x37B}, {0x3FE, 0x37C}, {0x3FF, 0x37D}};
static_assert(std::is_sorted(std::begin(kGreekFolds), std::end(kGreekFolds),
                             [](const Fold& a, const Fold& b) { return a.from < b.from; }));

uint32_t FoldGreek(uint32_t cp) {
  if ((cp >= 0x391 && cp <= 0x3A1) || (cp >= 0x3A3 && cp <= 0x3AB)) return cp + 0x20;
  if (cp >= 0x3D8 && cp <= 0x3EF) return cp % 2 == 0 ? cp + 1 : cp;  // Archaic letters, Coptic.
  const auto* it = std::lower_bound(std::begin(kGreekFolds), std::end(kGreekFolds), cp,
                                    [](const Fold& f, uint32_t c) { return f.from < c; });
  return it != std::end(kGreekFolds) && it->from == cp ? it->to : cp;
}

// Unicode simple case folding of Cyrillic and Cyrillic Supplement (U+0400..U+052F).
uint32_t FoldCyrillic(uint32_t cp) {
  if (cp <= 0x40F) return cp + 0x50;  // Ѐ..Џ.
  if (cp <= 0x42F) return cp + 0x20;  // А..Я.
  if (cp == 0x4C0) return 0x4CF;      // Palochka.
  if (cp >= 0x4C1 && cp <= 0x4CE) return cp % 2 == 1 ? cp + 1 : cp;
  const bool paired =
      (cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) || (cp >= 0x4D0 && cp <= 0x52F);
  return paired && cp % 2 == 0 ? cp + 1 : cp;
}

}  // namespace

uint32_t FoldCodePoint(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
  if (cp == 0xB5) return 0x3BC;                                  // Micro sign folds to mu.
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // Latin-1 capitals.
  if (cp >= 0x100 && cp <= 0x17F) {                              // Latin Extended-A pairs.
    if (cp == 0x130 || cp == 0x131 || cp == 0x138 || cp == 0x149) return cp;
    if (cp == 0x178) return 0xFF;
    if (cp == 0x17F) return 's';  // Long s folds to s.
    const bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (odd_upper) return (cp % 2 == 1) ? cp + 1 : cp;
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp >= 0x345 && cp <= 0x3FF) return FoldGreek(cp);
  if (cp >= 0x400 && cp <= 0x52F) return FoldCyrillic(cp);
  return cp;
}

CodePoints FoldText(std::string_view s) {
  CodePoints out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(FoldCodePoint(DecodeOne(s, &i)));
  return out;
}

LikePattern::LikePattern(std::string_view pattern) {
  const CodePoints cps = FoldText(pattern);
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = cps[i];
    if (cp == '\\' && i + 1 < cps.size()) {
      units_.push_back({kLiteral, cps[++i]});
    } else if (cp == '%') {
      if (units_.empty() || units_.back().kind != kAnyRun) units_.push_back({kAnyRun, 0});
    } else if (cp == '_') {
      units_.push_back({kAnyOne, 0});
    } else {
      units_.push_back({kLiteral, cp});
    }
  }
}

bool LikePattern::Matches(std::string_view text) const {
  const CodePoints t = FoldText(text);
  // Greedy matching with backtracking to the last '%': O(|t| * |pattern|) worst case.
  size_t ti = 0, pi = 0;
  size_t star_pi = SIZE_MAX, star_ti = 0;
  while (ti < t.size()) {
    if (pi < units_.size() && units_[pi].kind == kAnyRun) {
      star_pi = pi++;
      star_ti = ti;
    } else if (pi < units_.size() && (units_[pi].kind == kAnyOne || units_[pi].cp == t[ti])) {
      ++pi;
      ++ti;
    } else if (star_pi != SIZE_MAX) {
      pi = star_pi + 1;
      ti = ++star_ti;
    } else {
      return false;
    }
  }
  while (pi < units_.size() && units_[pi].kind == kAnyRun) ++pi;
  return pi == units_.size();
}

bool FoldedNeedle::FoundIn(std::string_view text) const {
  if (needle_.empty()) return true;
  const CodePoints t = FoldText(text);
  return std::search(t.begin(), t.end(), needle_.begin(), needle_.end()) != t.end();
}

std::vector<std::string> Tokenize(std::string_view s) {
  std::vector<std::string> tokens;
  std::string current;
  for (size_t i = 0; i < s.size();) {
    const uint32_t cp = DecodeOne(s, &i);
    if (IsWordUnit(cp)) {
      AppendUtf8(FoldCodePoint(cp), &current);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::vector<std::string> InnerTokens(std::string_view needle) {
  std::vector<std::string> tokens;
  std::string current;
  bool touches_start = true;  // The current run began at the needle's first unit.
  for (size_t i = 0; i < needle.size();) {
    const uint32_t cp = DecodeOne(needle, &i);
    if (IsWordUnit(cp)) {
      AppendUtf8(FoldCodePoint(cp), &current);
      continue;
    }
    if (!current.empty() && !touches_start) tokens.push_back(current);
    current.clear();
    touches_start = false;
  }
  // A run that reaches the needle's end may continue in the text: it is only a prefix.
  return tokens;
}

}  // namespace seedgrid
