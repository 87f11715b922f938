#include "fqi.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "moments.h"
#include "runtime.h"

namespace p4l {

namespace {

// Rows per block of an FQI pass: the blocks' sums are added in block order,
// so the results do not depend on the number of threads.
constexpr long kFqiRows = 512;

// Targets R + gamma max_a' psi(S')' W[, a'] (R alone where S' is absorbing)
// of the rows r0 .. r0 + len - 1, into y; Qn: scratch. One product per block
// reads psi(S') column by column (rows of terminal transitions give rows of
// Qn that are not read).
// With a choice offset C (non-empty), the next action is the argmax of
// psi(S')' (W + C) (first on ties) and its Q is taken: Cn is scratch.
void fqi_targets(const TransitionData& tr, const Eigen::MatrixXd& W, const Eigen::MatrixXd& C,
                 double gamma, long r0, long len, Eigen::MatrixXd& Qn, Eigen::MatrixXd& Cn,
                 Eigen::VectorXd& y) {
  Qn.noalias() = tr.psi_next.middleRows(r0, len) * W;
  y = tr.reward.segment(r0, len);
  if (C.size() == 0) {
    for (long t = 0; t < len; ++t)
      if (!tr.terminal[r0 + t]) y(t) += gamma * Qn.row(t).maxCoeff();
    return;
  }
  Cn.noalias() = tr.psi_next.middleRows(r0, len) * C;
  Cn += Qn;
  for (long t = 0; t < len; ++t) {
    if (tr.terminal[r0 + t]) continue;
    Eigen::Index a = 0;
    Cn.row(t).maxCoeff(&a);
    y(t) += gamma * Qn(t, a);
  }
}

// sum_k psi(S_k) y_k e_{A_k}' over the rows of a block (d x m): y placed in
// its action's column of Y, then one product.
void fqi_block_rhs(const TransitionData& tr, long r0, long len, const Eigen::VectorXd& y,
                   Eigen::MatrixXd& Y, Eigen::MatrixXd& out) {
  Y.setZero(len, tr.num_actions);
  for (long t = 0; t < len; ++t) Y(t, tr.action(r0 + t)) = y(t);
  out.noalias() = tr.psi.middleRows(r0, len).transpose() * Y;
}

}  // namespace

FqiResult fitted_q_iteration(const TransitionData& tr, const FqiOptions& opt) {
  tr.validate();
  const long n = tr.n();
  const int d = tr.d(), m = tr.num_actions;
  if (opt.choice.size() > 0 && (opt.choice.rows() != d || opt.choice.cols() != m))
    throw std::invalid_argument("fitted-Q iteration: the choice offset must be d x m");
  // Per-action Gram matrices (fixed across iterations; moments.h): one d x d
  // matrix per action, not per individual.
  std::vector<long> all(static_cast<std::size_t>(n));
  for (long k = 0; k < n; ++k) all[static_cast<std::size_t>(k)] = k;
  const ActionMoments mom = action_moments(tr, all, nullptr, true);
  std::vector<Eigen::LDLT<Eigen::MatrixXd>> solver(m);
  for (int a = 0; a < m; ++a) {
    Eigen::MatrixXd G = mom.G.middleCols(a * d, d);  // LDLT and its rcond read the lower triangle
    G.diagonal().array() += opt.ridge * static_cast<double>(n);
    solver[a].compute(G);
    if (solver[a].info() != Eigen::Success || solver[a].rcond() < 1e-14) {
      throw std::runtime_error("the regression for an action is singular: increase `ridge`");
    }
  }
  const long nb = (n + kFqiRows - 1) / kFqiRows;
  FqiResult res;
  res.W.setZero(d, m);
  std::vector<Eigen::MatrixXd> rhs_b(static_cast<std::size_t>(nb));
  for (int it = 1; it <= opt.max_iter; ++it) {
    const Eigen::MatrixXd& W = res.W;
    runtime().parallel_for(nb, [&](std::size_t b, std::size_t e) {
      Eigen::MatrixXd Qn, Cn, Y;
      Eigen::VectorXd y;
      for (std::size_t blk = b; blk < e; ++blk) {
        const long r0 = static_cast<long>(blk) * kFqiRows, len = std::min(kFqiRows, n - r0);
        fqi_targets(tr, W, opt.choice, opt.gamma, r0, len, Qn, Cn, y);
        fqi_block_rhs(tr, r0, len, y, Y, rhs_b[blk]);
      }
    });
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(d, m);
    for (const auto& r : rhs_b) rhs += r;
    Eigen::MatrixXd Wn(d, m);
    for (int a = 0; a < m; ++a) Wn.col(a) = solver[a].solve(rhs.col(a));
    const double scale = std::max(1.0, Wn.cwiseAbs().maxCoeff());
    res.change = (Wn - res.W).cwiseAbs().maxCoeff() / scale;
    res.W = Wn;
    res.iterations = it;
    if (!std::isfinite(res.change)) throw std::runtime_error("fitted-Q iteration diverged");
    if (res.change <= opt.tol) {
      res.converged = true;
      break;
    }
    if (runtime().interrupted()) throw std::runtime_error("interrupted");
  }
  // Bellman residual RMSE at the end, block by block (added in block order).
  std::vector<double> ss_b(static_cast<std::size_t>(nb), 0.0);
  runtime().parallel_for(nb, [&](std::size_t b, std::size_t e) {
    Eigen::MatrixXd Qn, Cn;
    Eigen::VectorXd y;
    for (std::size_t blk = b; blk < e; ++blk) {
      const long r0 = static_cast<long>(blk) * kFqiRows, len = std::min(kFqiRows, n - r0);
      fqi_targets(tr, res.W, opt.choice, opt.gamma, r0, len, Qn, Cn, y);
      const Eigen::MatrixXd Q = tr.psi.middleRows(r0, len) * res.W;
      double ss = 0.0;
      for (long t = 0; t < len; ++t) {
        const double r = y(t) - Q(t, tr.action(r0 + t));
        ss += r * r;
      }
      ss_b[blk] = ss;
    }
  });
  double ss = 0.0;
  for (double v : ss_b) ss += v;
  res.bellman_rmse = std::sqrt(ss / static_cast<double>(n));
  return res;
}

Eigen::MatrixXd lstdq(const TransitionData& tr, const std::vector<int>& individuals,
                      const Eigen::MatrixXd& W_policy, double gamma, double ridge) {
  // A = sum phi (phi - gamma phibar)' = blockdiag(G) - gamma K and b = h, the
  // moments (moments.h) of the individuals' rows under the greedy (uniform:
  // W_policy empty) next-state policy. Memory: one p x p matrix (and its
  // factorisation) whatever the number of individuals.
  const int m = tr.num_actions, p = tr.d() * m;
  const NextPolicy pol = NextPolicy::greedy_or_uniform(W_policy, m);
  ActionMoments mom = action_moments(tr, rows_of(tr, individuals), &pol, true);
  Eigen::MatrixXd A = mom.take_bellman_matrix(gamma);
  A.diagonal().array() += ridge * static_cast<double>(mom.count);
  // Partial pivoting (blocked, O(p^3 / 3) at matrix-product speed): the
  // system is ridged; singular to working precision when its reciprocal
  // condition number is below p eps (FullPivLU's default rank threshold).
  Eigen::PartialPivLU<Eigen::MatrixXd> lu(A);
  const double rc = lu.rcond();
  if (!(rc > p * Eigen::NumTraits<double>::epsilon()))
    throw std::runtime_error("the LSTD-Q system is singular: increase `ridge`");
  const Eigen::VectorXd theta = lu.solve(mom.rhs());
  return Eigen::Map<const Eigen::MatrixXd>(theta.data(), tr.d(), m);
}

LspiResult lspi(const TransitionData& tr, const std::vector<int>& individuals, double gamma,
                double ridge, int max_iter) {
  std::vector<long> next_rows;
  for (long k : rows_of(tr, individuals))
    if (!tr.terminal[k]) next_rows.push_back(k);
  auto actions_of = [&](const Eigen::MatrixXd& W) {
    std::vector<int> out(next_rows.size());
    for (std::size_t j = 0; j < next_rows.size(); ++j)
      out[j] = greedy_action(W, tr.psi_next.row(next_rows[j]).transpose());
    return out;
  };
  LspiResult res;
  res.W = lstdq(tr, individuals, Eigen::MatrixXd(), gamma, ridge);
  std::vector<int> acts = actions_of(res.W);
  for (int it = 1; it <= max_iter; ++it) {
    res.W = lstdq(tr, individuals, res.W, gamma, ridge);
    res.iterations = it;
    std::vector<int> now = actions_of(res.W);
    if (now == acts) {
      res.converged = true;
      break;
    }
    acts.swap(now);
  }
  return res;
}

}  // namespace p4l
