// Installs RcppParallel threads and R's interrupt check into the core's
// runtime hooks for the duration of one call (RAII).
#pragma once
#include <Rcpp.h>
#include "core/runtime.h"

namespace p4l {
class ThreadScope {
 public:
  explicit ThreadScope(int num_threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  Runtime saved_;
};
// Converts a seed passed from R as a double (a whole number in [0, 2^53)).
std::uint64_t seed_from_double(double seed);
}  // namespace p4l
