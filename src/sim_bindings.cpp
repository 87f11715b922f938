// Bindings for simulators, environments and Monte Carlo evaluation
// (R/sim_linear2d.R, R/env.R, R/evaluate.R).
#include <RcppEigen.h>

#include "basis_convert.h"
#include "core/env.h"
#include "core/policy.h"
#include "core/rng.h"
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
Rcpp::List env_step_cpp(std::string type, std::vector<double> params, const Eigen::VectorXd& state,
                        int action, double seed) {
  std::unique_ptr<p4l::Env> env = p4l::make_env(type, params);
  if (state.size() != env->state_dim()) Rcpp::stop("`state` must have length %d", env->state_dim());
  if (action < 0 || action >= env->num_actions())
    Rcpp::stop("action index %d out of range [0, %d)", action, env->num_actions());
  std::mt19937_64 g = p4l::make_stream(p4l::seed_from_double(seed));
  Eigen::VectorXd next;
  bool done = false;
  const double r = env->step(state, action, g, next, done);
  return Rcpp::List::create(Rcpp::Named("state") = next, Rcpp::Named("reward") = r,
                            Rcpp::Named("done") = done);
}

// Monte Carlo values of a linear policy. envs: list of list(type, params);
// target_env and target_slot are 0-based per target; state_map (0-based, may
// be empty) gives the environment's column of each policy state. Every index
// and shape is checked here: an R error, never an out-of-bounds read.
// [[Rcpp::export(rng = false)]]
Rcpp::List evaluate_policy_cpp(Rcpp::List basis, Rcpp::List coef, bool greedy, double epsilon,
                               bool raw_state, Rcpp::List envs, std::vector<int> target_env,
                               std::vector<int> target_slot, std::vector<int> action_map,
                               std::vector<int> state_map, int episodes, int horizon, double gamma,
                               double seed, int num_threads) {
  p4l::LinearPolicy pol;
  if (!raw_state) pol.basis = feature_map_from_r(basis);
  pol.greedy = greedy;
  pol.epsilon = epsilon;
  pol.raw_state = raw_state;
  if (coef.size() < 1) Rcpp::stop("the policy has no coefficient set");
  for (R_xlen_t g = 0; g < coef.size(); ++g) pol.coef.push_back(Rcpp::as<Eigen::MatrixXd>(coef[g]));
  pol.num_actions = static_cast<int>(pol.coef.front().cols());
  const long rows = pol.coef.front().rows();
  if (pol.num_actions < 1) Rcpp::stop("the policy has no action");
  for (const auto& C : pol.coef)
    if (C.rows() != rows || C.cols() != pol.num_actions || !C.allFinite())
      Rcpp::stop("the policy's coefficient sets must be finite matrices of one shape");
  if (envs.size() < 1) Rcpp::stop("no environment");
  std::vector<std::unique_ptr<p4l::Env>> owned;
  for (R_xlen_t e = 0; e < envs.size(); ++e) {
    Rcpp::List spec = envs[e];
    owned.push_back(p4l::make_env(Rcpp::as<std::string>(spec["type"]),
                                  Rcpp::as<std::vector<double>>(spec["params"])));
  }
  const int sdim = owned.front()->state_dim(), nact = owned.front()->num_actions();
  for (const auto& e : owned)
    if (e->state_dim() != sdim || e->num_actions() != nact)
      Rcpp::stop("the environments must have the same states and actions");
  const int pdim = state_map.empty() ? sdim : static_cast<int>(state_map.size());
  for (int j : state_map)
    if (j < 0 || j >= sdim) Rcpp::stop("state map index %d out of range [0, %d)", j, sdim);
  const long want = raw_state ? pdim + 1L : pol.basis->dim();
  if (!raw_state && pol.basis->min_state_dim() > pdim)
    Rcpp::stop("the basis reads %d state columns but the policy has %d", pol.basis->min_state_dim(),
               pdim);
  if (rows != want)
    Rcpp::stop("the policy's coefficients have %d rows but its inputs have %d features",
               static_cast<int>(rows), static_cast<int>(want));
  if (action_map.size() != static_cast<std::size_t>(pol.num_actions))
    Rcpp::stop("action map must have one entry per action of the policy");
  for (int a : action_map)
    if (a < 0 || a >= nact) Rcpp::stop("action map index %d out of range [0, %d)", a, nact);
  if (target_env.size() != target_slot.size())
    Rcpp::stop("target_env and target_slot differ in length");
  std::vector<p4l::EvalTarget> targets;
  for (std::size_t k = 0; k < target_env.size(); ++k) {
    if (target_env[k] < 0 || target_env[k] >= static_cast<int>(owned.size()))
      Rcpp::stop("environment index %d out of range", target_env[k]);
    if (target_slot[k] < 0 || target_slot[k] >= static_cast<int>(pol.coef.size()))
      Rcpp::stop("policy slot %d out of range [1, %d]", target_slot[k] + 1,
                 static_cast<int>(pol.coef.size()));
    targets.push_back({owned[target_env[k]].get(), target_slot[k]});
  }
  if (episodes < 1 || horizon < 1) Rcpp::stop("episodes and horizon must be positive");
  if (!(gamma >= 0 && gamma <= 1)) Rcpp::stop("gamma must be in [0, 1]");
  pol.state_map = state_map;
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
