#include "vlearning.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "runtime.h"

namespace p4l {
namespace {

// Softmax probabilities of the logits psi' beta.
inline void softmax(const Eigen::MatrixXd& beta, const Eigen::Ref<const Eigen::VectorXd>& x,
                    Eigen::VectorXd& p) {
  p.noalias() = beta.transpose() * x;
  p.array() -= p.maxCoeff();
  p = p.array().exp().matrix();
  p /= p.sum();
}

}  // namespace

VlValue vlearning_value(const Transitions& tr, const Eigen::VectorXd& mu, const Eigen::VectorXd& nu,
                        const Eigen::MatrixXd& beta, const VlOptions& opt, bool want_grad) {
  const long n = tr.n();
  const int d = tr.d(), m = tr.num_actions, N = tr.num_individuals;
  const auto rows = tr.rows_by_individual();
  std::vector<Eigen::MatrixXd> M_i(N);
  std::vector<Eigen::VectorXd> b_i(N);
  Eigen::VectorXd w(n);
  Eigen::MatrixXd prob(n, m);
  // M and b: per individual, then summed in individual order.
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd p(m), delta(d);
    for (std::size_t i = b; i < e; ++i) {
      M_i[i].setZero(d, d);
      b_i[i].setZero(d);
      for (long k : rows[i]) {
        const auto x = tr.psi.row(k).transpose();
        softmax(beta, x, p);
        prob.row(k) = p.transpose();
        const double wk = p(tr.action(k)) / mu(k);
        w(k) = wk;
        delta = x;
        if (!tr.terminal(k)) delta -= opt.gamma * tr.psi_next.row(k).transpose();
        M_i[i].noalias() += (wk * x) * delta.transpose();
        b_i[i] += (wk * tr.reward(k)) * x;
      }
    }
  });
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd bv = Eigen::VectorXd::Zero(d);
  for (int i = 0; i < N; ++i) { M += M_i[i]; bv += b_i[i]; }
  M /= static_cast<double>(n);
  bv /= static_cast<double>(n);
  Eigen::MatrixXd Gm = M.transpose() * M;
  Gm.diagonal().array() += opt.ridge;
  Eigen::LDLT<Eigen::MatrixXd> ldlt(Gm);
  if (ldlt.info() != Eigen::Success) throw std::runtime_error("V-learning system is singular: increase `ridge`");
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
  std::vector<Eigen::MatrixXd> g_i(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd delta(d);
    for (std::size_t i = b; i < e; ++i) {
      g_i[i].setZero(d, m);
      for (long k : rows[i]) {
        const auto x = tr.psi.row(k).transpose();
        delta = x;
        if (!tr.terminal(k)) delta -= opt.gamma * tr.psi_next.row(k).transpose();
        const double gk = resid.dot(x) * delta.dot(z) + yv.dot(x) * (tr.reward(k) - delta.dot(out.theta));
        const double c = gk * w(k);
        for (int a = 1; a < m; ++a) {
          const double ind = (tr.action(k) == a) ? 1.0 : 0.0;
          g_i[i].col(a) += (c * (ind - prob(k, a))) * x;
        }
      }
    }
  });
  out.grad.setZero(d, m);
  for (int i = 0; i < N; ++i) out.grad += g_i[i];
  out.grad /= static_cast<double>(n);
  out.grad.rightCols(m - 1) -= opt.policy_ridge * beta.rightCols(m - 1);
  return out;
}

VlResult vlearning_optimize(const Transitions& tr, const Eigen::VectorXd& mu,
                            const Eigen::VectorXd& nu, const Eigen::MatrixXd& beta0,
                            const VlOptions& opt) {
  tr.validate();
  if (mu.size() != tr.n()) throw std::invalid_argument("propensities have the wrong length");
  VlResult res;
  res.beta = beta0;
  res.beta.col(0).setZero();
  VlValue cur = vlearning_value(tr, mu, nu, res.beta, opt, true);
  std::vector<double> trace{cur.objective};
  // Gradient ascent with Barzilai-Borwein steps and Armijo backtracking.
  double step = 1.0;
  Eigen::MatrixXd prev_beta, prev_grad;
  for (int it = 1; it <= opt.max_iter; ++it) {
    const double gnorm2 = cur.grad.squaredNorm();
    if (gnorm2 <= 1e-30) { res.converged = true; break; }
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
      trial = vlearning_value(tr, mu, nu, nb, opt, false);
      if (std::isfinite(trial.objective) && trial.objective >= cur.objective + 1e-4 * step * gnorm2) {
        ok = true;
        break;
      }
      step *= 0.5;
    }
    res.iterations = it;
    if (!ok) { res.converged = true; break; }  // no ascent direction left at machine precision
    prev_beta = res.beta;
    prev_grad = cur.grad;
    res.beta = nb;
    const double gain = trial.objective - cur.objective;
    cur = vlearning_value(tr, mu, nu, res.beta, opt, true);
    trace.push_back(cur.objective);
    if (gain <= opt.tol * (1.0 + std::fabs(cur.objective))) { res.converged = true; break; }
    if (runtime().interrupted()) throw std::runtime_error("interrupted");
  }
  res.at_optimum = cur;
  res.trace = Eigen::Map<Eigen::VectorXd>(trace.data(), trace.size());
  return res;
}

Eigen::MatrixXd multinom_fit(const Eigen::MatrixXd& X, const Eigen::VectorXi& y, int m,
                             double ridge, int max_iter, Eigen::MatrixXd& prob) {
  const long n = X.rows();
  const int q = static_cast<int>(X.cols()), P = q * (m - 1);
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(q, m);
  auto loglik = [&](const Eigen::MatrixXd& Bc, Eigen::MatrixXd& pr) {
    pr = X * Bc;
    double ll = 0.0;
    for (long k = 0; k < n; ++k) {
      const double mx = pr.row(k).maxCoeff();
      pr.row(k) = (pr.row(k).array() - mx).exp().matrix();
      const double s = pr.row(k).sum();
      pr.row(k) /= s;
      ll += std::log(std::max(pr(k, y(k)), 1e-300));
    }
    return ll - 0.5 * ridge * static_cast<double>(n) * Bc.bottomRows(q - 1).squaredNorm();
  };
  double ll = loglik(B, prob);
  for (int it = 0; it < max_iter; ++it) {
    Eigen::VectorXd g = Eigen::VectorXd::Zero(P);
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(P, P);
    for (long k = 0; k < n; ++k) {
      const auto x = X.row(k).transpose();
      for (int a = 1; a < m; ++a) {
        g.segment((a - 1) * q, q) += ((y(k) == a ? 1.0 : 0.0) - prob(k, a)) * x;
        for (int c = 1; c < m; ++c) {
          const double wac = prob(k, a) * ((a == c ? 1.0 : 0.0) - prob(k, c));
          H.block((a - 1) * q, (c - 1) * q, q, q).noalias() += wac * x * x.transpose();
        }
      }
    }
    for (int a = 1; a < m; ++a) {
      g.segment((a - 1) * q + 1, q - 1) -= ridge * static_cast<double>(n) * B.col(a).tail(q - 1);
      H.block((a - 1) * q + 1, (a - 1) * q + 1, q - 1, q - 1).diagonal().array() += ridge * static_cast<double>(n);
    }
    H.diagonal().array() += 1e-10 * static_cast<double>(n);
    const Eigen::VectorXd stepv = H.ldlt().solve(g);
    double t = 1.0;
    bool improved = false;
    Eigen::MatrixXd Bn, pn;
    for (int ls = 0; ls < 30; ++ls) {
      Bn = B;
      for (int a = 1; a < m; ++a) Bn.col(a) += t * stepv.segment((a - 1) * q, q);
      const double lln = loglik(Bn, pn);
      if (lln >= ll - 1e-12) { improved = true; break; }
      t *= 0.5;
    }
    if (!improved) break;
    const double lln = loglik(Bn, pn);
    B = Bn;
    prob = pn;
    const double gain = lln - ll;
    ll = lln;
    if (gain < 1e-10 * (1.0 + std::fabs(ll))) break;
  }
  return B;
}

}  // namespace p4l
