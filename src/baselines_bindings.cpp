// Bindings for the baselines (R/fqi.R, R/vlearning.R, R/acpi.R): convert,
// call the core, convert back. Features are computed on the R side.
#include <RcppEigen.h>

#include "binding_checks.h"
#include "core/acpi.h"
#include "core/fqi.h"
#include "core/fusion_graph.h"
#include "core/moments.h"
#include "core/multinom.h"
#include "core/transitions.h"
#include "core/vlearning.h"
#include "runtime_bindings.h"
#include "settings.h"
#include "transition_bindings.h"

namespace {

Rcpp::List wrap_matrices(const std::vector<Eigen::MatrixXd>& x) {
  Rcpp::List out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = Rcpp::wrap(x[i]);
  return out;
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::List fqi_cpp(Rcpp::List transitions, double gamma, double ridge, Rcpp::List control,
                   const Eigen::MatrixXd& choice, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "fqi");
  p4l::FqiOptions opt;
  opt.gamma = gamma;
  opt.ridge = ridge;
  p4l_settings::Reader s(control, "control", "fqi_control");
  opt.max_iter = s.get<int>("max.iter");
  opt.tol = s.get<double>("tol");
  // the weight enters through `choice` (kappa times the behaviour model's
  // coefficients, built by fqi() in R); here it only says whether one is due
  const double weight = s.get<double>("behaviour.weight");
  s.done();
  if ((weight > 0) != (choice.size() > 0))
    Rcpp::stop("fqi: `choice` must be given exactly when control$behaviour.weight > 0");
  if (choice.size() > 0 && (choice.rows() != tr.d() || choice.cols() != tr.num_actions))
    Rcpp::stop("fqi: `choice` must be a %d x %d matrix", tr.d(), tr.num_actions);
  opt.choice = choice;
  const p4l::FqiResult r = p4l::fitted_q_iteration(tr, opt);
  return Rcpp::List::create(Rcpp::Named("W") = r.W, Rcpp::Named("iterations") = r.iterations,
                            Rcpp::Named("converged") = r.converged,
                            Rcpp::Named("change") = r.change,
                            Rcpp::Named("bellman.rmse") = r.bellman_rmse);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List vlearning_cpp(Rcpp::List transitions, const Eigen::VectorXd& mu,
                         const Eigen::VectorXd& nu, const Eigen::MatrixXd& beta0, double gamma,
                         double ridge, Rcpp::List control, bool optimize, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "vlearning");
  p4l::VlOptions opt;
  opt.gamma = gamma;
  opt.ridge = ridge;
  // reference and propensity.ridge are used on the R side only
  p4l_settings::Reader s(control, "control", "vlearning_control",
                         {"reference", "propensity.ridge"});
  opt.policy_ridge = s.get<double>("policy.ridge");
  opt.max_iter = s.get<int>("max.iter");
  opt.tol = s.get<double>("tol");
  s.done();
  if (!optimize) {
    const p4l::VlValue v = p4l::vlearning_value(tr, mu, nu, beta0, opt, true);
    return Rcpp::List::create(Rcpp::Named("value") = v.value,
                              Rcpp::Named("objective") = v.objective,
                              Rcpp::Named("theta") = v.theta, Rcpp::Named("gradient") = v.grad);
  }
  const p4l::VlResult r = p4l::vlearning_optimize(tr, mu, nu, beta0, opt);
  return Rcpp::List::create(
      Rcpp::Named("beta") = r.beta, Rcpp::Named("value") = r.at_optimum.value,
      Rcpp::Named("objective") = r.at_optimum.objective, Rcpp::Named("theta") = r.at_optimum.theta,
      Rcpp::Named("gradient") = r.at_optimum.grad, Rcpp::Named("iterations") = r.iterations,
      Rcpp::Named("converged") = r.converged, Rcpp::Named("trace") = r.trace);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List multinom_cpp(const Eigen::Map<Eigen::MatrixXd> X, const Eigen::VectorXi& y, int m,
                        double ridge, int max_iter, double tol, int num_threads) {
  p4l_check::length_is(y.size(), X.rows(), "multinom: y");
  if (m < 2) Rcpp::stop("multinom: need at least two classes");
  p4l_check::index_range(y, 0, m, "multinom: y");
  p4l::ThreadScope scope(num_threads);  // threads and interrupts
  const p4l::MultinomResult r = p4l::multinom_fit(X, y, m, ridge, max_iter, tol);
  return Rcpp::List::create(
      Rcpp::Named("coef") = r.coef, Rcpp::Named("prob") = r.prob, Rcpp::Named("loglik") = r.loglik,
      Rcpp::Named("iterations") = r.iterations, Rcpp::Named("converged") = r.converged);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List acpi_cpp(Rcpp::List transitions, const Eigen::VectorXi& clusters, int K, double gamma,
                    double ridge, Rcpp::List control, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "acpi");
  p4l::AcpiOptions opt;
  opt.gamma = gamma;
  opt.ridge = ridge;
  opt.K = K;
  p4l_settings::Reader s(control, "control", "acpi_control");
  opt.mcp_gamma = s.get<double>("mcp.gamma");
  opt.admm_rho = s.get<double>("admm.rho");
  opt.admm_max_iter = s.get<int>("admm.max.iter");
  opt.admm_tol = s.get<double>("admm.tol");
  opt.num_lambda = s.get<int>("num.lambda");
  opt.lambda_min_ratio = s.get<double>("lambda.min.ratio");
  // NULL: C_N = log log(N p), marked by a negative constant in the core
  opt.bic_constant = s.is_null("bic.constant") ? -1.0 : s.get<double>("bic.constant");
  opt.pi_max_iter = s.get<int>("pi.max.iter");
  opt.max_outer = s.get<int>("max.outer");
  // "auto" is resolved by acpi() (R/acpi.R) before the call
  const std::string graph = s.string("graph");
  if (graph != "complete" && graph != "knn")
    Rcpp::stop("`control$graph` must be \"complete\" or \"knn\" here");
  const int k = s.get<int>("num.neighbors");
  opt.graph_neighbors = graph == "knn" ? k : 0;
  s.done();
  const p4l::AcpiResult r = p4l::acpi(tr, clusters, opt);
  const p4l::AcpeFit& f = r.last_acpe;
  Rcpp::List path = Rcpp::List::create(
      Rcpp::Named("lambda") = f.lambda, Rcpp::Named("num.clusters") = f.num_clusters,
      Rcpp::Named("bic") = f.bic, Rcpp::Named("admm.iterations") = f.admm_iterations,
      Rcpp::Named("chosen") = f.chosen + 1, Rcpp::Named("coef") = f.coef,
      Rcpp::Named("num.edges") = static_cast<double>(f.num_edges));
  std::vector<int> conv(r.pi_converged.begin(), r.pi_converged.end());
  return Rcpp::List::create(
      Rcpp::Named("cluster") = Rcpp::wrap(Eigen::VectorXi(r.cluster.array() + 1)),
      Rcpp::Named("W") = wrap_matrices(r.W), Rcpp::Named("pi.iterations") = r.pi_iterations,
      Rcpp::Named("pi.converged") = conv, Rcpp::Named("outer.iterations") = r.outer_iterations,
      Rcpp::Named("clusters.stable") = r.clusters_stable, Rcpp::Named("path") = path);
}

// LSTD-Q of a greedy (or uniform, W empty) policy on some individuals, for tests.
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd lstdq_cpp(Rcpp::List transitions, std::vector<int> members,
                          const Eigen::MatrixXd& W, double gamma, double ridge) {
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "lstdq");
  p4l_check::index_range(members, 0, tr.num_individuals(), "lstdq: members");
  if (W.size() > 0 && (W.rows() != tr.d() || W.cols() != tr.num_actions))
    Rcpp::stop("lstdq: W must be d x m");
  return p4l::lstdq(tr, members, W, gamma, ridge);
}

// The per-action moments (core/moments.h) of some individuals' rows under a
// next-state policy ("none", "uniform", "greedy" or "softmax" in W), and their
// Bellman design rows, for tests.
// [[Rcpp::export(rng = false)]]
Rcpp::List action_moments_cpp(Rcpp::List transitions, std::vector<int> members, std::string policy,
                              const Eigen::MatrixXd& W, double gamma, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "action_moments");
  p4l_check::index_range(members, 0, tr.num_individuals(), "action_moments: members");
  const int m = tr.num_actions;
  p4l::NextPolicy pol = p4l::NextPolicy::uniform(m);
  if (policy == "greedy" || policy == "softmax") {
    if (W.rows() != tr.d() || W.cols() != m) Rcpp::stop("action_moments: W must be d x m");
    pol = policy == "greedy" ? p4l::NextPolicy::greedy(W) : p4l::NextPolicy::softmax(W);
  } else if (policy != "uniform" && policy != "none") {
    Rcpp::stop("action_moments: unknown policy");
  }
  const std::vector<long> rows = p4l::rows_of(tr, members);
  const p4l::ActionMoments mom =
      p4l::action_moments(tr, rows, policy == "none" ? nullptr : &pol, true);
  Eigen::MatrixXd X, D;
  Eigen::VectorXd R;
  p4l::bellman_design(tr, rows, pol, gamma, X, D, R);
  return Rcpp::List::create(Rcpp::Named("G") = mom.G, Rcpp::Named("h") = mom.h,
                            Rcpp::Named("K") = mom.K, Rcpp::Named("count") = mom.count,
                            Rcpp::Named("X") = X, Rcpp::Named("D") = D, Rcpp::Named("R") = R,
                            Rcpp::Named("td") = p4l::td_features(tr, gamma));
}

// The sparse fusion graph of acpi() (k nearest neighbours + minimum spanning
// tree of the columns of X): a two-column matrix of 1-based pairs i < j.
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerMatrix acpi_graph_cpp(const Eigen::MatrixXd& X, int k, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  const auto edges = p4l::knn_mst_graph(X, k).edges;
  Rcpp::IntegerMatrix out(static_cast<int>(edges.size()), 2);
  for (std::size_t e = 0; e < edges.size(); ++e) {
    out(e, 0) = edges[e].first + 1;
    out(e, 1) = edges[e].second + 1;
  }
  return out;
}
