// The one-step models of the assignment model; see onestep.h.
#include "onestep.h"

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

// The shape of the problem: m actions, q state columns, k = 1 + q regressors, n rows.
struct Layout {
  int m = 0, q = 0, k = 0;
  long n = 0;
};

void validate(const OnestepInput& in, const Layout& L, const std::vector<int>& group, int G) {
  auto fail = [](const std::string& msg) {
    throw std::invalid_argument("one-step models: " + msg);
  };
  in.tr.validate("one-step models");
  if (in.center.size() != L.q || in.scale.size() != L.q) fail("center and scale need q entries");
  if (!(in.lambda > 0)) fail("lambda must be > 0");
  if (G < 1 || group.size() + 1 != in.tr.start.size())
    fail("need one group per individual and G >= 1");
  for (int g : group)
    if (g < 0 || g >= G) fail("group out of range");
}

// x = (1, (s - center) / scale) of row t of X (S or S_next), written to x.
inline void regressors(const Eigen::Map<const MatrixXd>& X, long t, const OnestepInput& in,
                       double* x) {
  x[0] = 1.0;
  for (long c = 0; c < X.cols(); ++c) x[c + 1] = (X(t, c) - in.center(c)) / in.scale(c);
}

// Sums of one row block per cell (group g, action a), cell = g m + a: the
// Gram matrix, cross products and squared responses of every row (reward)
// and of the non-terminal rows (next-state responses).
struct Moments {
  std::vector<MatrixXd> G_all, G_nt;  // k x k (lower triangle)
  std::vector<VectorXd> h_all;        // k
  std::vector<MatrixXd> H_nt;         // k x q
  std::vector<double> yy_all;         // sum of R^2
  std::vector<VectorXd> yy_nt;        // q: sums of squared next-state responses
  std::vector<long> n_all, n_nt;
  void init(const Layout& L, int cells) {
    G_all.assign(cells, MatrixXd::Zero(L.k, L.k));
    G_nt.assign(cells, MatrixXd::Zero(L.k, L.k));
    h_all.assign(cells, VectorXd::Zero(L.k));
    H_nt.assign(cells, MatrixXd::Zero(L.k, L.q));
    yy_all.assign(cells, 0.0);
    yy_nt.assign(cells, VectorXd::Zero(L.q));
    n_all.assign(cells, 0);
    n_nt.assign(cells, 0);
  }
  void add(const Moments& o) {
    for (std::size_t c = 0; c < G_all.size(); ++c) {
      G_all[c] += o.G_all[c];
      G_nt[c] += o.G_nt[c];
      h_all[c] += o.h_all[c];
      H_nt[c] += o.H_nt[c];
      yy_all[c] += o.yy_all[c];
      yy_nt[c] += o.yy_nt[c];
      n_all[c] += o.n_all[c];
      n_nt[c] += o.n_nt[c];
    }
  }
};

// The moments of every cell over all rows: row blocks in parallel, added in
// block order (so the sums do not depend on the number of threads). group:
// the group of each individual.
Moments group_moments(const OnestepInput& in, const Layout& L, const std::vector<int>& group,
                      int G) {
  const long n = L.n, nb = (n + kRowBlock - 1) / kRowBlock;
  std::vector<int> row_group(n);
  const std::vector<int>& start = in.tr.start;
  for (std::size_t i = 0; i + 1 < start.size(); ++i)
    std::fill(row_group.begin() + start[i], row_group.begin() + start[i + 1], group[i]);
  std::vector<Moments> part(nb);
  runtime().parallel_for(static_cast<std::size_t>(nb), [&](std::size_t lo, std::size_t hi) {
    VectorXd x(L.k), y(L.q);
    for (std::size_t b = lo; b < hi; ++b) {
      Moments& M = part[b];
      M.init(L, G * L.m);
      const long r1 = std::min(n, static_cast<long>(b + 1) * kRowBlock);
      for (long t = static_cast<long>(b) * kRowBlock; t < r1; ++t) {
        const int c = row_group[t] * L.m + in.tr.action(t);
        regressors(in.tr.psi, t, in, x.data());
        M.G_all[c].selfadjointView<Eigen::Lower>().rankUpdate(x);
        M.h_all[c] += in.tr.reward(t) * x;
        M.yy_all[c] += in.tr.reward(t) * in.tr.reward(t);
        ++M.n_all[c];
        if (in.tr.terminal[t]) continue;
        for (int j = 0; j < L.q; ++j) y(j) = (in.tr.psi_next(t, j) - in.center(j)) / in.scale(j);
        M.G_nt[c].selfadjointView<Eigen::Lower>().rankUpdate(x);
        M.H_nt[c].noalias() += x * y.transpose();
        M.yy_nt[c] += y.cwiseAbs2();
        ++M.n_nt[c];
      }
    }
  });
  Moments tot;
  tot.init(L, G * L.m);
  for (const Moments& M : part) tot.add(M);
  return tot;
}

}  // namespace

OnestepModels onestep_models(const OnestepInput& in, const std::vector<int>& group, int G) {
  Layout L;
  L.m = in.tr.num_actions;
  L.q = in.tr.d();
  L.k = L.q + 1;
  L.n = in.tr.n();
  validate(in, L, group, G);
  const Moments M = group_moments(in, L, group, G);
  const int cells = G * L.m, k = L.k, q = L.q;
  OnestepModels out;
  out.B_reward.setZero(k, cells);
  out.B_next.setZero(k, static_cast<Eigen::Index>(cells) * q);
  out.var_reward.setZero(cells);
  out.var_next.setZero(q, cells);
  out.n_all.assign(M.n_all.begin(), M.n_all.end());
  out.n_next.assign(M.n_nt.begin(), M.n_nt.end());
  MatrixXd pen = MatrixXd::Zero(k, k);
  pen.diagonal().setConstant(in.lambda);
  pen(0, 0) = 1e-8;
  for (int c = 0; c < cells; ++c) {
    // mean squared residual from the moments: (y'y - 2 b'X'y + b'X'X b) / rows
    if (M.n_all[c] >= 2) {
      const MatrixXd Gc = MatrixXd(M.G_all[c].selfadjointView<Eigen::Lower>());
      const VectorXd b = (Gc + pen).ldlt().solve(M.h_all[c]);
      out.B_reward.col(c) = b;
      out.var_reward(c) = (M.yy_all[c] - 2 * b.dot(M.h_all[c]) + b.dot(Gc * b)) / M.n_all[c];
    }
    if (M.n_nt[c] >= 2) {
      const MatrixXd Gc = MatrixXd(M.G_nt[c].selfadjointView<Eigen::Lower>());
      const MatrixXd Bn = (Gc + pen).ldlt().solve(M.H_nt[c]);
      out.B_next.middleCols(static_cast<Eigen::Index>(c) * q, q) = Bn;
      for (int j = 0; j < q; ++j)
        out.var_next(j, c) =
            (M.yy_nt[c](j) - 2 * Bn.col(j).dot(M.H_nt[c].col(j)) + Bn.col(j).dot(Gc * Bn.col(j))) /
            M.n_nt[c];
    }
  }
  return out;
}

}  // namespace p4l
