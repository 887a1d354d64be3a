#include "engine/query/postings.h"

namespace seedgrid {

std::vector<RowHandle> IntersectSorted(const std::vector<RowHandle>& a,
                                       const std::vector<RowHandle>& b) {
  std::vector<RowHandle> out;
  out.reserve(std::min(a.size(), b.size()));
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<RowHandle> UnionSorted(const std::vector<RowHandle>& a,
                                   const std::vector<RowHandle>& b) {
  std::vector<RowHandle> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void Canonicalize(std::vector<RowHandle>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace seedgrid
