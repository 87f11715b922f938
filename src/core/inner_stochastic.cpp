// The stochastic inner solver: Algorithm 1's minibatch path (p4l_sgd.h) as
// the inner solver of the ADMM. See inner_solver.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>

#include "inner_solver.h"
#include "p4l_sgd.h"
#include "rng.h"
#include "runtime.h"

namespace p4l {
namespace detail {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// One outer iteration of Algorithm 1 (steps 1 to 3, before the (v, w) and
// eta steps): Sigma and M estimated at the current (Theta, U) for the
// preconditioner; `inner` warm-started minibatch steps (22)-(23) on
// (theta, z), restarted from their average; the minibatch gradient (24) of
// the Lagrangian at the averaged (theta, z) in Theta and in U; then fixed,
// decaying steps (no line search: the minibatch values are too noisy for
// one), each normalised by the running root mean square of its gradient,
//   Theta += step_policy d_k G_T / rms(G_T),  U~ += step_latent d_k G_U / rms(G_U),
// d_k = 1 / sqrt(1 + k / decay_outer), on the same objectives as the
// closed-form steps: V - ridge ||Theta||^2 and V - (rho / 2N) ||U~ - W + Eta / rho||^2.
// When the minibatch values are no longer finite the parameters are restored
// (the last finite iterate) and the step reports `diverged`; the fit then
// stops with status "diverged" and the R side warns.
class StochasticInner : public InnerSolver {
 public:
  StochasticInner(const P4LData& data, double gamma, double alpha, const SgdControl& control)
      : sg_(data, gamma, alpha, control), alpha_(alpha) {}
  void start(AdmmContext& /*c*/) override {}
  InnerStep step(AdmmContext& c, int it, FitResult& res) override {
    InnerStep s;
    const Params before = c.par;
    if (!minibatch_step(c, it, res, s)) {
      c.par = before;
      s.diverged = true;
    }
    return s;
  }
  // the minibatch estimates of L, c'w = L + alpha lambda and lambda
  double value() const override { return L_; }
  double point_value() const override { return L_ + alpha_ * lambda_; }
  double lambda() const override { return lambda_; }
  void regauge(const AdmmContext& c, const Eigen::RowVectorXd& ub, double cs) override;

 private:
  bool minibatch_step(AdmmContext& c, int it, FitResult& res, InnerStep& s);

  SaddleSgd sg_;
  VectorXd th_, z_;  // warm-started inner iterates: theta (Q weights), z = lambda beta (p r each)
  // running mean squares of the outer gradients (normalised steps)
  double msT_ = 0, msU_ = 0;
  int nms_ = 0;
  double L_ = 0, lambda_ = 0, alpha_ = 0;
};

bool StochasticInner::minibatch_step(AdmmContext& c, int it, FitResult& res, InnerStep& s) {
  const Control& ctl = c.ctl;
  const int N = c.N, q = c.q;
  const double rho = c.rho;
  Params& par = c.par;
  if (runtime().interrupted()) throw Interrupted();
  ++c.evaluations;
  sg_.set_point_estimated(par, ctl.dual_ridge);
  VectorXd thA, zA;
  sg_.run(ctl.sgd.inner, 0.0, static_cast<std::uint64_t>(it) + 1, th_, z_, thA, zA);
  th_ = thA;
  z_ = zA;
  std::mt19937_64 g =
      make_stream(ctl.sgd.seed, 0x6f75746572ull /* "outer" */, static_cast<std::uint64_t>(it));
  const SaddleSgd::OuterGradient og =
      sg_.outer_gradient(thA, zA, ctl.sgd.per_individual, ctl.sgd.per_initial, g);
  if (!std::isfinite(og.L) || !og.dTheta.allFinite() || !og.dU.allFinite()) return false;
  L_ = og.L;
  lambda_ = sg_.sigma_norm(zA);
  res.sgd_step_scale = std::max(res.sgd_step_scale, sg_.step_scale());
  constexpr double b2 = 0.9;
  ++nms_;
  const double bc = 1.0 - std::pow(b2, nms_);
  const double dec = 1.0 / std::sqrt(1.0 + it / ctl.sgd.decay_outer);
  const MatrixXd GT = og.dTheta - 2 * ctl.ridge * c.ridge_dev(par.Theta);
  msT_ = b2 * msT_ + (1 - b2) * GT.squaredNorm() / std::max<Eigen::Index>(1, GT.size());
  if (msT_ > 0) {
    s.step_theta = ctl.sgd.step_policy * dec / std::sqrt(msT_ / bc);
    par.Theta += s.step_theta * GT;
  }
  if (q > 0) {
    const MatrixXd Uf = par.U.rightCols(q);
    const MatrixXd GU = N * og.dU.rightCols(q) - rho * (Uf - (c.Wa - c.Eta / rho));
    msU_ = b2 * msU_ + (1 - b2) * GU.squaredNorm() / std::max<Eigen::Index>(1, GU.size());
    if (msU_ > 0) {
      s.step_u = ctl.sgd.step_latent * dec / std::sqrt(msU_ / bc);
      par.U.rightCols(q) += s.step_u * GU;
    }
  }
  return par.Theta.allFinite() && par.U.allFinite();
}

// The Q and f weights absorb the inverse map: W -> W H^-1 (as Theta).
void StochasticInner::regauge(const AdmmContext& c, const Eigen::RowVectorXd& ub, double cs) {
  const int q = c.q, r = q + 1;
  for (VectorXd* v : {&th_, &z_}) {
    if (v->size() != c.prob.p() * r) continue;
    Eigen::Map<MatrixXd> Wv(v->data(), c.prob.p(), r);
    Wv.col(0) += Wv.rightCols(q) * ub.transpose();
    Wv.rightCols(q) /= cs;
  }
}

}  // namespace

std::unique_ptr<InnerSolver> make_stochastic_inner(const P4LData& data, double gamma, double alpha,
                                                   const SgdControl& control) {
  return std::make_unique<StochasticInner>(data, gamma, alpha, control);
}

}  // namespace detail
}  // namespace p4l
