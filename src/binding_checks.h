// Cheap checks of the indices and lengths that the R side passes to the C++
// core: an R error (Rcpp::stop) instead of an out-of-bounds read when an
// object was hand-edited or damaged. The R functions check their arguments
// first; these are the last line.
#pragma once
#include <Rcpp.h>

#include <string>
#include <vector>

namespace p4l_check {

// Every entry of v in [lo, hi).
template <class V>
inline void index_range(const V& v, long lo, long hi, const char* what) {
  for (long i = 0; i < static_cast<long>(v.size()); ++i) {
    const long x = static_cast<long>(v[i]);
    if (x < lo || x >= hi)
      Rcpp::stop("%s: entry %d is %d, outside [%d, %d)", what, static_cast<int>(i + 1),
                 static_cast<int>(x), static_cast<int>(lo), static_cast<int>(hi));
  }
}

inline void length_is(long got, long want, const char* what) {
  if (got != want)
    Rcpp::stop("%s: length %d, expected %d", what, static_cast<int>(got), static_cast<int>(want));
}

}  // namespace p4l_check
