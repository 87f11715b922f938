// Bindings for the ICU simulator and its exact tabular model (R/sim_icu.R, R/env.R). The
// environment itself reaches R through env_step_cpp() and
// evaluate_policy_cpp() via make_env().
#include <RcppEigen.h>

#include "core/icu.h"
#include "runtime_bindings.h"

// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd icu_grid_cpp() { return p4l::IcuEnv::grid(); }

// [[Rcpp::export(rng = false)]]
Eigen::VectorXd icu_initial_cpp() { return p4l::IcuEnv::initial_distribution(); }

// Every outcome of (state index, action) as 0-based indices: continuing
// transitions (to >= 0), then death (to = -1) and discharge (to = -2).
// [[Rcpp::export(rng = false)]]
Rcpp::List icu_model_cpp(bool atypical) {
  const p4l::TabularModel m = p4l::icu_model(atypical);
  const int S = m.num_states, A = m.num_actions;
  std::vector<int> from, action, next;
  std::vector<double> prob;
  for (int s = 0; s < S; ++s)
    for (int a = 0; a < A; ++a) {
      const int row = s * A + a;
      for (int k = m.start[row]; k < m.start[row + 1]; ++k) {
        from.push_back(s);
        action.push_back(a);
        next.push_back(m.next[k]);
        prob.push_back(m.prob[k]);
      }
      from.push_back(s);
      action.push_back(a);
      next.push_back(-1);
      prob.push_back(m.death(s, a));
      from.push_back(s);
      action.push_back(a);
      next.push_back(-2);
      prob.push_back(m.discharge(s, a));
    }
  return Rcpp::List::create(Rcpp::Named("from") = from, Rcpp::Named("action") = action,
                            Rcpp::Named("to") = next, Rcpp::Named("prob") = prob,
                            Rcpp::Named("reward") = m.reward);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List icu_solve_cpp(bool atypical, double gamma, double tol, int max_iter) {
  const p4l::TabularModel m = p4l::icu_model(atypical);
  const p4l::TabularSolution sol = p4l::solve_tabular(m, gamma, tol, max_iter);
  return Rcpp::List::create(
      Rcpp::Named("V") = sol.V, Rcpp::Named("Q") = sol.Q, Rcpp::Named("action") = sol.action,
      Rcpp::Named("iterations") = sol.iterations, Rcpp::Named("improvements") = sol.improvements,
      Rcpp::Named("residual") = sol.residual);
}

// Exact values of tabular policies: probs[[k]] is num_states x 8 and is
// evaluated in subgroup atypical[k]. Returns num_states x K.
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd icu_evaluate_cpp(Rcpp::List probs, std::vector<int> atypical, double gamma,
                                 int num_threads) {
  const std::size_t K = probs.size();
  std::vector<Eigen::MatrixXd> P(K);
  for (std::size_t k = 0; k < K; ++k) P[k] = Rcpp::as<Eigen::MatrixXd>(probs[k]);
  const p4l::TabularModel models[2] = {p4l::icu_model(false), p4l::icu_model(true)};
  Eigen::MatrixXd out(p4l::IcuEnv::kNumStates, K);
  std::vector<std::string> errors(K);
  {
    p4l::ThreadScope scope(num_threads);
    p4l::runtime().parallel_for(K, [&](std::size_t b, std::size_t e) {
      for (std::size_t k = b; k < e; ++k) {
        try {
          out.col(k) = p4l::evaluate_tabular(models[atypical[k] ? 1 : 0], P[k], gamma);
        } catch (const std::exception& ex) {
          errors[k] = ex.what();
        }
      }
    });
  }
  for (const auto& msg : errors)
    if (!msg.empty()) Rcpp::stop(msg);
  return out;
}

// Exact expected total of a per-(state, action) reward matrix (num_states x 8)
// under the tabular policy prob, discounted by gamma (1 allowed when the
// policy reaches death or discharge from every state): e.g. absorption
// probabilities or expected episode lengths.
// [[Rcpp::export(rng = false)]]
Eigen::VectorXd icu_evaluate_reward_cpp(const Eigen::MatrixXd& prob, const Eigen::MatrixXd& reward,
                                        bool atypical, double gamma) {
  p4l::TabularModel m = p4l::icu_model(atypical);
  if (reward.rows() != m.num_states || reward.cols() != m.num_actions)
    Rcpp::stop("`reward` must be %d x %d", m.num_states, m.num_actions);
  m.reward = reward;
  return p4l::evaluate_tabular(m, prob, gamma);
}

// [[Rcpp::export(rng = false)]]
std::vector<int> icu_subgroups_cpp(int n, double share, double seed) {
  return p4l::draw_icu_subgroups(n, share, p4l::seed_from_double(seed));
}

// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd sim_icu_cpp(std::vector<int> atypical, std::vector<int> behaviour, double noise,
                            int max_decisions, double seed, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  return p4l::simulate_icu(atypical, behaviour, noise, max_decisions, p4l::seed_from_double(seed));
}
