// Minibatch stochastic path of Algorithm 1 for the linear classes; see
// p4l_sgd.h and the sgd_dual() notes in p4l_solver.h.
#include "p4l_sgd.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "rng.h"

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace detail {

SaddleSgd::SaddleSgd(const P4LData& D, double gamma, double alpha, const SgdControl& ctl)
    : D_(D), gamma_(gamma), alpha_(alpha), ctl_(ctl) {
  if (ctl.iterations < 1 || ctl.batch < 1 || ctl.batch_initial < 1 || ctl.inner < 1)
    throw std::invalid_argument(
        "p4l: sgd: iterations, inner, batch and batch_initial must be >= 1");
  if (!(ctl.step_theta > 0 && ctl.step_f > 0 && ctl.decay_iters > 0))
    throw std::invalid_argument("p4l: sgd: step sizes and decay_iters must be > 0");
  if (ctl.metric_rows < 1) throw std::invalid_argument("p4l: sgd: metric_rows must be >= 1");
  n_ = static_cast<int>(D.psi.rows());
  d_ = static_cast<int>(D.psi.cols());
  m_ = D.num_actions;
  p_ = m_ * d_;
  N_ = static_cast<int>(D.start.size()) - 1;
  n0_ = static_cast<int>(D.psi0.rows());
  owner_.resize(n_);
  for (int i = 0; i < N_; ++i)
    for (int t = D.start[i]; t < D.start[i + 1]; ++t) owner_[t] = i;
  logit_.resize(std::max(1, m_ - 1));
  pi_.resize(m_);
  phi_.resize(p_);
  phib_.resize(p_);
}

void SaddleSgd::policy_at(const VectorXd& psirow, const VectorXd& u) const {
  const MatrixXd& Th = par_->Theta;
  for (int a = 1; a < m_; ++a) logit_(a - 1) = psirow.dot(Th.middleRows((a - 1) * d_, d_) * u);
  softmax_ref(logit_.head(m_ - 1), pi_);
}

void SaddleSgd::transition_phi(int t, const VectorXd& u, VectorXd& ph, VectorXd& phb) const {
  ph.setZero();
  ph.segment(D_.action(t) * d_, d_) = D_.psi.row(t).transpose();
  phb.setZero();
  if (!D_.terminal[t]) {
    policy_at(D_.psi_next.row(t).transpose(), u);
    for (int a = 0; a < m_; ++a) phb.segment(a * d_, d_) = pi_(a) * D_.psi_next.row(t).transpose();
  }
}

double SaddleSgd::sigma_norm(const VectorXd& v) const {
  return std::sqrt(std::max(0.0, v.dot(Sigma_ * v)));
}

double SaddleSgd::dual_norm(const VectorXd& e) const {
  return std::sqrt(std::max(0.0, e.dot(Sll_.solve(e))));
}

void SaddleSgd::set_point(const Params& par, const MatrixXd& Sigma, const MatrixXd& M) {
  par_ = &par;
  r_ = static_cast<int>(par.U.cols());
  pr_ = p_ * r_;
  Sigma_ = Sigma;
  Sll_.compute(Sigma_);
  if (Sll_.info() != Eigen::Success)
    throw std::runtime_error("p4l: sgd: Sigma is not positive definite");
  // Preconditioners. z-steps are in the Sigma metric (Sigma^-1 gradient), as
  // its norm term is. theta-steps are preconditioned by
  // P = M^-1 Sigma M^-T: in the coordinates z = L^-T zeta, theta = M^-1 L vartheta
  // (Sigma = L L') the coupling z' M theta becomes zeta' vartheta, whose
  // operator norm is 1 whatever the conditioning of the RBF features, so
  // extragradient steps of a fixed, dimensionless size converge at a rate
  // that does not depend on it. (With the plain Sigma^-1 preconditioner the
  // rate is that of the smallest singular value of L^-1 M L^-T and the
  // iterations stall or drift on 16-centre bases.) The M given here is only a
  // preconditioner: the iterations use unbiased minibatch estimates, so their
  // fixed point is the exact saddle point whatever M is (an estimate of M on a
  // subsample in p4l_fit()).
  const Eigen::PartialPivLU<MatrixXd> Mlu(M);
  {
    const MatrixXd MiT = Mlu.transpose().solve(MatrixXd::Identity(pr_, pr_));  // M^-T
    Ptheta_ = MiT.transpose() * Sigma_ * MiT;
    Ptheta_ = 0.5 * (Ptheta_ + Ptheta_.transpose());
  }
  if (!Ptheta_.allFinite()) throw std::runtime_error("p4l: sgd: M is singular");
  // Scale of the minibatch noise: one transition's coupling x (x - gamma xbar)'
  // has norm ||L^-1 x|| ||L' M^-T (x - gamma xbar)|| in those coordinates; its
  // root-mean-square G over (up to 2000 evenly spaced) transitions gives the
  // noise of a batch, G / sqrt(batch). The coupling of a step is a random
  // matrix with mean norm 1 and second moment about 1 + G^2 / batch; a
  // linear stochastic iteration with random coupling is stable only when the
  // step is below about 1 / (second moment), so the step sizes are divided by
  // 1 + G^2 / batch. (Dividing by 1 + G / sqrt(batch) is not enough: on
  // 16-centre bases, where single transitions have far larger leverage than
  // the average coupling, the iterations then diverge.)
  double G = 0;
  {
    const int ns = std::min(n_, 2000);
    VectorXd x(pr_), xb(pr_), ph(p_), phb(p_), u(r_);
    for (int k = 0; k < ns; ++k) {
      const int t = static_cast<int>((static_cast<long long>(k) * n_) / ns);
      u = par.U.row(owner_[t]).transpose();
      transition_phi(t, u, ph, phb);
      for (int q = 0; q < r_; ++q) {
        x.segment(q * p_, p_) = u(q) * ph;
        xb.segment(q * p_, p_) = u(q) * (ph - gamma_ * phb);
      }
      const double a1 = Sll_.matrixL().solve(x).norm();
      const double a2 = std::sqrt(std::max(0.0, xb.dot(Ptheta_ * xb)));
      G += a1 * a1 * a2 * a2;
    }
    G = std::sqrt(G / ns);
  }
  Lstep_ = 1.0 + G * G / ctl_.batch;
  gth_.resize(pr_);
  gz_.resize(pr_);
}

void SaddleSgd::set_point_estimated(const Params& par, double dual_ridge) {
  par_ = &par;
  r_ = static_cast<int>(par.U.cols());
  pr_ = p_ * r_;
  const int ns = std::min(n_, ctl_.metric_rows);
  MatrixXd X(pr_, ns), Xb(pr_, ns);
  VectorXd ph(p_), phb(p_), u(r_);
  for (int k = 0; k < ns; ++k) {
    const int t = static_cast<int>((static_cast<long long>(k) * n_) / ns);
    u = par.U.row(owner_[t]).transpose();
    transition_phi(t, u, ph, phb);
    for (int q = 0; q < r_; ++q) {
      X.col(k).segment(q * p_, p_) = u(q) * ph;
      Xb.col(k).segment(q * p_, p_) = u(q) * (ph - gamma_ * phb);
    }
  }
  MatrixXd S = (X * X.transpose()) / ns;
  MatrixXd M = (X * Xb.transpose()) / ns;
  // Relative ridge as in the closed form; raised until Sigma factors (a small
  // subsample can leave directions unseen).
  double rel = std::max(dual_ridge, 1e-12);
  const double tr = std::max(S.trace() / pr_, 1e-300);
  for (int attempt = 0; attempt < 12; ++attempt, rel *= 10) {
    MatrixXd Sr = S, Mr = M;
    Sr.diagonal().array() += rel * tr;
    Mr.diagonal().array() += rel * tr;
    Eigen::LLT<MatrixXd> chk(Sr);
    if (chk.info() == Eigen::Success) {
      set_point(par, Sr, Mr);
      return;
    }
  }
  throw std::runtime_error("p4l: sgd: the estimated Sigma is not positive definite");
}

// Stochastic gradients at (th, zz) from one minibatch:
//   gth = c_hat - M_hat' zz (descent direction for theta is -gth),
//   gz  = b_hat - M_hat th  (ascent for z, before the norm term).
void SaddleSgd::stoch(std::mt19937_64& g, const VectorXd& th, const VectorXd& zz) {
  gth_.setZero();
  gz_.setZero();
  const Eigen::Map<const MatrixXd> Wm(th.data(), p_, r_), Zm(zz.data(), p_, r_);
  const MatrixXd& U = par_->U;
  VectorXd u(r_);
  auto kron_add = [&](VectorXd& dst, const VectorXd& uu, const VectorXd& v, double w) {
    for (int k = 0; k < r_; ++k) dst.segment(k * p_, p_) += (w * uu(k)) * v;
  };
  for (int k = 0; k < ctl_.batch_initial; ++k) {  // c_hat
    const int i = std::min(N_ - 1, static_cast<int>(unif01(g) * N_));
    const int j = std::min(n0_ - 1, static_cast<int>(unif01(g) * n0_));
    u = U.row(i).transpose();
    policy_at(D_.psi0.row(j).transpose(), u);
    phi_.setZero();
    for (int a = 0; a < m_; ++a) phi_.segment(a * d_, d_) = pi_(a) * D_.psi0.row(j).transpose();
    kron_add(gth_, u, phi_, (1.0 - gamma_) / ctl_.batch_initial);
  }
  for (int k = 0; k < ctl_.batch; ++k) {
    const int t = std::min(n_ - 1, static_cast<int>(unif01(g) * n_));
    u = U.row(owner_[t]).transpose();
    transition_phi(t, u, phi_, phib_);
    const VectorXd Wu = Wm * u, Zu = Zm * u;
    const double f = phi_.dot(Zu);                                              // f(S, A; u)
    const double delta = D_.reward(t) - phi_.dot(Wu) + gamma_ * phib_.dot(Wu);  // TD error of Q
    kron_add(gth_, u, phi_ - gamma_ * phib_, -f / ctl_.batch);
    kron_add(gz_, u, phi_, delta / ctl_.batch);
  }
}

// z-step: preconditioned stochastic ascent on z'(b - M theta), then the exact
// proximal step of -alpha ||z||_Sigma (shrink the Sigma-norm by eta alpha).
VectorXd SaddleSgd::zstep(const VectorXd& from, double eta) const {
  VectorXd out = from + eta * Sll_.solve(gz_);
  const double nr = sigma_norm(out);
  out *= (nr > eta * alpha_) ? (1.0 - eta * alpha_ / nr) : 0.0;
  return out;
}

void SaddleSgd::run(int iters, double k0, std::uint64_t stream, VectorXd& theta, VectorXd& z,
                    VectorXd& thA, VectorXd& zA,
                    const std::function<void(int, const VectorXd&, const VectorXd&)>& on_step) {
  if (!par_) throw std::logic_error("p4l: sgd: run() before set_point()");
  if (theta.size() != pr_) theta = VectorXd::Zero(pr_);
  if (z.size() != pr_) z = VectorXd::Zero(pr_);
  thA = VectorXd::Zero(pr_);
  zA = VectorXd::Zero(pr_);
  long long navg = 0;
  const int avg_start = static_cast<int>(ctl_.average_from * iters);
  for (int it = 0; it < iters; ++it) {
    if ((it & 255) == 0) check_interrupt();
    std::mt19937_64 g = make_stream(ctl_.seed, static_cast<std::uint64_t>(it), stream);
    const double sc = 1.0 / std::sqrt(1.0 + (k0 + it) / ctl_.decay_iters);
    const double et = ctl_.step_theta * sc / Lstep_, ez = ctl_.step_f * sc / Lstep_;
    VectorXd th1 = theta, z1 = z;
    if (ctl_.extragradient) {  // extrapolation step from the current point
      // the same minibatch for both half-steps (same-sample extragradient):
      // with independent batches the extrapolation does not cancel the
      // rotation of the bilinear coupling and the iterations can diverge
      std::mt19937_64 g1 = g;
      stoch(g1, theta, z);
      th1 = theta - et * (Ptheta_ * gth_);
      z1 = zstep(z, ez);
    }
    // update step, with gradients at the extrapolated point (plain SGDA: the current point)
    stoch(g, th1, z1);
    theta -= et * (Ptheta_ * gth_);
    z = zstep(z, ez);
    if (it >= avg_start) {
      ++navg;
      const double w = 1.0 / navg;
      thA += w * ((ctl_.extragradient ? th1 : theta) - thA);
      zA += w * ((ctl_.extragradient ? z1 : z) - zA);
    }
    if (on_step) on_step(it, navg > 0 ? thA : theta, navg > 0 ? zA : z);
  }
  if (navg == 0) {
    thA = theta;
    zA = z;
  }
}

// 81 lines on purpose: one pass over the individuals whose transition and
// initial-state loops share the per-individual accumulators (zacc, wacc,
// facc, tacc) and the draw order of the stream `g`; split, the pieces would
// pass all of them and the stream between calls.
SaddleSgd::OuterGradient SaddleSgd::outer_gradient(const VectorXd& theta, const VectorXd& z,
                                                   int per_individual, int per_initial,
                                                   std::mt19937_64& g) const {
  if (!par_) throw std::logic_error("p4l: sgd: outer_gradient() before set_point()");
  const MatrixXd& Th = par_->Theta;
  const MatrixXd& U = par_->U;
  const int d = d_, m = m_, p = p_, r = r_, m1 = m_ - 1;
  const Eigen::Map<const MatrixXd> Wm(theta.data(), p, r), Zm(z.data(), p, r);
  OuterGradient out;
  out.dTheta.setZero(Th.rows(), r);
  out.dU.setZero(N_, r);
  const double s = sigma_norm(z);
  double Lsum = 0, ct = 0;
  VectorXd u(r), WU(p), ZU(p), zacc(p), wacc(p), facc(p), q(m);
  MatrixXd TU(d, m1), tacc(d, m1);
  VectorXd ps(d), pn(d);
  // One next-state (or initial-state) term: the policy at psirow, the Q values,
  // and the policy-gradient coefficients coef * pi_a (q_a - qbar) added to tacc;
  // returns qbar and fills pi_.
  auto next_term = [&](const VectorXd& psirow, double coef) {
    for (int a = 1; a < m; ++a) logit_(a - 1) = psirow.dot(TU.col(a - 1));
    softmax_ref(logit_.head(m1), pi_);
    double qbar = 0;
    for (int a = 0; a < m; ++a) {
      q(a) = psirow.dot(WU.segment(a * d, d));
      qbar += pi_(a) * q(a);
    }
    for (int a = 1; a < m; ++a) tacc.col(a - 1) += (coef * pi_(a) * (q(a) - qbar)) * psirow;
    return qbar;
  };
  for (int i = 0; i < N_; ++i) {
    u = U.row(i).transpose();
    WU.noalias() = Wm * u;
    ZU.noalias() = Zm * u;
    for (int a = 1; a < m; ++a) TU.col(a - 1).noalias() = Th.middleRows((a - 1) * d, d) * u;
    zacc.setZero();
    wacc.setZero();
    facc.setZero();
    tacc.setZero();
    const int s0 = D_.start[i], Ti = D_.start[i + 1] - s0;
    const bool all_t = per_individual >= Ti;
    const int kt = all_t ? Ti : per_individual;
    const double wt = all_t ? 1.0 / n_ : (static_cast<double>(Ti) / n_) / kt;
    for (int k = 0; k < kt; ++k) {
      const int t = all_t ? s0 + k : s0 + std::min(Ti - 1, static_cast<int>(unif01(g) * Ti));
      const int A = D_.action(t);
      ps = D_.psi.row(t).transpose();
      const double f = ps.dot(ZU.segment(A * d, d));
      double delta = D_.reward(t) - ps.dot(WU.segment(A * d, d));
      // d(f delta)/du: delta Z'phi + f (-W'phi + gamma W'phibar + gamma sum_a dpi_a q_a)
      if (!D_.terminal[t]) {
        pn = D_.psi_next.row(t).transpose();
        delta += gamma_ * next_term(pn, wt * gamma_ * f);
        for (int a = 0; a < m; ++a) wacc.segment(a * d, d) += (wt * gamma_ * f * pi_(a)) * pn;
      }
      wacc.segment(A * d, d) -= (wt * f) * ps;
      zacc.segment(A * d, d) += (wt * delta) * ps;
      facc.segment(A * d, d) += (wt * f) * ps;
      Lsum += wt * f * delta;
    }
    const bool all_0 = per_initial >= n0_;
    const int k0 = all_0 ? n0_ : per_initial;
    const double w0 = (1.0 - gamma_) / (static_cast<double>(N_) * k0);
    for (int k = 0; k < k0; ++k) {
      const int j = all_0 ? k : std::min(n0_ - 1, static_cast<int>(unif01(g) * n0_));
      ps = D_.psi0.row(j).transpose();
      ct += w0 * next_term(ps, w0);
      for (int a = 0; a < m; ++a) wacc.segment(a * d, d) += (w0 * pi_(a)) * ps;
    }
    VectorXd gu = Zm.transpose() * zacc + Wm.transpose() * wacc;
    if (s > 0) gu -= (alpha_ / s) * (Zm.transpose() * facc);
    for (int a = 1; a < m; ++a) {
      gu.noalias() += Th.middleRows((a - 1) * d, d).transpose() * tacc.col(a - 1);
      out.dTheta.middleRows((a - 1) * d, d).noalias() += tacc.col(a - 1) * u.transpose();
    }
    out.dU.row(i) = gu.transpose();
  }
  out.c_theta = ct;
  out.L = ct + Lsum - alpha_ * s;
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Minibatch stochastic saddle-point path (Algorithm 1, steps (22)-(23)) for
// fixed (Theta, U); see p4l_solver.h. Exact Sigma and M (from the closed form)
// give the preconditioner and the step scale; the iterations use minibatches.
SgdResult sgd_dual(const P4LData& D, const Params& par, double gamma, double alpha,
                   const SgdControl& ctl) {
  P4LProblem prob(D);
  const DualSolution ex = prob.evaluate(par, gamma, alpha, ctl.dual_ridge, false).dual;
  detail::SaddleSgd sg(D, gamma, alpha, ctl);
  sg.set_point(par, ex.Sigma, ex.M);
  SgdResult res;
  VectorXd theta, z, thA, zA;
  sg.run(
      ctl.iterations, 0.0, 0, theta, z, thA, zA,
      [&](int it, const VectorXd& th, const VectorXd& zz) {
        if (ctl.trace_every > 0 && ((it + 1) % ctl.trace_every == 0 || it + 1 == ctl.iterations)) {
          res.trace_iter.push_back(it + 1);
          res.trace_V.push_back(ex.c.dot(th));
          res.trace_lambda.push_back(sg.sigma_norm(zz));
          res.trace_theta.push_back(th);
        }
      });
  res.theta = thA;
  res.lambda = sg.sigma_norm(zA);
  res.beta = res.lambda > 0 ? VectorXd(zA / res.lambda) : VectorXd::Zero(thA.size());
  res.iterations = ctl.iterations;
  res.V = ex.c.dot(thA);
  res.constraint = sg.dual_norm(ex.b - ex.M * thA);
  return res;
}

}  // namespace p4l
