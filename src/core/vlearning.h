// V-learning (Luckett, Laber, Kahkoska, Maahs, Mayer-Davis and Kosorok 2019,
// JASA): the state-value function of a policy pi, V(s) = psi(s)' theta, solves
// the importance-weighted estimating equation
//   Lambda(theta) = (1/n) sum_k w_k (R_k + gamma V(S'_k) - V(S_k)) psi(S_k) = 0,
//   w_k = pi(A_k | S_k) / mu_k,   mu_k the behaviour propensity of A_k,
// regularised as theta = argmin ||Lambda(theta)||^2 + ridge ||theta||^2
//   = (M'M + ridge I)^-1 M'b,  M = (1/n) sum w psi (psi - gamma psi')', b = (1/n) sum w psi R.
// The value of pi is nu' theta, nu the mean features of a reference state
// distribution. The softmax policy pi(a | s) = softmax_a(psi(s)' beta_a),
// beta_1 = 0, maximises value - (policy_ridge / 2) ||beta||^2 by gradient ascent.
#pragma once
#include <Eigen/Dense>

#include "transitions.h"
namespace p4l {

struct VlOptions {
  double gamma = 0.8;
  double ridge = 1e-4;         // lambda of the penalised estimating equation
  double policy_ridge = 1e-4;  // penalty on the policy coefficients
  int max_iter = 500;
  double tol = 1e-9;  // stop when the objective gains less than tol (1 + |J|)
};

struct VlValue {
  double value = 0.0;      // nu' theta
  double objective = 0.0;  // value - policy_ridge / 2 ||beta||^2
  Eigen::VectorXd theta;   // d
  Eigen::MatrixXd grad;    // d x m gradient of the objective (column 0 is zero)
};

// V-learning estimate (and its gradient in beta when want_grad) of the
// softmax policy beta. delta: td_features(tr, opt.gamma) (moments.h) when the caller
// keeps it across evaluations (computed here when null).
VlValue vlearning_value(const TransitionData& tr, const Eigen::VectorXd& mu, const Eigen::VectorXd& nu,
                        const Eigen::MatrixXd& beta, const VlOptions& opt, bool want_grad,
                        const Eigen::MatrixXd* delta = nullptr);

struct VlResult {
  Eigen::MatrixXd beta;  // d x m
  VlValue at_optimum;
  int iterations = 0;
  bool converged = false;
  Eigen::VectorXd trace;  // objective per iteration
};

VlResult vlearning_optimize(const TransitionData& tr, const Eigen::VectorXd& mu,
                            const Eigen::VectorXd& nu, const Eigen::MatrixXd& beta0,
                            const VlOptions& opt);

}  // namespace p4l
