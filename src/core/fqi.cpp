#include "fqi.h"

#include <cmath>
#include <stdexcept>

#include "runtime.h"

namespace p4l {

FqiResult fitted_q_iteration(const Transitions& tr, const FqiOptions& opt) {
  tr.validate();
  const long n = tr.n();
  const int d = tr.d(), m = tr.num_actions, N = tr.num_individuals;
  const auto rows = tr.rows_by_individual();
  // Per-action Gram matrices (fixed across iterations), per individual then summed in order.
  std::vector<std::vector<Eigen::MatrixXd>> gram_i(N, std::vector<Eigen::MatrixXd>(m));
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      for (int a = 0; a < m; ++a) gram_i[i][a].setZero(d, d);
      for (long k : rows[i]) {
        gram_i[i][tr.action(k)].selfadjointView<Eigen::Lower>().rankUpdate(tr.psi.row(k).transpose());
      }
    }
  });
  std::vector<Eigen::LDLT<Eigen::MatrixXd>> solver(m);
  for (int a = 0; a < m; ++a) {
    Eigen::MatrixXd G = Eigen::MatrixXd::Zero(d, d);
    for (int i = 0; i < N; ++i) G += gram_i[i][a];
    G = G.selfadjointView<Eigen::Lower>();
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
          if (!tr.terminal(k)) target += opt.gamma * (W.transpose() * tr.psi_next.row(k).transpose()).maxCoeff();
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
    if (res.change <= opt.tol) { res.converged = true; break; }
    if (runtime().interrupted()) throw std::runtime_error("interrupted");
  }
  double ss = 0.0;
  for (long k = 0; k < n; ++k) {
    double target = tr.reward(k);
    if (!tr.terminal(k)) target += opt.gamma * (res.W.transpose() * tr.psi_next.row(k).transpose()).maxCoeff();
    const double r = target - tr.psi.row(k).dot(res.W.col(tr.action(k)));
    ss += r * r;
  }
  res.bellman_rmse = std::sqrt(ss / static_cast<double>(n));
  return res;
}

Eigen::MatrixXd lstdq(const Transitions& tr, const std::vector<int>& individuals,
                      const Eigen::MatrixXd& W_policy, double gamma, double ridge) {
  const int d = tr.d(), m = tr.num_actions, p = d * m;
  const auto rows = tr.rows_by_individual();
  const std::size_t G = individuals.size();
  std::vector<Eigen::MatrixXd> A_i(G);
  std::vector<Eigen::VectorXd> b_i(G);
  std::vector<long> n_i(G, 0);
  const bool uniform = W_policy.size() == 0;
  runtime().parallel_for(G, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd pnext(m);
    for (std::size_t g = b; g < e; ++g) {
      A_i[g].setZero(p, p);
      b_i[g].setZero(p);
      for (long k : rows[individuals[g]]) {
        const int a = tr.action(k);
        const auto x = tr.psi.row(k).transpose();
        A_i[g].block(a * d, a * d, d, d).noalias() += x * x.transpose();
        if (!tr.terminal(k)) {
          const auto xn = tr.psi_next.row(k).transpose();
          if (uniform) {
            pnext.setConstant(1.0 / m);
          } else {
            pnext.setZero();
            pnext(greedy_action(W_policy, xn)) = 1.0;
          }
          for (int c = 0; c < m; ++c) {
            if (pnext(c) != 0.0) A_i[g].block(a * d, c * d, d, d).noalias() -= (gamma * pnext(c)) * x * xn.transpose();
          }
        }
        b_i[g].segment(a * d, d) += tr.reward(k) * x;
        ++n_i[g];
      }
    }
  });
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(p, p);
  Eigen::VectorXd bb = Eigen::VectorXd::Zero(p);
  long n = 0;
  for (std::size_t g = 0; g < G; ++g) { A += A_i[g]; bb += b_i[g]; n += n_i[g]; }
  A.diagonal().array() += ridge * static_cast<double>(n);
  Eigen::FullPivLU<Eigen::MatrixXd> lu(A);
  if (!lu.isInvertible()) throw std::runtime_error("the LSTD-Q system is singular: increase `ridge`");
  const Eigen::VectorXd theta = lu.solve(bb);
  return Eigen::Map<const Eigen::MatrixXd>(theta.data(), d, m);
}

LspiResult lspi(const Transitions& tr, const std::vector<int>& individuals, double gamma,
                double ridge, int max_iter) {
  const auto rows = tr.rows_by_individual();
  std::vector<long> next_rows;
  for (int i : individuals) for (long k : rows[i]) if (!tr.terminal(k)) next_rows.push_back(k);
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
    if (now == acts) { res.converged = true; break; }
    acts.swap(now);
  }
  return res;
}

}  // namespace p4l
