// Per-action moments of offline transitions: the statistics every
// estimator's Bellman equation is built from, in one place. Over a set of
// rows, with x = psi(S), x' = psi(S'), "live" = the next state is not
// absorbing, and a next-state policy pi (uniform, greedy or softmax):
//   G_a     = sum_{A = a} x x'                         (Gram matrix of action a)
//   h_a     = sum_{A = a} R x
//   K_{a,c} = sum_{A = a, live} pi(c | S') x x''        (next-state cross, by next action)
//   K_a     = sum_c K_{a,c} = sum_{A = a, live} x x''   (any policy)
// Who uses what:
//   LSTD-Q (fqi.cpp):       blockdiag(G) - gamma K and h over a cluster's rows;
//   ACPI (acpi.cpp):        the same over one individual (divided by T_i), or
//                           its design rows (bellman_design()) when T_i < m d;
//   FQI (fqi.cpp):          G (the regressions; its targets change every iteration);
//   P4L (p4l_problem.cpp):  G_a, K_a and h_a per individual (add_action_moments()),
//                           the policy-dependent part at every evaluation;
//   V-learning:             the state-value analogue x - gamma x' (td_features()).
// Sums run over rows in the order given, in fixed chunks, so that the results
// do not depend on the number of threads.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "transitions.h"
namespace p4l {

// A next-state policy: pi(. | s) from the features x = psi(s).
struct NextPolicy {
  enum class Kind { Uniform, Greedy, Softmax };
  Kind kind = Kind::Uniform;
  int num_actions = 2;
  Eigen::MatrixXd W;  // d x m: Q weights (Greedy, first maximiser) or logit weights (Softmax)

  static NextPolicy uniform(int m);
  static NextPolicy greedy(const Eigen::MatrixXd& W);
  static NextPolicy softmax(const Eigen::MatrixXd& W);
  // The baselines' convention: greedy in W, uniform when W is empty.
  static NextPolicy greedy_or_uniform(const Eigen::MatrixXd& W, int m);
  // pi(. | s) at features x, into p (length m).
  void probabilities(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::VectorXd& p) const;
  // The action with probability 1 (Greedy only).
  int action(const Eigen::Ref<const Eigen::VectorXd>& x) const { return greedy_action(W, x); }
};

// Rows of the given individuals, individual by individual, each in data order.
std::vector<long> rows_of(const TransitionData& tr, const std::vector<int>& individuals);
std::vector<long> rows_of(const TransitionData& tr, int individual);

struct ActionMoments {
  int d = 0, m = 0;
  long count = 0;     // rows summed
  Eigen::MatrixXd G;  // d x m d: columns a d .. a d + d - 1 hold G_a
  Eigen::MatrixXd h;  // d x m: column a holds h_a
  Eigen::MatrixXd K;  // m d x m d: block (a, c) holds K_{a,c}; empty unless a policy was given
  Eigen::MatrixXd gram_matrix() const;  // blockdiag(G_a), m d x m d
  // blockdiag(G_a) - gamma K, built in K's memory (K is left empty).
  Eigen::MatrixXd take_bellman_matrix(double gamma);
  Eigen::VectorXd rhs() const;  // (h_0', ..., h_{m-1}')'
};

// The moments of `rows` (of tr): G and h, and K_{a,c} under `policy` when it is
// not null. parallel: the policy at the next states runs in parallel over
// rows, and the blocks (a, c) as parallel tasks (each block is summed by one
// task in row order, so the result does not depend on the threads); false
// inside a caller's own parallel loop.
ActionMoments action_moments(const TransitionData& tr, const std::vector<long>& rows,
                             const NextPolicy* policy, bool parallel);

// The moments of one action from rows already gathered: Xt (d x T_a, the
// features x' of the rows as columns), Xn (T_a x d, the next-state features,
// zero on absorbing rows), R (T_a): G += Xt Xt', K += Xt Xn, h += Xt R.
template <class XT, class XN, class RV, class GO, class KO, class HO>
inline void add_action_moments(const XT& Xt, const XN& Xn, const RV& R, GO&& G, KO&& K, HO&& h) {
  G.noalias() += Xt * Xt.transpose();
  K.noalias() += Xt * Xn;
  h.noalias() += Xt * R;
}

// The Bellman design rows of `rows` under `policy`: row t of X is
// phi(S_t, A_t)' = e_{A_t}' (x) x_t', of D it is phi(S_t, A_t)' - gamma
// sum_c pi(c | S'_t) phi(S'_t, c)' (no next-state term on absorbing rows);
// R the rewards. X, D: T x m d.
void bellman_design(const TransitionData& tr, const std::vector<long>& rows,
                    const NextPolicy& policy, double gamma, Eigen::MatrixXd& X, Eigen::MatrixXd& D,
                    Eigen::VectorXd& R);

// The state-value analogue: row k is psi(S_k)' - gamma psi(S'_k)' (psi(S_k)'
// on absorbing rows), n x d, in parallel over fixed row chunks.
Eigen::MatrixXd td_features(const TransitionData& tr, double gamma);

}  // namespace p4l
