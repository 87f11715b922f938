// The one-step models of P4L's model start; see model_start.h.
#include "model_start.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime.h"

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr long kRowBlock = 4096;

// The shape of the problem and the regressor / response rows of one transition.
struct Layout {
  int m = 0, q = 0, k = 0, ny = 0;
  long n = 0;
  int blocks() const { return m * ny; }
  int block(int a, int j) const { return a * ny + j; }
};

void validate(const ModelStartInput& in, const Layout& L, const MatrixXd* prior) {
  const long n = L.n;
  auto fail = [](const std::string& msg) { throw std::invalid_argument("model start: " + msg); };
  if (L.m < 1) fail("need at least one action");
  if (in.S_next.rows() != n || in.S_next.cols() != L.q) fail("S_next must be n x q like S");
  if (in.reward.size() != n || in.action.size() != n || static_cast<long>(in.terminal.size()) != n)
    fail("reward, action and terminal need one entry per row");
  if (in.center.size() != L.q || in.scale.size() != L.q) fail("center and scale need q entries");
  if (!(in.lambda > 0)) fail("lambda must be > 0");
  if (in.start.size() < 2 || in.start.front() != 0 || in.start.back() != n)
    fail("start must run from 0 to n");
  for (std::size_t i = 0; i + 1 < in.start.size(); ++i)
    if (in.start[i + 1] < in.start[i]) fail("start must be non-decreasing");
  for (long t = 0; t < n; ++t)
    if (in.action(t) < 0 || in.action(t) >= L.m) fail("action index out of range");
  const long N = static_cast<long>(in.start.size()) - 1;
  if (prior && (prior->rows() != N || prior->cols() != static_cast<long>(L.blocks()) * L.k))
    fail("prior must be N x (m (1 + q) (1 + q))");
}

// x = (1, (s - center) / scale) of row t of X (S or S_next), written to x.
inline void regressors(const Eigen::Map<const MatrixXd>& X, long t, const ModelStartInput& in,
                       double* x) {
  x[0] = 1.0;
  for (long c = 0; c < X.cols(); ++c) x[c + 1] = (X(t, c) - in.center(c)) / in.scale(c);
}

// Sums of one row block: per action, the Gram matrix and cross products of
// every row (reward) and of the non-terminal rows (next-state responses).
struct Moments {
  std::vector<MatrixXd> G_all, G_nt;  // k x k
  std::vector<VectorXd> h_all;        // k
  std::vector<MatrixXd> H_nt;         // k x q
  std::vector<long> n_all, n_nt;
  void init(const Layout& L) {
    G_all.assign(L.m, MatrixXd::Zero(L.k, L.k));
    G_nt.assign(L.m, MatrixXd::Zero(L.k, L.k));
    h_all.assign(L.m, VectorXd::Zero(L.k));
    H_nt.assign(L.m, MatrixXd::Zero(L.k, L.q));
    n_all.assign(L.m, 0);
    n_nt.assign(L.m, 0);
  }
  void add(const Moments& o) {
    for (std::size_t a = 0; a < G_all.size(); ++a) {
      G_all[a] += o.G_all[a];
      G_nt[a] += o.G_nt[a];
      h_all[a] += o.h_all[a];
      H_nt[a] += o.H_nt[a];
      n_all[a] += o.n_all[a];
      n_nt[a] += o.n_nt[a];
    }
  }
};

// Least squares from the normal equations G b = h, dropping (coefficient 0)
// every column whose part not explained by the earlier kept columns is
// below 1e-9 of its own squared norm. R's qr() (LINPACK dqrdc2) drops a column
// below 1e-7 of its norm; on the normal equations the ratio is squared, and
// the sums of an exactly collinear column carry rounding of order n eps
// (1e-13 seen at n = 1,500), hence the wider 1e-9.
VectorXd least_squares(const MatrixXd& G, const VectorXd& h) {
  const int k = static_cast<int>(G.rows());
  std::vector<int> keep;
  MatrixXd Lk = MatrixXd::Zero(k, k);  // Cholesky factor over the kept columns
  for (int c = 0; c < k; ++c) {
    const int nk = static_cast<int>(keep.size());
    VectorXd w(nk);
    for (int r = 0; r < nk; ++r) {
      double v = G(keep[r], c);
      for (int s = 0; s < r; ++s) v -= Lk(r, s) * w(s);
      w(r) = v / Lk(r, r);
    }
    const double rest = G(c, c) - w.squaredNorm();
    if (!(G(c, c) > 0) || !(rest > 1e-9 * G(c, c))) continue;
    Lk.row(nk).head(nk) = w.transpose();
    Lk(nk, nk) = std::sqrt(rest);
    keep.push_back(c);
  }
  const int nk = static_cast<int>(keep.size());
  VectorXd hk(nk);
  for (int r = 0; r < nk; ++r) hk(r) = h(keep[r]);
  const auto Lt = Lk.topLeftCorner(nk, nk).triangularView<Eigen::Lower>();
  const VectorXd bk = Lt.transpose().solve(Lt.solve(hk));
  VectorXd b = VectorXd::Zero(k);
  for (int r = 0; r < nk; ++r) b(keep[r]) = bk(r);
  return b;
}

// The pooled fits (k x blocks) and the number of rows of each block.
MatrixXd pooled_fits(const ModelStartInput& in, const Layout& L, std::vector<int>& rows) {
  const long n = L.n, nb = (n + kRowBlock - 1) / kRowBlock;
  std::vector<Moments> part(nb);
  runtime().parallel_for(static_cast<std::size_t>(nb), [&](std::size_t lo, std::size_t hi) {
    VectorXd x(L.k), y(L.q);
    for (std::size_t b = lo; b < hi; ++b) {
      Moments& M = part[b];
      M.init(L);
      const long r1 = std::min(n, static_cast<long>(b + 1) * kRowBlock);
      for (long t = static_cast<long>(b) * kRowBlock; t < r1; ++t) {
        const int a = in.action(t);
        regressors(in.S, t, in, x.data());
        M.G_all[a].selfadjointView<Eigen::Lower>().rankUpdate(x);
        M.h_all[a] += in.reward(t) * x;
        ++M.n_all[a];
        if (in.terminal[t]) continue;
        for (int c = 0; c < L.q; ++c) y(c) = (in.S_next(t, c) - in.center(c)) / in.scale(c);
        M.G_nt[a].selfadjointView<Eigen::Lower>().rankUpdate(x);
        M.H_nt[a].noalias() += x * y.transpose();
        ++M.n_nt[a];
      }
    }
  });
  Moments tot;
  tot.init(L);
  for (const Moments& M : part) tot.add(M);
  MatrixXd F = MatrixXd::Zero(L.k, L.blocks());
  rows.assign(L.blocks(), 0);
  for (int a = 0; a < L.m; ++a) {
    const MatrixXd Ga = tot.G_all[a].selfadjointView<Eigen::Lower>();
    const MatrixXd Gn = tot.G_nt[a].selfadjointView<Eigen::Lower>();
    rows[L.block(a, 0)] = static_cast<int>(tot.n_all[a]);
    if (tot.n_all[a] > 0) F.col(L.block(a, 0)) = least_squares(Ga, tot.h_all[a]);
    for (int j = 1; j < L.ny; ++j) {
      rows[L.block(a, j)] = static_cast<int>(tot.n_nt[a]);
      if (tot.n_nt[a] > 0) F.col(L.block(a, j)) = least_squares(Gn, tot.H_nt[a].col(j - 1));
    }
  }
  return F;
}

// Per block, the sum over its rows of e = y - x'F - mean (squares: of e^2),
// by row blocks added in order.
VectorXd residual_sums(const ModelStartInput& in, const Layout& L, const MatrixXd& F,
                       const VectorXd& mean, bool squares) {
  const long n = L.n, nb = (n + kRowBlock - 1) / kRowBlock;
  const int B = L.blocks();
  MatrixXd part(B, nb);
  runtime().parallel_for(static_cast<std::size_t>(nb), [&](std::size_t lo, std::size_t hi) {
    VectorXd x(L.k);
    for (std::size_t b = lo; b < hi; ++b) {
      auto acc = part.col(static_cast<Eigen::Index>(b));
      acc.setZero();
      const long r1 = std::min(n, static_cast<long>(b + 1) * kRowBlock);
      for (long t = static_cast<long>(b) * kRowBlock; t < r1; ++t) {
        const int a = in.action(t);
        regressors(in.S, t, in, x.data());
        for (int j = 0; j < L.ny && (j == 0 || !in.terminal[t]); ++j) {
          const int blk = L.block(a, j);
          const double y =
              j == 0 ? in.reward(t) : (in.S_next(t, j - 1) - in.center(j - 1)) / in.scale(j - 1);
          const double e = y - x.dot(F.col(blk)) - mean(blk);
          acc(blk) += squares ? e * e : e;
        }
      }
    }
  });
  VectorXd tot = VectorXd::Zero(B);
  for (long b = 0; b < nb; ++b) tot += part.col(b);
  return tot;
}

// sd (denominator rows - 1) of the residuals y - x'F of every block, in two
// passes (their mean, then the squared deviations). 1 where it is undefined,
// or where the fit explains the response exactly (residual sd at most 1e-8
// of the root mean square of the response): a response that the state and
// action determine, such as a treatment flag, carries no individual
// information, and dividing by its rounding noise would let that noise
// dominate the start.
VectorXd residual_sd(const ModelStartInput& in, const Layout& L, const MatrixXd& F,
                     const std::vector<int>& rows) {
  const int B = L.blocks();
  // mean and sd of y - x'coef per block
  auto moments = [&](const MatrixXd& coef, VectorXd& mean, VectorXd& sd) {
    mean = residual_sums(in, L, coef, VectorXd::Zero(B), false);
    for (int blk = 0; blk < B; ++blk) mean(blk) = rows[blk] > 0 ? mean(blk) / rows[blk] : 0.0;
    const VectorXd ss = residual_sums(in, L, coef, mean, true);
    sd.resize(B);
    for (int blk = 0; blk < B; ++blk)
      sd(blk) = rows[blk] > 1 ? std::sqrt(ss(blk) / (rows[blk] - 1)) : 0.0;
  };
  VectorXd res_mean, res_sd, y_mean, y_sd;
  moments(F, res_mean, res_sd);
  moments(MatrixXd::Zero(F.rows(), F.cols()), y_mean, y_sd);
  VectorXd sd(B);
  for (int blk = 0; blk < B; ++blk) {
    const double v = res_sd(blk), rms = std::hypot(y_mean(blk), y_sd(blk));
    sd(blk) = (std::isfinite(v) && v > 1e-8 * rms) ? v : 1.0;
  }
  return sd;
}

}  // namespace

ModelStart model_start(const ModelStartInput& in, const MatrixXd* prior) {
  Layout L;
  L.m = in.num_actions;
  L.q = static_cast<int>(in.S.cols());
  L.k = L.q + 1;
  L.ny = L.q + 1;
  L.n = in.S.rows();
  validate(in, L, prior);
  for (long t = 0; t < L.n; ++t)
    for (int c = 0; c < L.q; ++c)
      if (!std::isfinite((in.S(t, c) - in.center(c)) / in.scale(c)))
        throw std::invalid_argument("model start: state column " + std::to_string(c + 1) +
                                    " is too large to standardise; rescale it");
  ModelStart out;
  const MatrixXd F = pooled_fits(in, L, out.rows);
  out.pooled = F;
  out.resid_sd = residual_sd(in, L, F, out.rows);
  // Per individual: for each action, the Gram matrices of all its rows and of
  // its non-terminal rows, then one solve per response.
  const int N = static_cast<int>(in.start.size()) - 1, k = L.k, q = L.q;
  out.B.setZero(N, static_cast<Eigen::Index>(L.blocks()) * k);
  runtime().parallel_for(static_cast<std::size_t>(N), [&](std::size_t lo, std::size_t hi) {
    std::vector<MatrixXd> A_all(L.m), A_nt(L.m);
    std::vector<MatrixXd> rhs(L.m);  // k x ny
    VectorXd x(k), y(q);
    for (std::size_t ii = lo; ii < hi; ++ii) {
      const int i = static_cast<int>(ii);
      for (int a = 0; a < L.m; ++a) {
        A_all[a].setZero(k, k);
        A_all[a].diagonal().setConstant(in.lambda);
        A_nt[a] = A_all[a];
        rhs[a].resize(k, L.ny);
        for (int j = 0; j < L.ny; ++j) {
          const int blk = L.block(a, j);
          rhs[a].col(j) =
              in.lambda * (prior ? VectorXd(prior->row(i).segment(blk * k, k).transpose())
                                 : VectorXd(F.col(blk)));
        }
      }
      for (int t = in.start[i]; t < in.start[i + 1]; ++t) {
        const int a = in.action(t);
        regressors(in.S, t, in, x.data());
        A_all[a].selfadjointView<Eigen::Lower>().rankUpdate(x);
        rhs[a].col(0).noalias() += in.reward(t) * x;
        if (in.terminal[t]) continue;
        for (int c = 0; c < q; ++c) y(c) = (in.S_next(t, c) - in.center(c)) / in.scale(c);
        A_nt[a].selfadjointView<Eigen::Lower>().rankUpdate(x);
        for (int j = 1; j < L.ny; ++j) rhs[a].col(j).noalias() += y(j - 1) * x;
      }
      for (int a = 0; a < L.m; ++a) {
        const auto f_all = A_all[a].selfadjointView<Eigen::Lower>().ldlt();
        const auto f_nt = A_nt[a].selfadjointView<Eigen::Lower>().ldlt();
        for (int j = 0; j < L.ny; ++j) {
          const int blk = L.block(a, j);
          if (out.rows[blk] == 0) continue;  // no individual has rows: the block stays 0
          const VectorXd r = rhs[a].col(j);
          out.B.row(i).segment(blk * k, k) = (j == 0 ? f_all.solve(r) : f_nt.solve(r)).transpose();
        }
      }
    }
  });
  return out;
}

}  // namespace p4l
