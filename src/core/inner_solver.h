// The inner solver of the ADMM (admm.h): steps (1) and (2) of an outer
// iteration, the ascent in Theta on V - ridge ||Theta - Theta_c||^2 and in the
// free latent coordinates U~ on V - (rho / 2N) ||U~ - W + Eta / rho||^2 at
// fixed ADMM variables (W, Eta). Two implementations:
//  - closed form (inner_closed_form.cpp): V and its gradient from the exact
//    dual (P4LProblem), L-BFGS / gradient steps with Armijo backtracking;
//  - stochastic (inner_stochastic.cpp): Algorithm 1's minibatch steps
//    (detail::SaddleSgd, p4l_sgd.h) with normalised, decaying steps.
#pragma once
#include <Eigen/Dense>
#include <memory>

#include "p4l_solver.h"

namespace p4l {
namespace detail {

// What the ADMM driver shares with its inner solver: the problem, the
// settings and the current iterate.
struct AdmmContext {
  AdmmContext(P4LProblem& problem, const Control& control, double gamma, double alpha, int q);
  P4LProblem& prob;
  const Control& ctl;
  double gamma, alpha, rho;
  int N, q;                 // individuals; free latent coordinates (r - 1)
  Params par;               // (Theta, U)
  Eigen::MatrixXd Wa, Eta;  // ADMM w and eta (N x q)
  int evaluations = 0;      // dual evaluations so far
  // Per-step values any policy can attain: [min R, max R], widened to 0 when
  // some transitions are absorbing (as p4l_value_range() in R).
  double value_lo = 0, value_hi = 0;
  bool in_range(double v) const;
  // V (and its gradient when want_grad) at pp; checked for an interrupt first
  // (several evaluations per ADMM iteration, so that Ctrl-C stops even a
  // 10^6-transition fit well within a second).
  Gradient evaluate(const Params& pp, bool want_grad);
  // Theta minus the centre of its ridge penalty.
  Eigen::MatrixXd ridge_dev(const Eigen::MatrixXd& T) const;
};

// Outcome of one inner step.
struct InnerStep {
  double step_theta = 0, step_u = 0;  // last accepted steps (0: none)
  bool stalled = false;   // a line search failed where the gradient promised a real gain
  bool diverged = false;  // values no longer finite (the iterate is restored)
};

class InnerSolver {
 public:
  virtual ~InnerSolver() = default;
  // Before the first outer iteration (after the first cluster step).
  virtual void start(AdmmContext& c) = 0;
  // Steps (1) and (2) of outer iteration `it` from c.par (updated in place).
  virtual InnerStep step(AdmmContext& c, int it, FitResult& res) = 0;
  // V, c'w (point value) and lambda at the current iterate, for the trace.
  virtual double value() const = 0;
  virtual double point_value() const = 0;
  virtual double lambda() const = 0;
  // The solver's own state follows the gauge map u~ -> cs (u~ - ub) of the
  // free latent coordinates (Theta_a -> Theta_a H^-1, see p4l_solver.h).
  virtual void regauge(const AdmmContext& c, const Eigen::RowVectorXd& ub, double cs) = 0;
};

std::unique_ptr<InnerSolver> make_closed_form_inner();
std::unique_ptr<InnerSolver> make_stochastic_inner(const P4LData& data, double gamma, double alpha,
                                                   const SgdControl& control);

}  // namespace detail
}  // namespace p4l
