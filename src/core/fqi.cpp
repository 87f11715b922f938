#include "fqi.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "runtime.h"

namespace p4l {

namespace {

// out += scale * X[idx, ]' Y[idx, ], the rows gathered in fixed chunks so that
// the work space is O(chunk x d) and the summation order does not depend on
// the number of threads.
template <class Block>
void add_cross(Block out, const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y,
               const std::vector<long>& idx, double scale) {
  constexpr std::size_t kChunk = 1024;
  Eigen::MatrixXd xc, yc;
  for (std::size_t s = 0; s < idx.size(); s += kChunk) {
    const std::size_t len = std::min(kChunk, idx.size() - s);
    xc.resize(static_cast<Eigen::Index>(len), X.cols());
    yc.resize(static_cast<Eigen::Index>(len), Y.cols());
    for (std::size_t j = 0; j < len; ++j) {
      xc.row(static_cast<Eigen::Index>(j)) = X.row(idx[s + j]);
      yc.row(static_cast<Eigen::Index>(j)) = Y.row(idx[s + j]);
    }
    if (scale == 1.0)
      out.noalias() += xc.transpose() * yc;
    else
      out.noalias() += scale * (xc.transpose() * yc);
  }
}

}  // namespace

FqiResult fitted_q_iteration(const Transitions& tr, const FqiOptions& opt) {
  tr.validate();
  const long n = tr.n();
  const int d = tr.d(), m = tr.num_actions, N = tr.num_individuals;
  const auto rows = tr.rows_by_individual();
  // Per-action Gram matrices (fixed across iterations), accumulated directly
  // over the action's transitions in fixed chunks (one d x d matrix per action,
  // not per individual; one task per action, so the sums do not depend on the
  // number of threads).
  std::vector<std::vector<long>> by_a(m);
  for (int i = 0; i < N; ++i)
    for (long k : rows[i]) by_a[tr.action(k)].push_back(k);
  std::vector<Eigen::MatrixXd> gram(m);
  runtime().parallel_for(m, [&](std::size_t b, std::size_t e) {
    for (std::size_t a = b; a < e; ++a) {
      gram[a].setZero(d, d);
      add_cross(gram[a].block(0, 0, d, d), tr.psi, tr.psi, by_a[a], 1.0);
    }
  });
  std::vector<Eigen::LDLT<Eigen::MatrixXd>> solver(m);
  for (int a = 0; a < m; ++a) {
    Eigen::MatrixXd& G = gram[a];  // LDLT and its rcond read the lower triangle only
    G.diagonal().array() += opt.ridge * static_cast<double>(n);
    solver[a].compute(G);
    if (solver[a].info() != Eigen::Success || solver[a].rcond() < 1e-14) {
      throw std::runtime_error("the regression for an action is singular: increase `ridge`");
    }
  }
  FqiResult res;
  res.W.setZero(d, m);
  std::vector<Eigen::MatrixXd> rhs_i(N);
  Eigen::VectorXd y(n);
  for (int it = 1; it <= opt.max_iter; ++it) {
    const Eigen::MatrixXd& W = res.W;
    runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        rhs_i[i].setZero(d, m);
        for (long k : rows[i]) {
          double target = tr.reward(k);
          if (!tr.terminal(k))
            target += opt.gamma * (W.transpose() * tr.psi_next.row(k).transpose()).maxCoeff();
          y(k) = target;
          rhs_i[i].col(tr.action(k)) += target * tr.psi.row(k).transpose();
        }
      }
    });
    Eigen::MatrixXd rhs = Eigen::MatrixXd::Zero(d, m);
    for (int i = 0; i < N; ++i) rhs += rhs_i[i];
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
  double ss = 0.0;
  for (long k = 0; k < n; ++k) {
    double target = tr.reward(k);
    if (!tr.terminal(k))
      target += opt.gamma * (res.W.transpose() * tr.psi_next.row(k).transpose()).maxCoeff();
    const double r = target - tr.psi.row(k).dot(res.W.col(tr.action(k)));
    ss += r * r;
  }
  res.bellman_rmse = std::sqrt(ss / static_cast<double>(n));
  return res;
}

Eigen::MatrixXd lstdq(const Transitions& tr, const std::vector<int>& individuals,
                      const Eigen::MatrixXd& W_policy, double gamma, double ridge) {
  // A = sum phi (phi - gamma phibar)' is accumulated directly over the
  // individuals' transitions, block by block: block (a, c) is
  //   [a = c] sum_{A = a} x x'  -  gamma sum_{A = a, not terminal} pi(c | S') x x_next',
  // each a d x d product of gathered rows. Memory: one p x p matrix (and its
  // factorisation) whatever the number of individuals; each block is written by
  // one task, so the result does not depend on the number of threads.
  const int d = tr.d(), m = tr.num_actions, p = d * m;
  const auto rows = tr.rows_by_individual();
  const bool uniform = W_policy.size() == 0;
  std::vector<long> all;
  for (int i : individuals) all.insert(all.end(), rows[i].begin(), rows[i].end());
  const long n = static_cast<long>(all.size());
  // Greedy next action of every non-terminal transition (-1: terminal).
  std::vector<int> next(all.size(), -1);
  runtime().parallel_for(all.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t j = b; j < e; ++j) {
      const long k = all[j];
      if (tr.terminal(k)) continue;
      next[j] = uniform ? 0 : greedy_action(W_policy, tr.psi_next.row(k).transpose());
    }
  });
  std::vector<std::vector<long>> by_a(m), live_ac(static_cast<std::size_t>(m) * m);
  Eigen::VectorXd bb = Eigen::VectorXd::Zero(p);
  for (std::size_t j = 0; j < all.size(); ++j) {
    const long k = all[j];
    const int a = tr.action(k);
    by_a[a].push_back(k);
    if (next[j] >= 0) live_ac[static_cast<std::size_t>(a) * m + next[j]].push_back(k);
    bb.segment(a * d, d) += tr.reward(k) * tr.psi.row(k).transpose();
  }
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(p, p);
  // Uniform policy: the next-state term is the same in every column block of a row block.
  const std::size_t tasks = uniform ? static_cast<std::size_t>(m) : static_cast<std::size_t>(m) * m;
  runtime().parallel_for(tasks, [&](std::size_t b, std::size_t e) {
    for (std::size_t t = b; t < e; ++t) {
      const int a = static_cast<int>(uniform ? t : t / m),
                c = static_cast<int>(uniform ? t : t % m);
      if (a == c) add_cross(A.block(a * d, a * d, d, d), tr.psi, tr.psi, by_a[a], 1.0);
      const std::vector<long>& live = live_ac[static_cast<std::size_t>(a) * m + (uniform ? 0 : c)];
      if (live.empty()) continue;
      if (uniform) {
        Eigen::MatrixXd cross = Eigen::MatrixXd::Zero(d, d);
        add_cross(cross.block(0, 0, d, d), tr.psi, tr.psi_next, live, 1.0);
        for (int c2 = 0; c2 < m; ++c2) A.block(a * d, c2 * d, d, d) -= (gamma / m) * cross;
      } else {
        add_cross(A.block(a * d, c * d, d, d), tr.psi, tr.psi_next, live, -gamma);
      }
    }
  });
  A.diagonal().array() += ridge * static_cast<double>(n);
  // Partial pivoting (blocked, O(p^3 / 3) at matrix-product speed): the
  // system is ridged; singular to working precision when its reciprocal
  // condition number is below p eps (FullPivLU's default rank threshold).
  Eigen::PartialPivLU<Eigen::MatrixXd> lu(A);
  const double rc = lu.rcond();
  if (!(rc > p * Eigen::NumTraits<double>::epsilon()))
    throw std::runtime_error("the LSTD-Q system is singular: increase `ridge`");
  const Eigen::VectorXd theta = lu.solve(bb);
  return Eigen::Map<const Eigen::MatrixXd>(theta.data(), d, m);
}

LspiResult lspi(const Transitions& tr, const std::vector<int>& individuals, double gamma,
                double ridge, int max_iter) {
  const auto rows = tr.rows_by_individual();
  std::vector<long> next_rows;
  for (int i : individuals)
    for (long k : rows[i])
      if (!tr.terminal(k)) next_rows.push_back(k);
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
