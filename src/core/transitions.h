// One dataset of offline transitions in feature form, read by every
// estimator (P4L, FQI, LSTD-Q/LSPI, V-learning, ACPI; P4LData in
// p4l_solver.h adds the initial states). The R side computes the basis
// features psi(S) and psi(S'); the core never sees raw states, so any feature
// map (RBF, indicators, compositions) can be used. The feature matrices are
// views of the caller's memory (the bindings map R's matrices: 2 n d doubles
// never copied), which must outlive the TransitionData. Rebind a view with
// placement new (Eigen's documented way): new (&D.psi) ConstMatrixView(p, n, d).
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
#include <string>
#include <vector>
namespace p4l {

using ConstMatrixView = Eigen::Map<const Eigen::MatrixXd>;

struct TransitionData {
  ConstMatrixView psi{nullptr, 0, 0};       // n x d features psi(S_t), intercept included by the
                                            // caller; rows grouped by individual
  ConstMatrixView psi_next{nullptr, 0, 0};  // n x d features psi(S_{t+1}); rows of terminal
                                            // transitions are never read (may hold anything)
  Eigen::VectorXi action;                   // n, 0-based in [0, m)
  Eigen::VectorXd reward;                   // n
  std::vector<char> terminal;               // n, 1 = next state absorbing (no value beyond it)
  std::vector<int> start;  // N+1 offsets: individual i owns rows start[i] .. start[i+1]-1
  int num_actions = 2;     // m >= 2

  long n() const { return static_cast<long>(psi.rows()); }
  int d() const { return static_cast<int>(psi.cols()); }
  int num_individuals() const { return static_cast<int>(start.size()) - 1; }
  long begin(int i) const { return start[static_cast<std::size_t>(i)]; }
  long end(int i) const { return start[static_cast<std::size_t>(i) + 1]; }
  // Throws std::invalid_argument naming the first inconsistency: sizes,
  // action range, offsets from 0 to n and non-decreasing (an individual may
  // own no rows; P4L's validate() asks for at least one).
  // who: the prefix of the message.
  void validate(const std::string& who = "transition data") const {
    const long m = n();
    auto fail = [&who](const std::string& msg) { throw std::invalid_argument(who + ": " + msg); };
    if (psi_next.rows() != m || psi_next.cols() != psi.cols())
      fail("psi_next must be n x d like psi");
    if (action.size() != m) fail("action must have length n");
    if (reward.size() != m) fail("reward must have length n");
    if (static_cast<long>(terminal.size()) != m) fail("terminal must have length n");
    if (num_actions < 2) fail("need at least two actions");
    if (start.size() < 2 || start.front() != 0 || start.back() != m)
      fail("start must have N+1 >= 2 entries running from 0 to n");
    for (std::size_t i = 0; i + 1 < start.size(); ++i)
      if (start[i + 1] < start[i]) fail("start must be non-decreasing");
    for (long k = 0; k < m; ++k)
      if (action(k) < 0 || action(k) >= num_actions)
        fail("action out of range at row " + std::to_string(k + 1));
  }
};

// Greedy action of a d x m weight matrix at features x (first maximiser).
inline int greedy_action(const Eigen::MatrixXd& W, const Eigen::Ref<const Eigen::VectorXd>& x) {
  Eigen::Index best = 0;
  (W.transpose() * x).maxCoeff(&best);
  return static_cast<int>(best);
}

}  // namespace p4l
