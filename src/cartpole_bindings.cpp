// Bindings for the CartPole simulator (R/sim_cartpole.R, R/env.R). The environment itself
// reaches R through env_step_cpp() and evaluate_policy_cpp() via make_env().
#include <RcppEigen.h>

#include "core/cartpole.h"
#include "runtime_bindings.h"

// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd sim_cartpole_cpp(std::vector<double> length, std::vector<double> force,
                                 double epsilon, int max_steps, double seed, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  return p4l::simulate_cartpole(length, force, epsilon, max_steps, p4l::seed_from_double(seed));
}
