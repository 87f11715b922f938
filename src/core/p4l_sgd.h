// Minibatch stochastic machinery of the paper's Algorithm 1 for the linear
// classes of p4l_solver.h (internal to the core): the stochastic saddle-point
// steps (22)-(23) on the Q weights theta and the multiplier-scaled test
// function z = lambda beta at fixed (Theta, U), and the stochastic gradient
// (24) of the Lagrangian in the policy parameters and the latent variables at
// given (theta, z). Used by sgd_dual() and by p4l_fit() with
// Control::stochastic (R: p4l(solver = "sgd")).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "p4l_solver.h"
#include "softmax.h"

namespace p4l {
namespace detail {

// The saddle function of the inner problem at fixed (Theta, U), with theta the
// Q weights and z = lambda beta (p r each):
//   L(theta, z) = c'theta + z'(b - M theta) - alpha ||z||_Sigma,
// whose saddle value is the closed-form V of solve_dual(). Per transition t of
// individual i, with f_t = phi_t' Z u_i and the TD error
// delta_t = R_t - Q(S_t, A_t; u_i) + gamma sum_a pi(a|S'_t; u_i) Q(S'_t, a; u_i),
// z'(b - M theta) = (1/n) sum_t f_t delta_t and ||z||_Sigma^2 = (1/n) sum_t f_t^2.
// Serial and seeded: every minibatch comes from make_stream(seed, stream, k).
class SaddleSgd {
 public:
  SaddleSgd(const P4LData& data, double gamma, double alpha, const SgdControl& control);

  // Fixes (Theta, U) for the following calls (the object keeps a pointer).
  // The preconditioners are Sigma^-1 for z and M^-1 Sigma M^-T for theta
  // (see set_point() in p4l_sgd.cpp); the step sizes are divided by 1 plus the
  // minibatch noise scale.
  void set_point(const Params& par, const Eigen::MatrixXd& Sigma, const Eigen::MatrixXd& M);
  // As set_point(), with Sigma and M estimated on a fixed, evenly spaced
  // subsample of at most control.metric_rows transitions at (Theta, U), plus
  // the relative ridge dual_ridge tr(Sigma) / (p r) on both.
  void set_point_estimated(const Params& par, double dual_ridge);

  // `iters` steps of (22)-(23) from (theta, z); the step sizes decay as
  // step / sqrt(1 + (k0 + k) / decay_iters) and the minibatch of step k comes
  // from make_stream(seed, stream, k). thA, zA receive the averages of the
  // iterates k >= average_from * iters. on_step(k, thA-so-far) is called after
  // every step (may be empty).
  void run(int iters, double k0, std::uint64_t stream, Eigen::VectorXd& theta, Eigen::VectorXd& z,
           Eigen::VectorXd& thA, Eigen::VectorXd& zA,
           const std::function<void(int, const Eigen::VectorXd&, const Eigen::VectorXd&)>& on_step =
               nullptr);

  // Stochastic gradient (24) of L at (theta, z) in Theta and U, with the
  // estimate of L itself. The sample is stratified by individual: from each
  // individual min(T_i, per_individual) transitions (uniform, with
  // replacement; all of them, once each, when per_individual >= T_i) and
  // min(n0, per_initial) initial states (likewise), weighted so that every
  // term is unbiased. The alpha term uses the Sigma of set_point().
  // With per_individual >= max T_i and per_initial >= n0 this is the exact
  // gradient of L, which at the saddle point equals the closed-form dV
  // (the gradient identity of solver.md).
  struct OuterGradient {
    Eigen::MatrixXd dTheta, dU;
    double L = 0;        // estimate of L(theta, z)
    double c_theta = 0;  // estimate of c'theta
  };
  OuterGradient outer_gradient(const Eigen::VectorXd& theta, const Eigen::VectorXd& z,
                               int per_individual, int per_initial, std::mt19937_64& g) const;

  double sigma_norm(const Eigen::VectorXd& v) const;  // ||v||_Sigma
  // ||e||_{Sigma^-1}
  double dual_norm(const Eigen::VectorXd& e) const;
  // Divisor of the step sizes at the current point: 1 + G^2 / batch, with G
  // the noise scale of one transition (1 for a noiseless, perfectly
  // preconditioned problem; steps needed grow in proportion).
  double step_scale() const { return Lstep_; }
  int pr() const { return pr_; }
  int N() const { return N_; }

 private:
  void policy_at(const Eigen::VectorXd& psirow, const Eigen::VectorXd& u) const;
  // phi(S_t, A_t) into ph and sum_a pi(a|S'_t; u) phi(S'_t, a) into phb (0 if terminal).
  void transition_phi(int t, const Eigen::VectorXd& u, Eigen::VectorXd& ph,
                      Eigen::VectorXd& phb) const;
  void stoch(std::mt19937_64& g, const Eigen::VectorXd& th, const Eigen::VectorXd& zz);
  Eigen::VectorXd zstep(const Eigen::VectorXd& from, double eta) const;

  const P4LData& D_;
  double gamma_, alpha_;
  SgdControl ctl_;
  int n_, N_, d_, m_, p_, r_ = 0, pr_ = 0, n0_;
  std::vector<int> owner_;
  const Params* par_ = nullptr;
  Eigen::MatrixXd Sigma_;
  Eigen::LLT<Eigen::MatrixXd> Sll_;
  Eigen::MatrixXd Ptheta_;  // theta-step preconditioner M^-1 Sigma M^-T
  double Lstep_ = 1.0;
  // scratch
  mutable Eigen::VectorXd logit_, pi_;
  Eigen::VectorXd phi_, phib_, gth_, gz_;
};

}  // namespace detail
}  // namespace p4l
