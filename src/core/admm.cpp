// The ADMM driver of p4l_fit(); see admm.h.
#include "admm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kmeans.h"
#include "rng.h"
#include "runtime.h"

namespace p4l {
namespace detail {

using Eigen::MatrixXd;
using Eigen::VectorXi;

AdmmContext::AdmmContext(P4LProblem& problem, const Control& control, double gamma_, double alpha_,
                         int q_)
    : prob(problem),
      ctl(control),
      gamma(gamma_),
      alpha(alpha_),
      rho(control.rho),
      N(problem.N()),
      q(q_) {}

Gradient AdmmContext::evaluate(const Params& pp, bool want_grad) {
  if (runtime().interrupted()) throw Interrupted();
  ++evaluations;
  return prob.evaluate(pp, gamma, alpha, ctl.dual_ridge, want_grad, ctl.kappa);
}

bool AdmmContext::in_range(double v) const {
  const double tol = 1e-6 * std::max(1.0, value_hi - value_lo);
  return v >= value_lo - tol && v <= value_hi + tol;
}

MatrixXd AdmmContext::ridge_dev(const MatrixXd& T) const {
  if (ctl.theta_center.size() == 0) return T;
  return T - ctl.theta_center;
}

AdmmDriver::AdmmDriver(const P4LData& data, int r, int K, double gamma, double alpha, double mu,
                       const Control& ctl, const Params* init)
    : prob_(data, ctl.max_initial, ctl.seed, ctl.visited_initial),
      ctl_(ctl),
      c_(prob_, ctl, gamma, alpha, r - 1),
      r_(r),
      K_(K),
      mu_(mu),
      rng_(ctl.seed),
      Fprev_(std::numeric_limits<double>::quiet_NaN()) {
  prob_.set_iterative_min(ctl.iterative_min);
  c_.value_lo = data.reward.minCoeff();
  c_.value_hi = data.reward.maxCoeff();
  if (std::any_of(data.terminal.begin(), data.terminal.end(), [](char t) { return t != 0; })) {
    c_.value_lo = std::min(c_.value_lo, 0.0);
    c_.value_hi = std::max(c_.value_hi, 0.0);
  }
  const int N = prob_.N(), d = prob_.d(), m = prob_.m(), q = c_.q;
  if (K < 1 || K > N) throw std::invalid_argument("p4l: K must be in [1, N]");
  if (ctl.theta_center.size() > 0 &&
      (ctl.theta_center.rows() != (m - 1) * d || ctl.theta_center.cols() != r))
    throw std::invalid_argument("p4l: theta_center must be (m - 1) d x r");
  init_params(init);
  lab_ = VectorXi::Zero(N);
  inner_ = ctl.stochastic ? make_stochastic_inner(data, gamma, alpha, ctl.sgd)
                          : make_closed_form_inner();
  if (q > 0) {
    regauge();
    c_.Eta.setZero(N, q);
    cluster_step(c_.par.U.rightCols(q));
  }
  inner_->start(c_);
}

// Theta = 0; u_i = (1, init_scale x standard normal draws), or the given start.
void AdmmDriver::init_params(const Params* init) {
  const int N = c_.N, d = prob_.d(), m = prob_.m(), r = r_;
  Params& par = c_.par;
  par.Theta.setZero((m - 1) * d, r);
  par.U.setZero(N, r);
  par.U.col(0).setOnes();
  for (int i = 0; i < N; ++i)
    for (int k = 1; k < r; ++k) par.U(i, k) = ctl_.init_scale * std_normal(rng_);
  if (init) {
    if (init->Theta.rows() == par.Theta.rows() && init->Theta.cols() == r) par.Theta = init->Theta;
    if (init->U.rows() == N && init->U.cols() == r) {
      par.U = init->U;
      par.U.col(0).setOnes();
    }
  }
}

// Gauge fixing of the free coordinates: centre them and scale them to unit
// root-mean-square, u~ -> c (u~ - ubar), c = 1/rms. V is exactly invariant
// (Theta is reparametrised, the Q weights absorb the map); the ADMM variables
// and the inner solver's state are transformed with it.
void AdmmDriver::regauge() {
  const int N = c_.N, q = c_.q;
  Params& par = c_.par;
  const MatrixXd Uf = par.U.rightCols(q);
  const Eigen::RowVectorXd ub = Uf.colwise().mean();
  const double rms = std::sqrt((Uf.rowwise() - ub).squaredNorm() / N);
  if (!(rms > 0) || !std::isfinite(rms)) return;
  const double cs = 1.0 / rms;
  par.U.rightCols(q) = cs * (Uf.rowwise() - ub);
  par.Theta.col(0) += par.Theta.rightCols(q) * ub.transpose();
  par.Theta.rightCols(q) /= cs;
  if (inner_) inner_->regauge(c_, ub, cs);
  if (c_.Wa.size()) c_.Wa = cs * (c_.Wa.rowwise() - ub);
  if (Cen_.size()) Cen_ = cs * (Cen_.rowwise() - ub);
  if (c_.Eta.size()) c_.Eta *= cs;
}

// (3) (v, w)-step: K-means on Y (warm-started at the previous centroids),
// v = cluster means, w_i = (2 mu v_k + rho y_i) / (2 mu + rho).
void AdmmDriver::cluster_step(const MatrixXd& Y) {
  const int N = c_.N;
  const double mu = mu_, rho = c_.rho;
  KMeansOptions kmo;
  kmo.num_starts = ctl_.kmeans_restarts;
  kmo.max_iter = ctl_.kmeans_max_iter;
  KMeansResult km = kmeans(Y, K_, kmo, rng_, Cen_.size() ? &Cen_ : nullptr);
  Cen_ = km.centers;
  lab_ = km.cluster;
  c_.Wa.resize(N, c_.q);
  for (int i = 0; i < N; ++i)
    c_.Wa.row(i) = (2 * mu * Cen_.row(lab_(i)) + rho * Y.row(i)) / (2 * mu + rho);
}

// (4) eta-step (paper, eq. 21).
void AdmmDriver::dual_step(const MatrixXd& Uf) { c_.Eta += c_.rho * (Uf - c_.Wa); }

// (mu / N) sum_i min_k ||u~_i - v_k||^2.
double AdmmDriver::penalty(const MatrixXd& Uf) const {
  const int N = c_.N;
  double pen = 0;
  for (int i = 0; i < N; ++i) {
    double bd = std::numeric_limits<double>::infinity();
    for (int k = 0; k < K_; ++k) bd = std::min(bd, (Uf.row(i) - Cen_.row(k)).squaredNorm());
    pen += bd;
  }
  return mu_ * pen / N;
}

// One trace row; returns the objective F.
double AdmmDriver::record(int it, const InnerStep& s, double primal, double pen) {
  const double Vit = inner_->value();
  const double F = Vit - ctl_.ridge * c_.ridge_dev(c_.par.Theta).squaredNorm() - pen;
  Trace& tr = res_.trace;
  tr.objective.push_back(F);
  tr.V.push_back(Vit);
  tr.point_value.push_back(inner_->point_value());
  tr.lambda.push_back(inner_->lambda());
  tr.penalty.push_back(pen);
  tr.primal_residual.push_back(primal);
  tr.step_theta.push_back(s.step_theta);
  tr.step_u.push_back(s.step_u);
  res_.iterations = it + 1;
  return F;
}

// Convergence test; true = stop. Calm: the objective moved by at most tol
// (relative) and no line search stalled. A stalled search leaves F unchanged
// without being at a stationary point, so it never counts as calm.
bool AdmmDriver::stop(double F, bool stalled, double primal) {
  const Control& ctl = ctl_;
  if (!stalled && std::isfinite(Fprev_) &&
      std::abs(F - Fprev_) <= ctl.tol * std::max(1.0, std::abs(F)))
    ++calm_;
  else
    calm_ = 0;
  stall_run_ = stalled ? stall_run_ + 1 : 0;
  Fprev_ = F;
  if (ctl.stochastic) {  // fixed number of iterations; converged = ADMM residual small
    res_.converged = primal <= ctl.tol_primal;
    res_.status = res_.converged ? "converged" : "primal";
    return false;
  }
  if (calm_ >= ctl.conv_window && primal <= ctl.tol_primal) {
    res_.converged = true;
    res_.status = "converged";
    return true;
  }
  if (stall_run_ >= ctl.conv_window) {  // no progress possible: stop, not converged
    res_.status = "stalled";
    return true;
  }
  return false;
}

FitResult AdmmDriver::run() {
  const int q = c_.q;
  for (int it = 0; it < ctl_.max_iter; ++it) {
    if (runtime().interrupted()) throw Interrupted();
    runtime().progress(it, ctl_.max_iter);
    const InnerStep s = inner_->step(c_, it, res_);  // (1) Theta-step, (2) u-step
    if (s.diverged) {
      res_.converged = false;
      res_.status = "diverged";
      break;
    }
    double primal = 0, pen = 0;
    if (q > 0) {
      regauge();
      const MatrixXd Uf = c_.par.U.rightCols(q);
      cluster_step(Uf + c_.Eta / c_.rho);
      dual_step(Uf);
      primal = (Uf - c_.Wa).rowwise().norm().maxCoeff();
      pen = penalty(Uf);
    }
    const double F = record(it, s, primal, pen);
    if (stop(F, s.stalled, primal)) break;
  }
  if (!res_.converged && res_.status.empty()) res_.status = "max.iter";
  runtime().progress(res_.iterations, ctl_.max_iter);
  finish();
  return std::move(res_);
}

// The result at the final iterate: the dual solution in the final
// parametrisation, the nearest centroid of every u_i, the counters.
void AdmmDriver::finish() {
  const int N = c_.N, q = c_.q;
  const Params& par = c_.par;
  const Gradient cur = c_.evaluate(par, false);
  FitResult& res = res_;
  res.Theta = par.Theta;
  res.U = par.U;
  res.centroids.setOnes(K_, r_);
  res.cluster.setZero(N);
  if (q > 0) {
    res.centroids.rightCols(q) = Cen_;
    for (int i = 0; i < N; ++i) {  // nearest centroid of the final u_i
      double bd = std::numeric_limits<double>::infinity();
      for (int k = 0; k < K_; ++k) {
        const double dd = (par.U.row(i).tail(q) - Cen_.row(k)).squaredNorm();
        if (dd < bd) {
          bd = dd;
          res.cluster(i) = k;
        }
      }
    }
  }
  res.evaluations = c_.evaluations;
  res.factorisations = prob_.inner_factorisations();
  res.cg_iterations = prob_.inner_cg_iterations();
  res.W = cur.dual.W();
  res.V = cur.dual.V;
  res.point_value = cur.dual.point_value;
  res.lambda = cur.dual.lambda;
  res.penalty = q > 0 ? penalty(par.U.rightCols(q)) : 0.0;
  res.objective = res.V - ctl_.ridge * c_.ridge_dev(par.Theta).squaredNorm() - res.penalty;
  res.rcond = cur.dual.rcond;
  // The last trace row is the returned solution (the same point; the final
  // evaluation only follows the last re-gauging, under which V is invariant).
  if (!res.trace.V.empty() && !ctl_.stochastic) {
    res.trace.V.back() = res.V;
    res.trace.point_value.back() = res.point_value;
    res.trace.lambda.back() = res.lambda;
    res.trace.penalty.back() = res.penalty;
    res.trace.objective.back() = res.objective;
  }
}

void AdmmDriver::value_table(FitResult& f) {
  f.values.resize(2, 2);
  const double scales[2] = {1.0, 1e6};
  try {
    for (int k = 0; k < 2; ++k) {
      Params pp;
      pp.Theta = scales[k] * f.Theta;
      pp.U = f.U;
      const Gradient g = prob_.evaluate(pp, c_.gamma, c_.alpha, ctl_.dual_ridge, false, ctl_.kappa);
      f.values(0, k) = g.dual.V;
      f.values(1, k) = g.dual.point_value;
    }
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    f.values.setConstant(std::numeric_limits<double>::quiet_NaN());
    f.values_error = e.what();
  }
}

}  // namespace detail

FitResult p4l_fit(const P4LData& data, int r, int K, double gamma, double alpha, double mu,
                  const Control& ctl, const Params* init) {
  if (r < 1) throw std::invalid_argument("p4l: r must be >= 1");
  if (!(mu >= 0)) throw std::invalid_argument("p4l: mu must be >= 0");
  if (!(ctl.rho > 0)) throw std::invalid_argument("p4l: rho must be > 0");
  if (ctl.max_initial < 0) throw std::invalid_argument("p4l: max_initial must be >= 0");
  detail::AdmmDriver admm(data, r, K, gamma, alpha, mu, ctl, init);
  FitResult f = admm.run();
  if (ctl.value_table) admm.value_table(f);
  return f;
}

}  // namespace p4l
