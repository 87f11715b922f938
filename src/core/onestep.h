// The one-step models of the assignment model (R/new_individuals.R,
// p4l_assignment_model()), which places new individuals: for every group g
// of individuals (group: one per individual, 0..G-1) and action a, ridge
// regressions on x = (1, z), z = (s - center) / scale, of the reward over
// all rows and of the standardised next state over the non-terminal rows,
// with penalty lambda on the slopes (1e-8 on the intercept), and their mean
// squared residuals. Cells c = g m + a; a cell with fewer than 2 rows keeps
// zeros (n_all and n_next say which). The sums run over fixed row blocks
// added in order, so the result does not depend on the number of threads.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "transitions.h"

namespace p4l {

struct OnestepInput {
  explicit OnestepInput(const TransitionData& data) : tr(data) {}
  TransitionData tr;  // with the raw states as "features": psi = S, psi_next = S' (n x q)
  Eigen::VectorXd center, scale;  // q
  double lambda = 1.0;
};

struct OnestepModels {
  Eigen::MatrixXd B_reward;    // k x cells
  Eigen::MatrixXd B_next;      // k x (cells q): cell c in columns c q .. c q + q - 1
  Eigen::VectorXd var_reward;  // cells
  Eigen::MatrixXd var_next;    // q x cells
  std::vector<long> n_all, n_next;
};
OnestepModels onestep_models(const OnestepInput& in, const std::vector<int>& group, int G);

}  // namespace p4l
