// Seeded random streams. A stream is identified by (seed, a, b), e.g.
// (seed, individual, episode), so that random numbers never depend on which
// thread does the work.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>
namespace p4l {
inline std::mt19937_64 make_stream(std::uint64_t seed, std::uint64_t a = 0, std::uint64_t b = 0) {
  std::seed_seq seq{
      static_cast<std::uint32_t>(seed & 0xffffffffu), static_cast<std::uint32_t>(seed >> 32),
      static_cast<std::uint32_t>(a & 0xffffffffu),    static_cast<std::uint32_t>(a >> 32),
      static_cast<std::uint32_t>(b & 0xffffffffu),    static_cast<std::uint32_t>(b >> 32)};
  return std::mt19937_64(seq);
}
// Portable draws (std distributions are implementation defined; these are not).
inline double unif01(std::mt19937_64& g) {
  return (static_cast<double>(g() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
inline double std_normal(std::mt19937_64& g) {
  // Box-Muller, one draw per call (the second is discarded for simplicity).
  const double u1 = unif01(g), u2 = unif01(g);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
// m of the indices 0..n-1 without replacement (partial Fisher-Yates), sorted
// so that a subsample keeps the data order.
inline std::vector<long> sorted_subsample(long n, long m, std::mt19937_64& gen) {
  std::vector<long> idx(n);
  std::iota(idx.begin(), idx.end(), 0L);
  for (long i = 0; i < m; ++i) {
    long j = i + static_cast<long>(unif01(gen) * (n - i));
    if (j >= n) j = n - 1;
    std::swap(idx[i], idx[j]);
  }
  idx.resize(m);
  std::sort(idx.begin(), idx.end());
  return idx;
}
}  // namespace p4l
