// The closed-form inner solver: exact V and gradient from the dual
// (P4LProblem), an L-BFGS Theta-step and a gradient u-step, each with Armijo
// backtracking. See inner_solver.h.
#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "inner_solver.h"

namespace p4l {
namespace detail {
namespace {

using Eigen::MatrixXd;

class ClosedFormInner : public InnerSolver {
 public:
  void start(AdmmContext& c) override {
    cur_ = c.evaluate(c.par, true);
    have_grad_ = true;
    if (!std::isfinite(cur_.dual.V))
      throw std::runtime_error("p4l: value is not finite at the starting point");
    tT_ = lastT_ = c.ctl.step_theta0;
    tU_ = lastU_ = c.ctl.step_u0;
  }
  InnerStep step(AdmmContext& c, int /*it*/, FitResult& res) override {
    InnerStep s;
    refreshed_ = false;
    theta_step(c, res, s);
    if (c.q > 0) u_step(c, res, s);
    return s;
  }
  double value() const override { return cur_.dual.V; }
  double point_value() const override { return cur_.dual.point_value; }
  double lambda() const override { return cur_.dual.lambda; }
  void regauge(const AdmmContext& c, const Eigen::RowVectorXd& ub, double cs) override;

 private:
  using Trial = std::function<Params(double)>;
  using Objective = std::function<double(const Params&, const Gradient&)>;
  void theta_step(AdmmContext& c, FitResult& res, InnerStep& s);
  void u_step(AdmmContext& c, FitResult& res, InnerStep& s);
  bool refresh(AdmmContext& c);
  MatrixXd lbfgs_direction(const MatrixXd& grad0) const;
  void remember_pair(const AdmmContext& c, const MatrixXd& Theta0, const MatrixXd& grad0);
  double armijo(AdmmContext& c, double f0, double g2, double& t_next, const Trial& trial,
                const Objective& objective);
  // A failed search is a stall unless the first-order gain of the last
  // accepted step, t g2, is already below the objective tolerance.
  static bool real_gain(const Control& ctl, double t_ok, double g2, double f0) {
    return t_ok * g2 > ctl.tol * std::max(1.0, std::abs(f0));
  }

  Gradient cur_;            // value and gradient at the current iterate
  bool have_grad_ = false;  // cur_ is valid (after start())
  // L-BFGS memory of the Theta-steps (Control::lbfgs_memory pairs): s = step,
  // y = decrease of the ascent gradient over the step (both at fixed U).
  std::vector<MatrixXd> hs_, hy_;
  bool refreshed_ = false;        // cur_ re-evaluated in this outer iteration
  double tT_ = 1, tU_ = 1;        // next trial steps
  double lastT_ = 1, lastU_ = 1;  // last accepted steps
};

// Backtracking Armijo search shared by the Theta- and u-steps: trial(t) is
// the candidate at step t, objective(candidate, g) its penalised value. On
// success the candidate becomes the current point and the accepted step is
// returned; t_next is the step to try next time (grown unless the search
// backtracked). Returns 0 when the search fails (t_next = last step tried).
// Trial points are evaluated without the gradient; it is completed only for
// accepted points (complete_gradient() reuses the value pass).
double ClosedFormInner::armijo(AdmmContext& c, double f0, double g2, double& t_next,
                               const Trial& trial, const Objective& objective) {
  const Control& ctl = c.ctl;
  double t = t_next;
  for (int bt = 0; bt < ctl.max_backtrack; ++bt) {
    Params tr = trial(t);
    Gradient g = c.evaluate(tr, false);
    const double f1 = objective(tr, g);
    if (std::isfinite(f1) && f1 >= f0 + ctl.armijo * t * g2) {
      c.prob.complete_gradient(g);
      c.par = std::move(tr);
      cur_ = std::move(g);
      t_next = std::min(ctl.max_step, bt == 0 ? t * ctl.grow : t);
      return t;
    }
    t *= ctl.backtrack;
  }
  t_next = t;
  return 0.0;
}

// L-BFGS direction (two-loop recursion); the plain gradient without memory.
MatrixXd ClosedFormInner::lbfgs_direction(const MatrixXd& grad0) const {
  MatrixXd dir = grad0;
  const int hm = static_cast<int>(hs_.size());
  if (hm > 0) {
    std::vector<double> al(hm), rh(hm);
    for (int k = hm - 1; k >= 0; --k) {
      rh[k] = 1.0 / hs_[k].cwiseProduct(hy_[k]).sum();
      al[k] = rh[k] * hs_[k].cwiseProduct(dir).sum();
      dir -= al[k] * hy_[k];
    }
    dir *= hs_[hm - 1].cwiseProduct(hy_[hm - 1]).sum() / hy_[hm - 1].squaredNorm();
    for (int k = 0; k < hm; ++k) {
      const double be = rh[k] * hy_[k].cwiseProduct(dir).sum();
      dir += (al[k] - be) * hs_[k];
    }
  }
  return dir;
}

// Adds the pair of the accepted step from Theta0 (curvature condition s'y > 0).
void ClosedFormInner::remember_pair(const AdmmContext& c, const MatrixXd& Theta0,
                                    const MatrixXd& grad0) {
  const Control& ctl = c.ctl;
  MatrixXd sk = c.par.Theta - Theta0;
  MatrixXd yk = grad0 - (cur_.dTheta - 2 * ctl.ridge * c.ridge_dev(c.par.Theta));
  const double sy = sk.cwiseProduct(yk).sum();
  if (sy > 1e-12 * sk.norm() * yk.norm()) {
    hs_.push_back(std::move(sk));
    hy_.push_back(std::move(yk));
    if (static_cast<int>(hs_.size()) > ctl.lbfgs_memory) {
      hs_.erase(hs_.begin());
      hy_.erase(hy_.begin());
    }
  }
}

// (1) Theta-step: Armijo ascent on V - ridge ||Theta - Theta_c||^2.
void ClosedFormInner::theta_step(AdmmContext& c, FitResult& res, InnerStep& s) {
  const Control& ctl = c.ctl;
  for (int st = 0; st < ctl.theta_steps; ++st) {
    const MatrixXd grad0 = cur_.dTheta - 2 * ctl.ridge * c.ridge_dev(c.par.Theta);
    const double g2 = grad0.squaredNorm();
    if (!(g2 > 0)) break;
    MatrixXd dir = lbfgs_direction(grad0);
    double slope = grad0.cwiseProduct(dir).sum();
    if (!(slope > 0) || !dir.allFinite()) {  // not an ascent direction: restart the memory
      hs_.clear();
      hy_.clear();
      dir = grad0;
      slope = g2;
    }
    const bool quasi = !hs_.empty();
    double tq = 1.0;
    double& tnext = quasi ? tq : tT_;
    const double f0 = cur_.dual.V - ctl.ridge * c.ridge_dev(c.par.Theta).squaredNorm();
    const double t_ok = quasi ? 1.0 : lastT_;
    const MatrixXd Theta0 = c.par.Theta;
    const double t = armijo(
        c, f0, slope, tnext,
        [&](double step) {
          Params tr = c.par;
          tr.Theta += step * dir;
          return tr;
        },
        [&](const Params& tr, const Gradient& g) {
          return g.dual.V - ctl.ridge * c.ridge_dev(tr.Theta).squaredNorm();
        });
    if (t == 0) {
      hs_.clear();
      hy_.clear();
      if (refresh(c)) {  // retry the step from the refreshed value and gradient
        --st;
        continue;
      }
      if (real_gain(ctl, t_ok, slope, f0)) {
        s.stalled = true;
        ++res.stalls_theta;
      }
      break;
    }
    s.step_theta = t;
    if (!quasi) lastT_ = t;
    if (ctl.lbfgs_memory > 0) remember_pair(c, Theta0, grad0);
  }
}

// (2) u-step: Armijo ascent on V - (rho/2N)||U~ - (Wa - Eta/rho)||^2, direction N * gradient
// (preconditioned by N since dV/du_i = O(1/N)).
void ClosedFormInner::u_step(AdmmContext& c, FitResult& res, InnerStep& s) {
  const Control& ctl = c.ctl;
  const int N = c.N, q = c.q;
  const double rho = c.rho;
  const MatrixXd Tgt = c.Wa - c.Eta / rho;
  for (int st = 0; st < ctl.u_steps; ++st) {
    const MatrixXd Uf = c.par.U.rightCols(q);
    const MatrixXd gU = cur_.dU.rightCols(q) - (rho / N) * (Uf - Tgt);
    const double g2 = N * gU.squaredNorm();
    if (!(g2 > 0)) break;
    const double f0 = cur_.dual.V - (rho / (2.0 * N)) * (Uf - Tgt).squaredNorm();
    const double t_ok = lastU_;
    const double t = armijo(
        c, f0, g2, tU_,
        [&](double step) {
          Params tr = c.par;
          tr.U.rightCols(q) += (step * N) * gU;
          return tr;
        },
        [&](const Params& tr, const Gradient& g) {
          return g.dual.V - (rho / (2.0 * N)) * (tr.U.rightCols(q) - Tgt).squaredNorm();
        });
    if (t == 0) {
      if (refresh(c)) {
        --st;
        continue;
      }
      if (real_gain(ctl, t_ok, g2, f0)) {
        s.stalled = true;
        ++res.stalls_u;
      }
      break;
    }
    s.step_u = lastU_ = t;
  }
}

// After a failed line search: re-evaluates the value and gradient at the
// current iterate, at most once per outer iteration, and returns true when
// the step is to be retried. The cached ones were computed before the last
// re-gauging, under which V is invariant only up to the dual ridge (eps I is
// not gauge invariant: on the dose study's data a shift of 0.3 and a scaling
// by 1.7 of the free latent coordinate moved V by 0.04), so a search can fail
// because its reference value is stale, not because there is no gain. Not
// where the value has left the attainable range: there a failed search is
// the ill-posed estimator's, and it counts as a stall.
bool ClosedFormInner::refresh(AdmmContext& c) {
  if (refreshed_ || !c.in_range(cur_.dual.V)) return false;
  refreshed_ = true;
  Gradient g = c.evaluate(c.par, true);
  if (!std::isfinite(g.dual.V)) return false;  // keep the cached point
  cur_ = std::move(g);
  return true;
}

// The cached gradient maps like Theta's dual; the L-BFGS pairs follow the
// reparametrisation (s like Theta, y like its gradient).
void ClosedFormInner::regauge(const AdmmContext& c, const Eigen::RowVectorXd& ub, double cs) {
  const int q = c.q;
  if (have_grad_) {
    cur_.dTheta.rightCols(q) = cs * cur_.dTheta.rightCols(q) - cs * cur_.dTheta.col(0) * ub;
    cur_.dU.col(0) += cur_.dU.rightCols(q) * ub.transpose();
    cur_.dU.rightCols(q) /= cs;
  }
  for (MatrixXd& S : hs_) {
    S.col(0) += S.rightCols(q) * ub.transpose();
    S.rightCols(q) /= cs;
  }
  for (MatrixXd& Y : hy_) Y.rightCols(q) = cs * Y.rightCols(q) - cs * Y.col(0) * ub;
}

}  // namespace

std::unique_ptr<InnerSolver> make_closed_form_inner() {
  return std::make_unique<ClosedFormInner>();
}

}  // namespace detail
}  // namespace p4l
