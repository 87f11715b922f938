// Bindings for the choice of the number of subgroups (R/groups.R).
#include <RcppEigen.h>

#include <cmath>

#include "binding_checks.h"
#include "core/groups.h"
#include "runtime_bindings.h"

// X, Y: n x dx and n x dy (standardized); action, owner: 0-based; eval: list
// of 0-based transition indices per individual.
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd kde_cross_loglik_cpp(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y,
                                     std::vector<int> action, std::vector<int> owner,
                                     int num_individuals, Rcpp::List eval, double hx, double hy,
                                     double lambda, int window, int num_threads) {
  const long n = X.rows();
  p4l_check::length_is(Y.rows(), n, "kde: rows of Y");
  p4l_check::length_is(static_cast<long>(action.size()), n, "kde: action");
  p4l_check::length_is(static_cast<long>(owner.size()), n, "kde: owner");
  if (num_individuals < 1) Rcpp::stop("kde: no individual");
  p4l_check::index_range(action, 0, 1L << 30, "kde: action");
  p4l_check::index_range(owner, 0, num_individuals, "kde: owner");
  p4l_check::length_is(eval.size(), num_individuals, "kde: eval");
  if (!X.allFinite() || !Y.allFinite()) Rcpp::stop("kde: the states are not finite");
  if (!(hx > 0) || !(hy > 0) || !std::isfinite(hx) || !std::isfinite(hy))
    Rcpp::stop("kde: bandwidths must be positive and finite");
  p4l::KdeTransitions d;
  d.X = X.transpose();
  d.Y = Y.transpose();
  d.A = std::move(action);
  d.owner = std::move(owner);
  d.N = num_individuals;
  std::vector<std::vector<int>> ev(eval.size());
  for (R_xlen_t i = 0; i < eval.size(); ++i) {
    ev[i] = Rcpp::as<std::vector<int>>(eval[i]);
    p4l_check::index_range(ev[i], 0, n, "kde: evaluation rows");
  }
  p4l::ThreadScope scope(num_threads);
  return p4l::kde_cross_loglik(d, ev, hx, hy, lambda, window);
}
