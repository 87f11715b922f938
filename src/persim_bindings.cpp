// Bindings for the personalised simulator (R/persim.R).
#include <RcppEigen.h>

#include "core/persim.h"
#include "runtime_bindings.h"

namespace {
p4l::PersimFeatures features_from_r(const Eigen::VectorXd& center, const Eigen::VectorXd& scale,
                                    const Eigen::MatrixXd& centres, double bandwidth) {
  if (scale.size() != center.size() || (centres.rows() > 0 && centres.cols() != center.size()))
    Rcpp::stop("persim features: centre, scale and centres differ in dimension");
  if (!(bandwidth > 0) || !(scale.array() > 0).all())
    Rcpp::stop("persim features: bandwidth and scales must be positive");
  p4l::PersimFeatures f;
  f.center = center;
  f.scale = scale;
  f.centres = centres;
  f.bandwidth = bandwidth;
  return f;
}
}  // namespace

// Features phi(S) of the simulator, n x (1 + d + k).
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd persim_features_cpp(const Eigen::MatrixXd& S, const Eigen::VectorXd& center,
                                    const Eigen::VectorXd& scale, const Eigen::MatrixXd& centres,
                                    double bandwidth, int num_threads) {
  const p4l::PersimFeatures f = features_from_r(center, scale, centres, bandwidth);
  if (S.cols() != center.size())
    Rcpp::stop("persim features: S has %d columns, expected %d", static_cast<int>(S.cols()),
               static_cast<int>(center.size()));
  p4l::ThreadScope scope(num_threads);
  return f.eval_rows(S);
}

// Alternating ridge least squares of the increments dS on phi (0-based
// individual and action of each row).
// [[Rcpp::export(rng = false)]]
Rcpp::List persim_fit_cpp(const Eigen::MatrixXd& phi, const Eigen::MatrixXd& dS,
                          std::vector<int> individual, std::vector<int> action, int num_individuals,
                          int num_actions, int rank, double ridge, int max_iter, double tol,
                          double seed, int num_threads) {
  if (phi.rows() != dS.rows()) Rcpp::stop("phi and dS differ in rows");
  if (rank < 1 || max_iter < 1 || !(ridge >= 0) || !(tol >= 0)) Rcpp::stop("bad persim settings");
  p4l::PersimData data;
  data.phi = phi;
  data.dS = dS;
  data.individual = std::move(individual);
  data.action = std::move(action);
  data.num_individuals = num_individuals;
  data.num_actions = num_actions;
  p4l::PersimControl ctl;
  ctl.rank = rank;
  ctl.ridge = ridge;
  ctl.max_iter = max_iter;
  ctl.tol = tol;
  ctl.seed = p4l::seed_from_double(seed);
  p4l::PersimFit fit;
  Eigen::MatrixXd fitted;
  try {
    p4l::ThreadScope scope(num_threads);
    fit = p4l::fit_persim(data, ctl);
    fitted = p4l::persim_fitted(data, fit);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(e.what());
  }
  Rcpp::List V(rank);
  for (int k = 0; k < rank; ++k) V[k] = fit.V[k];
  return Rcpp::List::create(
      Rcpp::Named("U") = fit.U, Rcpp::Named("W") = fit.W, Rcpp::Named("V") = V,
      Rcpp::Named("objective") = fit.objective, Rcpp::Named("iterations") = fit.iterations,
      Rcpp::Named("converged") = fit.converged, Rcpp::Named("fitted") = fitted);
}

// Mean next state and reward of one individual's simulator (packed params)
// at each row of S under the 0-based actions.
// [[Rcpp::export(rng = false)]]
Rcpp::List persim_mean_step_cpp(std::vector<double> params, const Eigen::MatrixXd& S,
                                std::vector<int> action) {
  std::unique_ptr<p4l::PersimEnv> env;
  try {
    env.reset(new p4l::PersimEnv(params));
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(e.what());
  }
  if (S.cols() != env->state_dim()) Rcpp::stop("states have the wrong number of columns");
  if (static_cast<long>(action.size()) != S.rows()) Rcpp::stop("one action per row of states");
  Eigen::MatrixXd next(S.rows(), S.cols());
  Eigen::VectorXd reward(S.rows()), s, nx;
  for (long t = 0; t < S.rows(); ++t) {
    if (action[t] < 0 || action[t] >= env->num_actions()) Rcpp::stop("action index out of range");
    s = S.row(t).transpose();
    double r = 0.0;
    env->mean_step(s, action[t], nx, r);
    next.row(t) = nx.transpose();
    reward(t) = r;
  }
  return Rcpp::List::create(Rcpp::Named("state") = next, Rcpp::Named("reward") = reward);
}
