// Offline transitions in feature form, shared by the baselines (FQI,
// V-learning, ACPI). The R side computes the basis features psi(S) and
// psi(S'); the core never sees raw states, so any feature map (RBF, one-hot
// tabular, ...) can be used.
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
#include <string>
#include <vector>
namespace p4l {

struct Transitions {
  Eigen::MatrixXd psi;         // n x d features of S (intercept included by the caller)
  Eigen::MatrixXd psi_next;    // n x d features of S' (ignored where terminal)
  Eigen::VectorXi action;      // n, 0-based
  Eigen::VectorXd reward;      // n
  Eigen::VectorXi terminal;    // n, 1 when S' is absorbing (no value beyond it)
  Eigen::VectorXi individual;  // n, 0-based individual index
  int num_actions = 2;
  int num_individuals = 1;

  long n() const { return psi.rows(); }
  int d() const { return static_cast<int>(psi.cols()); }
  // Row indices of each individual, in data order (fixed reduction order).
  std::vector<std::vector<long>> rows_by_individual() const {
    std::vector<std::vector<long>> out(num_individuals);
    for (long k = 0; k < n(); ++k) out[individual(k)].push_back(k);
    return out;
  }
  void validate() const {
    const long m = n();
    if (psi_next.rows() != m || psi_next.cols() != psi.cols() || action.size() != m ||
        reward.size() != m || terminal.size() != m || individual.size() != m) {
      throw std::invalid_argument("transition inputs have inconsistent sizes");
    }
    if (num_actions < 2) throw std::invalid_argument("need at least two actions");
    for (long k = 0; k < m; ++k) {
      if (action(k) < 0 || action(k) >= num_actions)
        throw std::invalid_argument("action out of range");
      if (individual(k) < 0 || individual(k) >= num_individuals)
        throw std::invalid_argument("individual index out of range");
    }
  }
};

// Greedy action of a d x m weight matrix at features x (first maximiser).
inline int greedy_action(const Eigen::MatrixXd& W, const Eigen::Ref<const Eigen::VectorXd>& x) {
  Eigen::Index best = 0;
  (W.transpose() * x).maxCoeff(&best);
  return static_cast<int>(best);
}

}  // namespace p4l
