#include "groups.h"

#include <cmath>
#include <stdexcept>

#include "runtime.h"

namespace p4l {

Eigen::MatrixXd kde_cross_loglik(const KdeTransitions& data,
                                 const std::vector<std::vector<int>>& eval, double hx, double hy,
                                 double lambda, int window) {
  const int N = data.N;
  const long n = data.X.cols();
  if (data.Y.cols() != n || static_cast<long>(data.A.size()) != n ||
      static_cast<long>(data.owner.size()) != n || static_cast<int>(eval.size()) != N) {
    throw std::invalid_argument("kde_cross_loglik: inconsistent input sizes");
  }
  if (!(hx > 0.0) || !(hy > 0.0) || !(lambda > 0.0)) {
    throw std::invalid_argument("kde_cross_loglik: bandwidths and lambda must be positive");
  }
  // Transitions grouped by action, so each evaluation point scans only its own action.
  int num_actions = 0;
  for (int a : data.A) num_actions = std::max(num_actions, a + 1);
  std::vector<std::vector<long>> by_action(num_actions);
  for (long r = 0; r < n; ++r) by_action[data.A[r]].push_back(r);
  const double fx = 1.0 / (2.0 * hx * hx), fy = 1.0 / (2.0 * hy * hy);
  const double cutoff = 50.0;  // exp(-50) ~ 2e-22: kernel weights below are skipped
  const long dx = data.X.rows(), dy = data.Y.rows();
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(N, N);
  runtime().parallel_for(static_cast<std::size_t>(N), [&](std::size_t b, std::size_t e) {
    std::vector<double> num(N), den(N);
    for (std::size_t i = b; i < e; ++i) {
      check_interrupt();
      if (eval[i].empty()) continue;
      for (int t : eval[i]) {
        std::fill(num.begin(), num.end(), 0.0);
        std::fill(den.begin(), den.end(), 0.0);
        const double* xt = data.X.col(t).data();
        const double* yt = data.Y.col(t).data();
        // Transitions left out of individual i's estimate still count in the
        // pooled one; the pooled estimate also keeps transition t itself
        // (weight 1, kernel 1), so it is positive.
        double num0 = 1.0, den0 = 1.0;
        for (long r : by_action[data.A[t]]) {
          if (r == t) continue;
          const double* xr = data.X.col(r).data();
          double ex = 0.0;
          for (long k = 0; k < dx; ++k) {
            const double d = xt[k] - xr[k];
            ex += d * d;
          }
          ex *= fx;
          if (ex > cutoff) continue;
          const double* yr = data.Y.col(r).data();
          double ey = 0.0;
          for (long k = 0; k < dy; ++k) {
            const double d = yt[k] - yr[k];
            ey += d * d;
          }
          ey *= fy;
          const double w = std::exp(-ex);
          const double wk = ey <= cutoff ? std::exp(-ex - ey) : 0.0;
          const int o = data.owner[r];
          if (o == static_cast<int>(i) && std::labs(r - t) <= window) {
            num0 += wk;
            den0 += w;
            continue;
          }
          den[o] += w;
          num[o] += wk;
        }
        for (int j = 0; j < N; ++j) {
          num0 += num[j];
          den0 += den[j];
        }
        const double p0 = num0 / den0;
        for (int j = 0; j < N; ++j) {
          S(i, j) += std::log((num[j] + lambda * p0) / (den[j] + lambda));
        }
      }
      S.row(i) /= static_cast<double>(eval[i].size());
    }
  });
  return S;
}

}  // namespace p4l
