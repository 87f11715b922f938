// Bellman residuals of a fitted P4L Q-function under the P4L policy of a
// latent variable: what the assignment model of new individuals scores
// (R/new_individuals.R, bellman_residuals()). Plain C++17 + Eigen; no R.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "transitions.h"

namespace p4l {

// For each row t in `rows` (0-based):
//   e_t = R_t + gamma (1 - terminal_t) sum_a pi(a | S'_t; u_pol) psi(S'_t)' W_a u
//         - psi(S_t)' W_{A_t} u,
// W: p x r Q weights (W_a = rows a d .. a d + d - 1, p = m d), Theta:
// (m-1) d x r policy parameters (reference action 0), pi the reference-action
// softmax of psi(S'_t)' Theta_a u_pol. psi_next of terminal rows is not read.
// Rows are independent (parallel over rows, no reduction); tr's grouping by
// individual is not used.
Eigen::VectorXd bellman_residuals(const TransitionData& tr, const Eigen::MatrixXd& W,
                                  const Eigen::MatrixXd& Theta, const Eigen::VectorXd& u_pol,
                                  const Eigen::VectorXd& u, double gamma,
                                  const std::vector<int>& rows);

}  // namespace p4l
