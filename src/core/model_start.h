// The one-step models of P4L's model start (R/p4l.R, p4l_initial_u()): for
// every individual i, action a and response j (the reward, then each
// standardised next-state coordinate), a ridge regression on x = (1, z),
// z = (s - center) / scale,
//   B_iaj = (X'X + lambda I)^-1 (X'y + lambda F_iaj),
// over i's transitions with action a (for a next-state response: the
// non-terminal ones). F is the pooled least-squares fit of the same
// regression over all individuals (columns that are collinear with earlier
// ones get coefficient 0, as R's qr() with its tolerance 1e-7), or a prior
// given per individual. Where no individual has rows for (a, j), the block is
// 0. Every sum runs in a fixed order (row blocks, then individuals), so the
// result does not depend on the number of threads.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace p4l {

struct ModelStartInput {
  ModelStartInput(const double* s, const double* s_next, Eigen::Index n, Eigen::Index q)
      : S(s, n, q), S_next(s_next, n, q) {}
  Eigen::Map<const Eigen::MatrixXd> S;       // n x q raw states
  Eigen::Map<const Eigen::MatrixXd> S_next;  // n x q (read where not terminal)
  Eigen::VectorXd reward;                    // n
  Eigen::VectorXi action;                    // n, 0-based
  std::vector<int> terminal;                 // n, 1 = S' absorbing
  std::vector<int> start;                    // N + 1 row offsets of the individuals
  int num_actions = 2;
  Eigen::VectorXd center, scale;  // q
  double lambda = 1.0;
};

struct ModelStart {
  // N x (m (1 + q) k), k = 1 + q: block (a, j) in the k columns from
  // (a (1 + q) + j) k, the coefficients of (1, z).
  Eigen::MatrixXd B;
  Eigen::MatrixXd pooled;    // k x (m (1 + q)): the pooled fits (0 where a block has no rows)
  Eigen::VectorXd resid_sd;  // m (1 + q): sd of the pooled residuals (1 if undefined or 0)
  std::vector<int> rows;     // m (1 + q): rows of each block
};

// prior: nullptr (shrink towards the pooled fits) or N x (m (1 + q) k) like B.
ModelStart model_start(const ModelStartInput& in, const Eigen::MatrixXd* prior = nullptr);

}  // namespace p4l
