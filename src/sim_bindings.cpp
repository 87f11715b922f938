// Bindings for simulators, environments and Monte Carlo evaluation
// (R/simulators.R, R/evaluate.R).
#include <RcppEigen.h>

#include "core/env.h"
#include "core/rng.h"
#include "core/policy.h"
#include "basis_convert.h"
#include "runtime_bindings.h"

// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd sim_linear2d_cpp(std::vector<double> c1, std::vector<double> c2,
                                 std::vector<double> reward_sign, int T, double seed,
                                 int num_threads) {
  p4l::ThreadScope scope(num_threads);
  return p4l::simulate_linear2d(c1, c2, reward_sign, T, p4l::seed_from_double(seed));
}

// One step of an environment from R (env_step()).
// [[Rcpp::export(rng = false)]]
Rcpp::List env_step_cpp(std::string type, std::vector<double> params,
                        const Eigen::VectorXd& state, int action, double seed) {
  std::unique_ptr<p4l::Env> env = p4l::make_env(type, params);
  if (state.size() != env->state_dim()) Rcpp::stop("`state` must have length %d", env->state_dim());
  std::mt19937_64 g = p4l::make_stream(p4l::seed_from_double(seed));
  Eigen::VectorXd next;
  bool done = false;
  const double r = env->step(state, action, g, next, done);
  return Rcpp::List::create(Rcpp::Named("state") = next, Rcpp::Named("reward") = r,
                            Rcpp::Named("done") = done);
}

// Monte Carlo values of a linear policy. envs: list of list(type, params);
// target_env and target_slot are 0-based per target.
// [[Rcpp::export(rng = false)]]
Rcpp::List evaluate_policy_cpp(Rcpp::List basis, Rcpp::List coef, bool greedy,
                               double epsilon, bool raw_state,
                               Rcpp::List envs, std::vector<int> target_env,
                               std::vector<int> target_slot, std::vector<int> action_map,
                               int episodes, int horizon, double gamma, double seed,
                               int num_threads) {
  p4l::LinearPolicy pol;
  if (!raw_state) pol.basis = feature_map_from_r(basis);
  pol.greedy = greedy;
  pol.epsilon = epsilon;
  pol.raw_state = raw_state;
  for (R_xlen_t g = 0; g < coef.size(); ++g) pol.coef.push_back(Rcpp::as<Eigen::MatrixXd>(coef[g]));
  pol.num_actions = static_cast<int>(pol.coef.front().cols());
  std::vector<std::unique_ptr<p4l::Env>> owned;
  for (R_xlen_t e = 0; e < envs.size(); ++e) {
    Rcpp::List spec = envs[e];
    owned.push_back(p4l::make_env(Rcpp::as<std::string>(spec["type"]),
                                  Rcpp::as<std::vector<double>>(spec["params"])));
  }
  std::vector<p4l::EvalTarget> targets;
  for (std::size_t k = 0; k < target_env.size(); ++k)
    targets.push_back({owned[target_env[k]].get(), target_slot[k]});
  p4l::EvalResult r;
  {
    p4l::ThreadScope scope(num_threads);
    r = p4l::evaluate(pol, targets, action_map, episodes, horizon, gamma,
                      p4l::seed_from_double(seed));
  }
  return Rcpp::List::create(Rcpp::Named("value") = r.value, Rcpp::Named("value_se") = r.value_se,
                            Rcpp::Named("steps") = r.steps, Rcpp::Named("steps_se") = r.steps_se,
                            Rcpp::Named("total") = r.total);
}
