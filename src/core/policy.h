// Linear softmax (or greedy) policies on a feature map (basis.h), and their Monte Carlo
// evaluation in a simulated environment. Every fitted method in the package
// stores its policy as coefficient "slots": slot g has a d x m matrix P_g and
// the action logits at state s are psi(s)' P_g (P4L: one slot per individual
// with P_g[, a] = Theta_a u_g; pooled methods: one slot; clustered: one per cluster).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <random>
#include <vector>

#include "basis.h"
#include "env.h"
namespace p4l {

struct LinearPolicy {
  FeatureMapPtr basis;  // null when raw_state
  int num_actions = 2;
  std::vector<Eigen::MatrixXd> coef;  // per slot: d x m logit coefficients
  bool greedy = false;                // argmax of the logits instead of softmax sampling
  double epsilon = 0.0;               // with this probability act uniformly at random
  bool raw_state = false;             // logits on (1, s) instead of the basis features
  // Policy state j is the environment's state column state_map[j] (empty:
  // the same order); states are matched by name on the R side.
  std::vector<int> state_map;
  // Action probabilities at features psi for a slot (one-hot when greedy).
  void probs(const Eigen::VectorXd& psi, int slot, Eigen::VectorXd& out) const;
  int act(const Eigen::VectorXd& psi, int slot, std::mt19937_64& g) const;
  // Features the logits use at state s: psi(s), or (1, s) when raw_state.
  void inputs(const Eigen::VectorXd& s, Eigen::VectorXd& out) const;
};

struct EvalTarget {
  const Env* env;  // environment of this target
  int slot;        // policy slot to use
};

struct EvalResult {
  // One entry per target.
  Eigen::VectorXd value, value_se;  // discounted return sum_t gamma^t R_t and its s.e.
  Eigen::VectorXd steps, steps_se;  // episode length (steps until done or horizon)
  Eigen::VectorXd total;            // undiscounted return
};

// Monte Carlo evaluation: episodes of at most `horizon` steps; episode e of
// target k uses the random stream (seed, k, e), so results do not depend on
// the number of threads. action_map[j] is the environment's action index of
// the policy's action j.
EvalResult evaluate(const LinearPolicy& policy, const std::vector<EvalTarget>& targets,
                    const std::vector<int>& action_map, int episodes, int horizon, double gamma,
                    std::uint64_t seed);

}  // namespace p4l
