// Bindings for the RBF basis (R/basis.R).
#include <RcppEigen.h>

#include "core/rbf.h"
#include "core/policy.h"
#include "runtime_bindings.h"

// [[Rcpp::export(rng = false)]]
Rcpp::List rbf_kmeans_cpp(const Eigen::MatrixXd& x, int k, int num_starts, int max_iter,
                          double sample_size, double seed, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  p4l::KMeansOptions opt;
  opt.num_starts = num_starts;
  opt.max_iter = max_iter;
  opt.sample_size = static_cast<long>(sample_size);
  p4l::KMeansResult r = p4l::kmeans(x, k, opt, p4l::seed_from_double(seed));
  return Rcpp::List::create(Rcpp::Named("centers") = r.centers,
                            Rcpp::Named("cluster") = Rcpp::wrap(Eigen::VectorXi(r.cluster.array() + 1)),
                            Rcpp::Named("withinss") = r.withinss,
                            Rcpp::Named("iterations") = r.iterations,
                            Rcpp::Named("converged") = r.converged);
}

// [[Rcpp::export(rng = false)]]
double rbf_median_distance_cpp(const Eigen::MatrixXd& x, double max_points, double seed,
                               int num_threads) {
  p4l::ThreadScope scope(num_threads);
  return p4l::median_pairwise_distance(x, static_cast<long>(max_points),
                                       p4l::seed_from_double(seed));
}

// Features written straight into the R matrix that is returned (no copy).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix rbf_features_cpp(Rcpp::NumericMatrix x, const Eigen::MatrixXd& centers,
                                     double bandwidth, const Eigen::VectorXd& shift,
                                     const Eigen::VectorXd& scale, int num_threads) {
  p4l::ThreadScope scope(num_threads);
  p4l::FeatureMap map;
  map.centers = centers;
  map.bandwidth = bandwidth;
  map.shift = shift;
  map.scale = scale;
  Rcpp::NumericMatrix out(x.nrow(), map.dim());
  Eigen::Map<const Eigen::MatrixXd> xs(x.begin(), x.nrow(), x.ncol());
  Eigen::Map<Eigen::MatrixXd> os(out.begin(), out.nrow(), out.ncol());
  map.features_into(xs, os);
  return out;
}
