// Fitted-Q iteration (Munos 2003; Le et al. 2019) and least-squares policy
// iteration (LSTD-Q evaluation + greedy improvement; Lagoudakis and Parr 2003)
// with a linear Q-function Q(s, a) = psi(s)' W[, a] on a shared feature map.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "transitions.h"
namespace p4l {

struct FqiOptions {
  double gamma = 0.8;
  double ridge = 1e-4;  // penalty ridge * n * ||W||_F^2 added to the squared error sum
  int max_iter = 1000;
  double tol = 1e-8;  // stop when max |W_new - W| <= tol * max(1, max |W_new|)
  // Behaviour-regularised choice (d x m, or empty): the action at S' is the
  // argmax of psi(S')' (W + choice) instead of psi(S')' W, and the target
  // takes that action's Q (choice = kappa B: the log behaviour propensities
  // psi' B, up to a constant per state, weighted by kappa).
  Eigen::MatrixXd choice;
};

struct FqiResult {
  Eigen::MatrixXd W;  // d x m Q weights
  int iterations = 0;
  bool converged = false;
  double change = 0.0;        // last relative change
  double bellman_rmse = 0.0;  // sqrt(mean (R + gamma max Q(S') - Q(S, A))^2) at the end
};

// Fitted-Q iteration: W_{k+1}[, a] = argmin sum_{A = a} (y_k - psi' w)^2 + ridge n ||w||^2,
// y_k = R + gamma (1 - terminal) max_a' psi(S')' W_k[, a'], from W_0 = 0 (with
// opt.choice: psi(S')' W_k[, a*], a* = argmax_a' psi(S')' (W_k + choice)[, a']).
FqiResult fitted_q_iteration(const TransitionData& tr, const FqiOptions& opt);

// LSTD-Q weights of a policy on the rows of the given individuals.
// Policy at S': uniform when W_policy is empty, otherwise greedy in W_policy.
// Solves (sum phi (phi - gamma phibar)' + ridge n I) theta = sum phi R.
Eigen::MatrixXd lstdq(const TransitionData& tr, const std::vector<int>& individuals,
                      const Eigen::MatrixXd& W_policy, double gamma, double ridge);

struct LspiResult {
  Eigen::MatrixXd W;
  int iterations = 0;
  bool converged = false;  // greedy actions at every next state stopped changing
};

// Policy iteration from the uniform policy: evaluate by LSTD-Q, improve greedily.
LspiResult lspi(const TransitionData& tr, const std::vector<int>& individuals, double gamma,
                double ridge, int max_iter);

}  // namespace p4l
