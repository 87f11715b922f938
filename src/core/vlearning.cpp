#include "vlearning.h"

#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "moments.h"
#include "runtime.h"
#include "softmax.h"

namespace p4l {
namespace {
// Work in fixed chunks of consecutive rows (independent of the thread count);
// partial sums are added in chunk order, so results do not depend on threads.
constexpr long kChunk = 512;
}  // namespace

VlValue vlearning_value(const TransitionData& tr, const Eigen::VectorXd& mu,
                        const Eigen::VectorXd& nu, const Eigen::MatrixXd& beta,
                        const VlOptions& opt, bool want_grad, const Eigen::MatrixXd* delta_in) {
  const long n = tr.n();
  const int d = tr.d(), m = tr.num_actions;
  const long chunk = kChunk;
  const long nchunks = (n + chunk - 1) / chunk;
  Eigen::MatrixXd delta_own;
  if (!delta_in) delta_own = td_features(tr, opt.gamma);
  const Eigen::MatrixXd& delta = delta_in ? *delta_in : delta_own;
  Eigen::VectorXd w(n);
  Eigen::MatrixXd prob(n, m);
  std::vector<Eigen::MatrixXd> M_c(nchunks);
  std::vector<Eigen::VectorXd> b_c(nchunks);
  runtime().parallel_for(nchunks, [&](std::size_t cb, std::size_t ce) {
    for (std::size_t c = cb; c < ce; ++c) {
      const long r0 = static_cast<long>(c) * chunk, len = std::min(chunk, n - r0);
      const auto P = tr.psi.middleRows(r0, len);
      const auto D = delta.middleRows(r0, len);
      Eigen::MatrixXd L = P * beta;  // len x m logits
      for (long r = 0; r < len; ++r) {
        const long k = r0 + r;
        softmax_inplace(L.row(r));
        w(k) = L(r, tr.action(k)) / mu(k);
      }
      prob.middleRows(r0, len) = L;
      const auto wc = w.segment(r0, len);
      M_c[c].noalias() = (P.array().colwise() * wc.array()).matrix().transpose() * D;
      b_c[c].noalias() = P.transpose() * (wc.array() * tr.reward.segment(r0, len).array()).matrix();
    }
  });
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd bv = Eigen::VectorXd::Zero(d);
  for (long c = 0; c < nchunks; ++c) {
    M += M_c[c];
    bv += b_c[c];
  }
  M /= static_cast<double>(n);
  bv /= static_cast<double>(n);
  Eigen::MatrixXd Gm = M.transpose() * M;
  Gm.diagonal().array() += opt.ridge;
  Eigen::LDLT<Eigen::MatrixXd> ldlt(Gm);
  if (ldlt.info() != Eigen::Success)
    throw std::runtime_error("V-learning system is singular: increase `ridge`");
  VlValue out;
  out.theta = ldlt.solve(M.transpose() * bv);
  out.value = nu.dot(out.theta);
  out.objective = out.value - 0.5 * opt.policy_ridge * beta.squaredNorm();
  if (!want_grad) return out;
  // dV = (1/n) sum_k dw_k g_k with g_k = (e'psi)(delta'z) + (y'psi)(R - delta'theta),
  // z = G^-1 nu, e = b - M theta, y = M z; dw_k = w_k (1{A=a} - pi_a) psi.
  const Eigen::VectorXd z = ldlt.solve(nu);
  const Eigen::VectorXd resid = bv - M * out.theta;
  const Eigen::VectorXd yv = M * z;
  std::vector<Eigen::MatrixXd> g_c(nchunks);
  runtime().parallel_for(nchunks, [&](std::size_t cb, std::size_t ce) {
    for (std::size_t c = cb; c < ce; ++c) {
      const long r0 = static_cast<long>(c) * chunk, len = std::min(chunk, n - r0);
      const auto P = tr.psi.middleRows(r0, len);
      const auto D = delta.middleRows(r0, len);
      const Eigen::ArrayXd gk =
          (P * resid).array() * (D * z).array() +
          (P * yv).array() * (tr.reward.segment(r0, len) - D * out.theta).array();
      const Eigen::ArrayXd cw = gk * w.segment(r0, len).array();
      Eigen::MatrixXd coefs(len, m);
      for (long r = 0; r < len; ++r)
        for (int a = 0; a < m; ++a)
          coefs(r, a) = cw(r) * (((tr.action(r0 + r) == a) ? 1.0 : 0.0) - prob(r0 + r, a));
      g_c[c].noalias() = P.transpose() * coefs;
    }
  });
  out.grad.setZero(d, m);
  for (long c = 0; c < nchunks; ++c) out.grad += g_c[c];
  out.grad /= static_cast<double>(n);
  out.grad.col(0).setZero();
  out.grad.rightCols(m - 1) -= opt.policy_ridge * beta.rightCols(m - 1);
  return out;
}

VlResult vlearning_optimize(const TransitionData& tr, const Eigen::VectorXd& mu,
                            const Eigen::VectorXd& nu, const Eigen::MatrixXd& beta0,
                            const VlOptions& opt) {
  tr.validate();
  if (mu.size() != tr.n()) throw std::invalid_argument("propensities have the wrong length");
  VlResult res;
  res.beta = beta0;
  res.beta.col(0).setZero();
  const Eigen::MatrixXd delta = td_features(tr, opt.gamma);
  VlValue cur = vlearning_value(tr, mu, nu, res.beta, opt, true, &delta);
  std::vector<double> trace{cur.objective};
  // Gradient ascent with Barzilai-Borwein steps and Armijo backtracking.
  double step = 1.0;
  Eigen::MatrixXd prev_beta, prev_grad;
  for (int it = 1; it <= opt.max_iter; ++it) {
    const double gnorm2 = cur.grad.squaredNorm();
    if (gnorm2 <= 1e-30) {
      res.converged = true;
      break;
    }
    if (it > 1) {
      const Eigen::MatrixXd s = res.beta - prev_beta, yg = cur.grad - prev_grad;
      const double sy = -(s.array() * yg.array()).sum();  // ascent: -s'y > 0 on concave parts
      if (sy > 1e-300) step = s.squaredNorm() / sy;
      step = std::min(std::max(step, 1e-6), 1e6);
    }
    VlValue trial;
    Eigen::MatrixXd nb;
    bool ok = false;
    for (int ls = 0; ls < 40; ++ls) {
      nb = res.beta + step * cur.grad;
      // With the gradient: the accepted trial is the next iterate, and the
      // gradient costs less than recomputing the estimating equation.
      trial = vlearning_value(tr, mu, nu, nb, opt, true, &delta);
      if (std::isfinite(trial.objective) &&
          trial.objective >= cur.objective + 1e-4 * step * gnorm2) {
        ok = true;
        break;
      }
      step *= 0.5;
    }
    res.iterations = it;
    if (!ok) {
      res.converged = true;
      break;
    }  // no ascent direction left at machine precision
    prev_beta = res.beta;
    prev_grad = cur.grad;
    res.beta = nb;
    const double gain = trial.objective - cur.objective;
    cur = std::move(trial);
    trace.push_back(cur.objective);
    if (gain <= opt.tol * (1.0 + std::fabs(cur.objective))) {
      res.converged = true;
      break;
    }
    if (runtime().interrupted()) throw std::runtime_error("interrupted");
  }
  res.at_optimum = cur;
  res.trace = Eigen::Map<Eigen::VectorXd>(trace.data(), trace.size());
  return res;
}

}  // namespace p4l
