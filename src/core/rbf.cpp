#include "rbf.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "rng.h"
#include "runtime.h"

namespace p4l {
double median_pairwise_distance(const Eigen::Ref<const Eigen::MatrixXd>& x, long max_points,
                                std::uint64_t seed) {
  const long n = x.rows();
  if (n < 2) throw std::invalid_argument("need at least two points for the median distance");
  std::mt19937_64 gen = make_stream(seed, 2);
  Eigen::MatrixXd xs;
  if (max_points > 1 && n > max_points) {
    std::vector<long> idx = sorted_subsample(n, max_points, gen);
    xs.resize(static_cast<long>(idx.size()), x.cols());
    for (std::size_t i = 0; i < idx.size(); ++i) xs.row(i) = x.row(idx[i]);
  } else {
    xs = x;
  }
  const long m = xs.rows();
  std::vector<double> d(static_cast<std::size_t>(m) * (m - 1) / 2);
  // Row i owns the slots of pairs (i, j > i): offsets are fixed, so threads never clash.
  runtime().parallel_for(m, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      std::size_t off = i * (2 * m - i - 1) / 2;
      for (long j = static_cast<long>(i) + 1; j < m; ++j) d[off++] = (xs.row(i) - xs.row(j)).norm();
    }
  });
  const std::size_t h = d.size() / 2;
  std::nth_element(d.begin(), d.begin() + h, d.end());
  double med = d[h];
  if (d.size() % 2 == 0) {
    const double lower = *std::max_element(d.begin(), d.begin() + h);
    med = 0.5 * (med + lower);
  }
  return med;
}

}  // namespace p4l
