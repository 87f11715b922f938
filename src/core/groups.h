// Kernel density estimates of individuals' transition densities and the
// cross log-likelihoods used to choose the number of subgroups (paper Sec 5,
// last paragraph; R/groups.R).
#pragma once
#include <Eigen/Dense>
#include <vector>
namespace p4l {

// Inputs on standardized scales. Transition r has conditioning variables
// X.col(r) (the state), a discrete action A[r], response Y.col(r) (state
// increment and reward) and belongs to individual owner[r] in [0, N).
struct KdeTransitions {
  Eigen::MatrixXd X;       // dx x n (column per transition)
  Eigen::MatrixXd Y;       // dy x n
  std::vector<int> A;      // n, 0-based actions
  std::vector<int> owner;  // n, 0-based individuals
  int N = 0;
};

// Conditional kernel density of individual j at (y | x, a):
//   p_j(y | x, a) = [sum_{r in j} w_r k_r + lambda p_0(y | x, a)] / [sum_{r in j} w_r + lambda],
// with w_r = 1{A_r = a} exp(-|x - X_r|^2 / (2 hx^2)), k_r = exp(-|y - Y_r|^2 / (2 hy^2)),
// and p_0 the same estimate from all individuals (the pooled density; lambda
// shrinks an individual's estimate towards it where the individual has few
// nearby transitions). Kernel normalising constants are omitted: they cancel
// in the distances built from these values.
// Returns the N x N matrix S with S(i, j) = mean over the evaluation
// transitions t of individual i (eval[i], indices into the transitions) of
// log p_j(Y_t | X_t, A_t), where p_i leaves out transition t and its
// neighbours in time: the transitions r of individual i with |r - t| <= window
// (transitions are stored by individual and time). Leaving a block out keeps
// the serial dependence of a trajectory (near-identical consecutive states)
// from inflating an individual's fit to itself. The pooled p_0 uses every
// transition, including t.
// Parallel over individuals i; deterministic for any number of threads.
Eigen::MatrixXd kde_cross_loglik(const KdeTransitions& data,
                                 const std::vector<std::vector<int>>& eval, double hx, double hy,
                                 double lambda, int window);

}  // namespace p4l
