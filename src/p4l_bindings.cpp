// Bindings for the P4L estimator (R/p4l.R): convert, call the core, convert
// back. Features are computed on the R side. The dual and gradient bindings
// are internal (tests difference them in R).
#include <RcppEigen.h>

#include <string>
#include <vector>

#include "binding_checks.h"
#include "core/bellman.h"
#include "core/crossprod.h"
#include "core/onestep.h"
#include "core/p4l_sgd.h"
#include "core/p4l_solver.h"
#include "core/rng.h"
#include "core/vexp.h"
#include "runtime_bindings.h"
#include "settings.h"
#include "transition_bindings.h"

namespace {

p4l::Params make_params(const Eigen::MatrixXd& Theta, const Eigen::MatrixXd& U) {
  p4l::Params P;
  P.Theta = Theta;
  P.U = U;
  return P;
}

// Settings of the stochastic path (a p4l_sgd_control() object; names as there).
// The seed is the fit's (set by the caller).
p4l::SgdControl make_sgd_control(const Rcpp::List& list) {
  p4l_settings::Reader s(list, "control$sgd", "p4l_sgd_control");
  p4l::SgdControl c;
  c.inner = s.get<int>("inner");
  c.batch = s.get<int>("batch");
  c.batch_initial = s.get<int>("batch.initial");
  c.step_theta = s.get<double>("step");
  c.step_f = c.step_theta;
  c.per_individual = s.get<int>("per.individual");
  c.per_initial = s.get<int>("per.initial");
  c.step_policy = s.get<double>("step.policy");
  c.step_latent = s.get<double>("step.latent");
  c.decay_outer = s.get<double>("decay");
  c.metric_rows = s.get<int>("metric.rows");
  c.decay_iters = s.get<double>("decay.inner");
  c.extragradient = s.get<bool>("extragradient");
  c.average_from = s.get<double>("average.from");
  s.done();
  return c;
}

// The settings of p4l_fit(): a p4l_control() object with the settings that
// depend on the fit resolved by p4l_settings() (R/p4l.R): kappa, iterative.min
// (an int), seed, solver and value.table. Settings only the R side uses:
const std::vector<std::string> kP4lRonly = {"init", "init.ridge", "init.model", "init.policy",
                                            "init.policy.scale", "policy"};

struct P4lSettings {
  p4l::Control ctl;
  bool ridge_center_init = false;  // centre the ridge on Theta at the starting Theta
};

P4lSettings make_control(const Rcpp::List& list) {
  p4l_settings::Reader s(list, "control", "p4l_control", kP4lRonly);
  P4lSettings out;
  p4l::Control& ctl = out.ctl;
  ctl.max_iter = s.get<int>("max.iter");
  ctl.tol = s.get<double>("tol");
  ctl.conv_window = s.get<int>("conv.window");
  ctl.tol_primal = s.get<double>("tol.primal");
  ctl.rho = s.get<double>("rho");
  ctl.ridge = s.get<double>("ridge");
  ctl.dual_ridge = s.get<double>("dual.ridge");
  ctl.kappa = s.get<double>("kappa");
  ctl.iterative_min = s.get<int>("iterative.min");
  ctl.kmeans_restarts = s.get<int>("kmeans.restarts");
  ctl.kmeans_max_iter = s.get<int>("kmeans.max.iter");
  ctl.seed = p4l::seed_from_double(s.get<double>("seed"));
  ctl.init_scale = s.get<double>("init.scale");
  ctl.theta_steps = s.get<int>("theta.steps");
  ctl.lbfgs_memory = s.get<int>("lbfgs.memory");
  ctl.u_steps = s.get<int>("u.steps");
  ctl.step_theta0 = s.get<double>("step.theta");
  ctl.step_u0 = s.get<double>("step.u");
  ctl.armijo = s.get<double>("armijo");
  ctl.backtrack = s.get<double>("backtrack");
  ctl.grow = s.get<double>("grow");
  ctl.max_backtrack = s.get<int>("max.backtrack");
  ctl.max_step = s.get<double>("max.step");
  ctl.max_initial = s.get<int>("max.initial");
  const std::string initial = s.string("initial");
  if (initial != "shared" && initial != "visited")
    Rcpp::stop("`control$initial` must be \"shared\" or \"visited\"");
  ctl.visited_initial = initial == "visited";
  const std::string center = s.string("ridge.center");
  if (center != "init" && center != "zero")
    Rcpp::stop("`control$ridge.center` must be \"init\" or \"zero\"");
  out.ridge_center_init = center == "init";
  const std::string solver = s.string("solver");
  if (solver != "closed" && solver != "sgd") Rcpp::stop("`solver` must be \"closed\" or \"sgd\"");
  ctl.stochastic = solver == "sgd";
  ctl.sgd = make_sgd_control(s.list("sgd"));
  ctl.sgd.seed = ctl.seed;
  ctl.value_table = s.get<bool>("value.table");
  s.done();
  return out;
}

Rcpp::List wrap_dual(const p4l::DualSolution& s) {
  return Rcpp::List::create(
      Rcpp::Named("V") = s.V, Rcpp::Named("point.value") = s.point_value, Rcpp::Named("s") = s.s,
      Rcpp::Named("lambda") = s.lambda, Rcpp::Named("eps") = s.eps, Rcpp::Named("w") = s.w,
      Rcpp::Named("z") = s.z, Rcpp::Named("theta") = s.theta, Rcpp::Named("beta") = s.beta,
      Rcpp::Named("b") = s.b, Rcpp::Named("c") = s.c, Rcpp::Named("M") = s.M,
      Rcpp::Named("Sigma") = s.Sigma, Rcpp::Named("W") = s.W(), Rcpp::Named("rcond") = s.rcond,
      Rcpp::Named("kappa") = s.kappa, Rcpp::Named("iota") = s.iota, Rcpp::Named("y") = s.y,
      Rcpp::Named("e0") = s.e0);
}

}  // namespace

// Closed-form dual (want_grad = false) or dual + exact gradient of V; kappa > 0
// is the regularised inner problem; max_initial/seed select the initial states
// as p4l_fit() does (0: all).
// [[Rcpp::export(rng = false)]]
Rcpp::List p4l_dual_cpp(Rcpp::List transitions, const Eigen::Map<Eigen::MatrixXd> psi0,
                        const Eigen::MatrixXd& Theta, const Eigen::MatrixXd& U, double gamma,
                        double alpha, double dual_ridge, bool want_grad, int num_threads,
                        double kappa = 0.0, int max_initial = 0, double seed = 1.0,
                        bool visited = false) {
  p4l::ThreadScope scope(num_threads);
  const p4l::P4LData D = p4l_bind::read_p4l_data(transitions, psi0);
  // max_initial > 0: the fit's seeded subsample of the initial states (as in p4l_fit())
  p4l::P4LProblem prob(D, max_initial, p4l::seed_from_double(seed), visited);
  const p4l::Gradient g =
      prob.evaluate(make_params(Theta, U), gamma, alpha, dual_ridge, want_grad, kappa);
  Rcpp::List out = wrap_dual(g.dual);
  if (want_grad) {
    out["dTheta"] = g.dTheta;
    out["dU"] = g.dU;
  }
  // the initial states each individual's value is taken over (1-based rows of psi0)
  Rcpp::IntegerVector rows(prob.initial_rows().begin(), prob.initial_rows().end());
  Rcpp::IntegerVector offsets(prob.N());
  for (int i = 0; i < prob.N(); ++i) offsets[i] = prob.initial_offset(i);
  out["initial.rows"] = rows + 1;
  out["initial.offsets"] = offsets;
  out["initial.window"] = prob.n0();
  return out;
}

// Pessimistic and point values V at several Theta (a list) with one U, from
// one P4LProblem (its data statistics are computed once): a 2 x k matrix,
// rows V and point value. For p4l()'s value table (softmax and greedy policy).
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd p4l_values_cpp(Rcpp::List transitions, const Eigen::Map<Eigen::MatrixXd> psi0,
                               Rcpp::List Thetas, const Eigen::MatrixXd& U, double gamma,
                               double alpha, double dual_ridge, int num_threads, double kappa,
                               int max_initial, double seed, bool visited) {
  p4l::ThreadScope scope(num_threads);
  const p4l::P4LData D = p4l_bind::read_p4l_data(transitions, psi0);
  p4l::P4LProblem prob(D, max_initial, p4l::seed_from_double(seed), visited);
  Eigen::MatrixXd out(2, Thetas.size());
  for (R_xlen_t k = 0; k < Thetas.size(); ++k) {
    const Eigen::MatrixXd Th = Rcpp::as<Eigen::MatrixXd>(Thetas[k]);
    const p4l::Gradient g =
        prob.evaluate(make_params(Th, U), gamma, alpha, dual_ridge, false, kappa);
    out(0, k) = g.dual.V;
    out(1, k) = g.dual.point_value;
  }
  return out;
}

// Reads a p4l_settings() list as p4l_fit_cpp() does (errors for a missing or
// unknown setting), so that p4l() stops before its start-up work.
// [[Rcpp::export(rng = false)]]
void p4l_check_settings_cpp(Rcpp::List control) { make_control(control); }

// The ADMM fit. `progress` is an R function (iteration, max_iter) or NULL; it is
// called from the main thread only. init_U / init_Theta: 0 x 0 for none.
// [[Rcpp::export(rng = false)]]
Rcpp::List p4l_fit_cpp(Rcpp::List transitions, const Eigen::Map<Eigen::MatrixXd> psi0, int r, int K,
                       double gamma, double alpha, double mu, Rcpp::List control,
                       const Eigen::MatrixXd& init_U, const Eigen::MatrixXd& init_Theta,
                       SEXP progress, int num_threads) {
  const P4lSettings settings = make_control(control);
  p4l::Control ctl = settings.ctl;
  // The ridge on Theta is centred at the starting Theta when asked for.
  if (settings.ridge_center_init && init_Theta.size() > 0) ctl.theta_center = init_Theta;
  const p4l::P4LData D = p4l_bind::read_p4l_data(transitions, psi0);
  p4l::Params init;
  const bool have_init = init_U.size() > 0 || init_Theta.size() > 0;
  if (have_init) {
    init.U = init_U;
    init.Theta = init_Theta;
  }
  p4l::FitResult f;
  {
    p4l::ThreadScope scope(num_threads);  // restores the runtime hooks on exit
    if (!Rf_isNull(progress)) {
      Rcpp::Function cb(progress);
      p4l::runtime().progress = [cb](int it, int max_it) { cb(it, max_it); };
    }
    try {
      f = p4l::p4l_fit(D, r, K, gamma, alpha, mu, ctl, have_init ? &init : nullptr);
    } catch (const p4l::Interrupted&) {
      throw Rcpp::exception("p4l() interrupted by the user", false);
    } catch (const Rcpp::internal::InterruptedException&) {  // Ctrl-C inside the progress callback
      throw Rcpp::exception("p4l() interrupted by the user", false);
    }
  }
  const p4l::Trace& t = f.trace;
  Rcpp::List trace = Rcpp::List::create(
      Rcpp::Named("objective") = t.objective, Rcpp::Named("value") = t.V,
      Rcpp::Named("point.value") = t.point_value, Rcpp::Named("lambda") = t.lambda,
      Rcpp::Named("penalty") = t.penalty, Rcpp::Named("primal.residual") = t.primal_residual,
      Rcpp::Named("step.theta") = t.step_theta, Rcpp::Named("step.u") = t.step_u);
  return Rcpp::List::create(
      Rcpp::Named("Theta") = f.Theta, Rcpp::Named("U") = f.U,
      Rcpp::Named("centroids") = f.centroids,
      Rcpp::Named("cluster") = Rcpp::wrap(Eigen::VectorXi(f.cluster.array() + 1)),
      Rcpp::Named("W") = f.W, Rcpp::Named("objective") = f.objective, Rcpp::Named("value") = f.V,
      Rcpp::Named("point.value") = f.point_value, Rcpp::Named("lambda") = f.lambda,
      Rcpp::Named("penalty") = f.penalty, Rcpp::Named("converged") = f.converged,
      Rcpp::Named("status") = f.status, Rcpp::Named("stalls") = f.stalls_theta + f.stalls_u,
      Rcpp::Named("rcond") = f.rcond,
      Rcpp::Named("inner") = Rcpp::IntegerVector::create(f.factorisations, f.cg_iterations),
      Rcpp::Named("iterations") = f.iterations, Rcpp::Named("evaluations") = f.evaluations,
      Rcpp::Named("sgd.step.scale") = f.sgd_step_scale, Rcpp::Named("trace") = trace,
      Rcpp::Named("value.table") = f.values.size()
                                       ? Rcpp::List::create(Rcpp::Named("values") = f.values,
                                                            Rcpp::Named("error") = f.values_error)
                                       : Rcpp::List());
}

// Bellman residuals of rows (1-based) of transitions (the actions 0-based in
// the fit's coding) at latent u under the policy of u_pol
// (R/new_individuals.R, bellman_residuals()).
// [[Rcpp::export(rng = false)]]
Eigen::VectorXd bellman_residuals_cpp(Rcpp::List transitions, const Eigen::MatrixXd& W,
                                      const Eigen::MatrixXd& Theta, const Eigen::VectorXd& u_pol,
                                      const Eigen::VectorXd& u, double gamma,
                                      const Rcpp::IntegerVector& rows, int num_threads) {
  const p4l::TransitionData tr = p4l_bind::read_transitions(transitions, "bellman_residuals_cpp()");
  std::vector<int> r0(rows.size());
  for (R_xlen_t k = 0; k < rows.size(); ++k) r0[k] = rows[k] - 1;
  p4l::ThreadScope scope(num_threads);
  try {
    return p4l::bellman_residuals(tr, W, Theta, u_pol, u, gamma, r0);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop("bellman_residuals_cpp(): %s", e.what());
  }
}

// A' diag(W[, q]) B for every column q of W (a list), and Y + x w' (a matrix,
// column q = Y[, q] + w_q x), by one transcription ("portable" or "avx2"), or
// NULL when this CPU lacks it (tests).
// [[Rcpp::export(rng = false)]]
SEXP weighted_crossprods_cpp(const Eigen::Map<Eigen::MatrixXd> A,
                             const Eigen::Map<Eigen::MatrixXd> B,
                             const Eigen::Map<Eigen::MatrixXd> W, std::string kind) {
  if (B.rows() != A.rows() || W.rows() != A.rows())
    Rcpp::stop("weighted_crossprods_cpp(): A, B and W need the same number of rows");
  const int nw = static_cast<int>(W.cols()), d = static_cast<int>(A.cols()),
            e = static_cast<int>(B.cols());
  Eigen::MatrixXd C(d, static_cast<Eigen::Index>(e) * nw);
  if (!p4l::weighted_crossprods_with(kind.c_str(), A.data(), A.rows(), B.data(), B.rows(),
                                     W.data(), W.rows(), nw, static_cast<int>(A.rows()), d, e,
                                     C.data()))
    return R_NilValue;
  Rcpp::List out(nw);
  for (int q = 0; q < nw; ++q) out[q] = Rcpp::wrap(Eigen::MatrixXd(C.middleCols(q * e, e)));
  return out;
}

// [[Rcpp::export(rng = false)]]
SEXP scaled_accumulate_cpp(const Eigen::Map<Eigen::VectorXd> x, const Eigen::Map<Eigen::MatrixXd> Y,
                           const Eigen::Map<Eigen::VectorXd> w, std::string kind) {
  if (Y.rows() != x.size() || Y.cols() != w.size())
    Rcpp::stop("scaled_accumulate_cpp(): Y must be length(x) x length(w)");
  Eigen::MatrixXd out = Y;
  std::vector<double*> ptr(static_cast<std::size_t>(w.size()));
  for (Eigen::Index q = 0; q < w.size(); ++q) ptr[q] = out.col(q).data();
  if (!p4l::scaled_accumulate_with(kind.c_str(), x.data(), x.size(), w.data(),
                                   static_cast<int>(w.size()), ptr.data()))
    return R_NilValue;
  return Rcpp::wrap(out);
}

// Per-individual ridge regressions of the model start (R/p4l.R); group is 0-based.
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd group_ridge_cpp(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                const Eigen::VectorXi& group, int G, const Eigen::VectorXd& pooled,
                                double lambda, int num_threads) {
  p4l_check::length_is(y.size(), X.rows(), "group ridge: y");
  p4l_check::length_is(group.size(), X.rows(), "group ridge: group");
  p4l_check::index_range(group, 0, G, "group ridge: group");
  p4l_check::length_is(pooled.size(), X.cols(), "group ridge: pooled");
  p4l::ThreadScope scope(num_threads);
  return p4l::group_ridge(X, y, group, G, pooled, lambda);
}

// The one-step models of the assignment model (R/new_individuals.R); see
// src/core/onestep.h. action 0-based; group: 0-based, one per individual.
// [[Rcpp::export(rng = false)]]
Rcpp::List onestep_models_cpp(Rcpp::List transitions, const Eigen::VectorXd& center,
                              const Eigen::VectorXd& scale, double lambda, std::vector<int> group,
                              int G, int num_threads) {
  p4l::OnestepInput in(p4l_bind::read_transitions(transitions, "one-step models"));
  in.center = center;
  in.scale = scale;
  in.lambda = lambda;
  p4l::ThreadScope scope(num_threads);
  const p4l::OnestepModels om = p4l::onestep_models(in, group, G);
  return Rcpp::List::create(
      Rcpp::Named("B.reward") = om.B_reward, Rcpp::Named("B.next") = om.B_next,
      Rcpp::Named("var.reward") = om.var_reward, Rcpp::Named("var.next") = om.var_next,
      Rcpp::Named("n.all") = Rcpp::wrap(std::vector<double>(om.n_all.begin(), om.n_all.end())),
      Rcpp::Named("n.next") = Rcpp::wrap(std::vector<double>(om.n_next.begin(), om.n_next.end())));
}

// The stochastic saddle-point path of Algorithm 1 for the inner problem at fixed
// (Theta, U) (internal; compared with the closed form in the tests): the steps
// of a p4l_sgd_control() object, run for `iterations` steps, with the averaged
// iterate recorded every `trace_every` steps (0: never).
// [[Rcpp::export(rng = false)]]
Rcpp::List p4l_sgd_dual_cpp(Rcpp::List transitions, const Eigen::Map<Eigen::MatrixXd> psi0,
                            const Eigen::MatrixXd& Theta, const Eigen::MatrixXd& U, double gamma,
                            double alpha, Rcpp::List sgd, int iterations, int trace_every,
                            double dual_ridge, double seed) {
  const p4l::P4LData D = p4l_bind::read_p4l_data(transitions, psi0);
  p4l::SgdControl c = make_sgd_control(sgd);
  c.iterations = iterations;
  c.trace_every = trace_every;
  c.dual_ridge = dual_ridge;
  c.seed = p4l::seed_from_double(seed);
  const p4l::SgdResult s = p4l::sgd_dual(D, make_params(Theta, U), gamma, alpha, c);
  return Rcpp::List::create(
      Rcpp::Named("theta") = s.theta, Rcpp::Named("beta") = s.beta,
      Rcpp::Named("lambda") = s.lambda, Rcpp::Named("V") = s.V,
      Rcpp::Named("constraint") = s.constraint, Rcpp::Named("trace.iter") = s.trace_iter,
      Rcpp::Named("trace.V") = s.trace_V, Rcpp::Named("trace.lambda") = s.trace_lambda);
}

// The minibatch gradient (24) of the saddle function at given Q weights theta
// and z = lambda beta (internal; with per_individual >= max T_i and
// per_initial >= n0 it is exact and is compared with the closed-form gradient
// in the tests). Sigma for the alpha term is the closed form's.
// [[Rcpp::export(rng = false)]]
Rcpp::List p4l_sgd_outer_gradient_cpp(Rcpp::List transitions,
                                      const Eigen::Map<Eigen::MatrixXd> psi0,
                                      const Eigen::MatrixXd& Theta, const Eigen::MatrixXd& U,
                                      double gamma, double alpha, const Eigen::VectorXd& theta,
                                      const Eigen::VectorXd& z, int per_individual, int per_initial,
                                      double dual_ridge, double seed) {
  const p4l::P4LData D = p4l_bind::read_p4l_data(transitions, psi0);
  const p4l::Params par = make_params(Theta, U);
  const p4l::DualSolution ex = p4l::solve_dual(D, par, gamma, alpha, dual_ridge);
  p4l::detail::SaddleSgd sg(D, gamma, alpha, p4l::SgdControl());
  sg.set_point(par, ex.Sigma, ex.M);
  std::mt19937_64 g = p4l::make_stream(p4l::seed_from_double(seed));
  const auto og = sg.outer_gradient(theta, z, per_individual, per_initial, g);
  return Rcpp::List::create(Rcpp::Named("dTheta") = og.dTheta, Rcpp::Named("dU") = og.dU,
                            Rcpp::Named("L") = og.L, Rcpp::Named("c.theta") = og.c_theta);
}

// exp() of vexp.h with a named implementation ("scalar", "sse2", "avx2"):
// NULL when this CPU or build lacks it. For the tests.
// [[Rcpp::export(rng = false)]]
SEXP vexp_cpp(Rcpp::NumericVector x, std::string kind) {
  Rcpp::NumericVector y = Rcpp::clone(x);
  if (!p4l::vexp_inplace_with(y.begin(), y.size(), kind.c_str())) return R_NilValue;
  return y;
}

// [[Rcpp::export(rng = false)]]
std::string vexp_kind_cpp() { return p4l::vexp_kind(); }
