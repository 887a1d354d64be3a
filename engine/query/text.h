// Text matching for queries: case folding, LIKE patterns, substring search and tokenising.
//
// Strings are decoded as UTF-8 into code points; each byte of an invalid sequence decodes to its
// own unit (U+DC80 + byte, "surrogate escape"), so any byte string is handled and no two
// different strings fold to the same units unless they differ only in case.
// Case folding is Unicode simple case folding (CaseFolding.txt statuses C and S: one code point to
// one code point) over ASCII, Latin-1, Latin Extended-A, Greek and Coptic, Cyrillic and Cyrillic
// Supplement (U+0000..U+017F, U+0345..U+052F); other code points compare exactly. So ς folds to σ
// and µ to μ, while ß (full folding only) and the Turkic dotted/dotless i stay as they are. This
// is documented in docs/queries.md; full folding would need ICU, which the project does not use.
//
// Tokens (full-text match): maximal runs of word units, folded, re-encoded as UTF-8. Word units
// are ASCII letters and digits and every code point >= U+0080 except U+00A0..U+00BF (Latin-1
// punctuation and symbols; µ U+00B5 excepted, a letter) and U+2000..U+206F (general
// punctuation). A code point and its folding are always both word units or both not.
#ifndef SEEDGRID_ENGINE_QUERY_TEXT_H_
#define SEEDGRID_ENGINE_QUERY_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seedgrid {

using CodePoints = std::vector<uint32_t>;

// Decodes and folds.
CodePoints FoldText(std::string_view s);
uint32_t FoldCodePoint(uint32_t cp);

// A compiled LIKE pattern: anchored at both ends, case-insensitive; '%' matches any run of
// characters (including none), '_' exactly one character; '\' escapes the next character
// ('\%', '\_', '\\'); a trailing lone '\' matches a literal backslash.
class LikePattern {
 public:
  explicit LikePattern(std::string_view pattern);
  bool Matches(std::string_view text) const;

 private:
  enum Kind : uint8_t { kLiteral, kAnyOne, kAnyRun };
  struct Unit {
    Kind kind;
    uint32_t cp;
  };
  std::vector<Unit> units_;
};

// Case-insensitive substring search; an empty needle is found in every string.
class FoldedNeedle {
 public:
  explicit FoldedNeedle(std::string_view needle) : needle_(FoldText(needle)) {}
  bool FoundIn(std::string_view text) const;
  const CodePoints& units() const { return needle_; }

 private:
  CodePoints needle_;
};

// Folded tokens of `s` in order of appearance (duplicates kept).
std::vector<std::string> Tokenize(std::string_view s);

// The tokens of `needle` that a string containing `needle` (case-insensitively) must have as whole
// tokens: the tokens bounded by non-word units (or by nothing) on both sides *inside* the needle,
// excluding a first token that touches the needle's start and a last one that touches its end.
// Used by the inverted index to narrow `contains` candidates; the result is then filtered.
std::vector<std::string> InnerTokens(std::string_view needle);

}  // namespace seedgrid

#endif  // SEEDGRID_ENGINE_QUERY_TEXT_H_
