// Bindings for the bases (R/basis*.R): RBF centres and bandwidth, and the
// features of any basis through its feature map.
#include <RcppEigen.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "basis_convert.h"
#include "core/basis.h"
#include "core/rbf.h"
#include "huge_pages.h"
#include "runtime_bindings.h"

// [[Rcpp::export(rng = false)]]
Rcpp::List rbf_kmeans_cpp(Rcpp::NumericMatrix xr, int k, int num_starts, int max_iter,
                          double sample_size, double refine_size, double seed, int num_threads) {
  const Eigen::Map<const Eigen::MatrixXd> x(xr.begin(), xr.nrow(), xr.ncol());  // R's memory
  if (k < 1 || k > x.rows())
    Rcpp::stop("number of centres must be in [1, %d]", static_cast<int>(x.rows()));
  if (!x.allFinite()) Rcpp::stop("the (scaled) states are not finite");
  p4l::ThreadScope scope(num_threads);
  p4l::KMeansOptions opt;
  opt.num_starts = num_starts;
  opt.max_iter = max_iter;
  opt.sample_size = static_cast<long>(sample_size);
  opt.refine_size = static_cast<long>(refine_size);
  p4l::KMeansResult r = p4l::kmeans(x, k, opt, p4l::seed_from_double(seed));
  return Rcpp::List::create(
      Rcpp::Named("centers") = r.centers,
      Rcpp::Named("cluster") = Rcpp::wrap(Eigen::VectorXi(r.cluster.array() + 1)),
      Rcpp::Named("withinss") = r.withinss, Rcpp::Named("iterations") = r.iterations,
      Rcpp::Named("converged") = r.converged);
}

// Lloyd's iterations of the seeded K-means driver from given centres (for
// the tests, against plain Lloyd in R).
// [[Rcpp::export(rng = false)]]
Rcpp::List kmeans_lloyd_cpp(const Eigen::MatrixXd& x, const Eigen::MatrixXd& centers, int max_iter,
                            double tol, int num_threads) {
  if (centers.rows() < 1 || centers.rows() > x.rows() || centers.cols() != x.cols())
    Rcpp::stop("`centers` must have between 1 and nrow(x) rows and ncol(x) columns");
  if (!x.allFinite() || !centers.allFinite()) Rcpp::stop("the points and centres must be finite");
  p4l::ThreadScope scope(num_threads);
  p4l::KMeansResult r = p4l::lloyd_to_tolerance(x, centers, max_iter, tol, true);
  return Rcpp::List::create(
      Rcpp::Named("centers") = r.centers,
      Rcpp::Named("cluster") = Rcpp::wrap(Eigen::VectorXi(r.cluster.array() + 1)),
      Rcpp::Named("withinss") = r.withinss, Rcpp::Named("iterations") = r.iterations,
      Rcpp::Named("converged") = r.converged);
}

// [[Rcpp::export(rng = false)]]
double rbf_median_distance_cpp(Rcpp::NumericMatrix xr, double max_points, double seed,
                               int num_threads) {
  const Eigen::Map<const Eigen::MatrixXd> x(xr.begin(), xr.nrow(), xr.ncol());  // R's memory
  if (!x.allFinite()) Rcpp::stop("the (scaled) states are not finite");
  p4l::ThreadScope scope(num_threads);
  return p4l::median_pairwise_distance(x, static_cast<long>(max_points),
                                       p4l::seed_from_double(seed));
}

// Features written straight into the R matrix that is returned (no copy).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix rbf_features_cpp(Rcpp::NumericMatrix x, const Eigen::MatrixXd& centers,
                                     double bandwidth, const Eigen::VectorXd& shift,
                                     const Eigen::VectorXd& scale, int num_threads) {
  if (centers.cols() != x.ncol() || shift.size() != x.ncol() || scale.size() != x.ncol())
    Rcpp::stop("the centres, shift and scale need one entry per state column (%d)", x.ncol());
  if (!(bandwidth > 0)) Rcpp::stop("the bandwidth must be positive");
  p4l::ThreadScope scope(num_threads);
  const p4l::RbfMap map({}, centers, bandwidth, shift, scale);  // an RBF leaf on all columns
  // Not zero-filled: features_into writes every entry (so the pages are
  // touched first by the worker threads that fill them).
  Rcpp::NumericMatrix out = Rcpp::no_init(x.nrow(), map.dim());
  p4l_bindings::advise_huge_pages(out.begin(), sizeof(double) * out.size());
  Eigen::Map<const Eigen::MatrixXd> xs(x.begin(), x.nrow(), x.ncol());
  Eigen::Map<Eigen::MatrixXd> os(out.begin(), out.nrow(), out.ncol());
  map.features_into(xs, os);
  return out;
}

namespace {

// One class of the core per kind of R basis (basis_spec(), R/basis_*.R).
p4l::FeatureMapPtr make_feature_map(const Rcpp::List& spec) {
  const std::string kind = Rcpp::as<std::string>(spec["kind"]);
  if (kind == "sum" || kind == "product") {
    Rcpp::List parts = spec["parts"];
    std::vector<p4l::FeatureMapPtr> maps;
    for (R_xlen_t i = 0; i < parts.size(); ++i) maps.push_back(make_feature_map(parts[i]));
    if (kind == "sum") return std::make_shared<p4l::SumMap>(std::move(maps));
    if (maps.size() != 2)
      throw std::invalid_argument("composed feature map: wrong number of parts");
    return std::make_shared<p4l::ProductMap>(maps[0], maps[1]);
  }
  std::vector<int> columns = Rcpp::as<std::vector<int>>(spec["columns"]);
  if (kind == "rbf")
    return std::make_shared<p4l::RbfMap>(
        std::move(columns), Rcpp::as<Eigen::MatrixXd>(spec["centers"]),
        Rcpp::as<double>(spec["bandwidth"]), Rcpp::as<Eigen::VectorXd>(spec["shift"]),
        Rcpp::as<Eigen::VectorXd>(spec["scale"]));
  if (kind == "linear")
    return std::make_shared<p4l::LinearMap>(std::move(columns),
                                            Rcpp::as<Eigen::VectorXd>(spec["shift"]),
                                            Rcpp::as<Eigen::VectorXd>(spec["scale"]));
  if (kind == "indicator") {
    Rcpp::List lv = spec["levels"];
    std::vector<std::vector<double>> levels;
    for (R_xlen_t j = 0; j < lv.size(); ++j) levels.push_back(Rcpp::as<std::vector<double>>(lv[j]));
    return std::make_shared<p4l::IndicatorMap>(std::move(columns), std::move(levels),
                                               Rcpp::as<int>(spec["interactions"]),
                                               Rcpp::as<Eigen::MatrixXi>(spec["cells"]));
  }
  Rcpp::stop("unknown basis kind '%s'", kind);
}

}  // namespace

p4l::FeatureMapPtr feature_map_from_r(const Rcpp::List& spec) {
  try {
    return make_feature_map(spec);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop("invalid basis: %s", e.what());
  }
}

// Features of any basis, written straight into the returned R matrix.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix basis_features_cpp(Rcpp::NumericMatrix x, Rcpp::List spec, int num_threads) {
  const p4l::FeatureMapPtr map = feature_map_from_r(spec);
  if (x.ncol() < map->min_state_dim()) Rcpp::stop("the states have too few columns for the basis");
  p4l::ThreadScope scope(num_threads);
  Rcpp::NumericMatrix out =
      Rcpp::no_init(x.nrow(), map->dim());  // features_into writes every entry
  p4l_bindings::advise_huge_pages(out.begin(), sizeof(double) * out.size());
  Eigen::Map<const Eigen::MatrixXd> xs(x.begin(), x.nrow(), x.ncol());
  Eigen::Map<Eigen::MatrixXd> os(out.begin(), out.nrow(), out.ncol());
  map->features_into(xs, os);
  return out;
}

// Features of one state at a time through the per-state path that the
// simulations of evaluate_policy() use (for tests: it must agree with
// basis_features_cpp()).
// [[Rcpp::export(rng = false)]]
Eigen::MatrixXd basis_features_rowwise_cpp(const Eigen::MatrixXd& x, Rcpp::List spec) {
  const p4l::FeatureMapPtr map = feature_map_from_r(spec);
  if (x.cols() < map->min_state_dim()) Rcpp::stop("the states have too few columns for the basis");
  Eigen::MatrixXd out(x.rows(), map->dim());
  Eigen::VectorXd s, f;
  for (long i = 0; i < x.rows(); ++i) {
    s = x.row(i).transpose();
    map->features(s, f);
    out.row(i) = f.transpose();
  }
  return out;
}

// (x - shift) / scale by column (standardise_columns() in R/utils.R), with
// x's dimnames; attribute "bad": the first column-major index (1-based) where
// |z| > lim or z is NaN, 0 when there is none.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix standardise_cpp(Rcpp::NumericMatrix x, Rcpp::NumericVector shift,
                                    Rcpp::NumericVector scale, double lim, int num_threads) {
  const long n = x.nrow(), p = x.ncol();
  if (shift.size() != p || scale.size() != p)
    Rcpp::stop("standardise: shift and scale need one entry per column");
  Rcpp::NumericMatrix z(n, p);
  long bad;
  {
    p4l::ThreadScope scope(num_threads);
    bad = p4l::standardise_columns(x.begin(), n, p, shift.begin(), scale.begin(), lim, z.begin());
  }
  if (!Rf_isNull(Rf_getAttrib(x, R_DimNamesSymbol)))
    z.attr("dimnames") = Rf_getAttrib(x, R_DimNamesSymbol);
  z.attr("bad") = static_cast<double>(bad + 1);
  return z;
}

// Column minima and maxima of a numeric matrix and, with `moments`, its
// colMeans() and the sd() of each column, to the bit (p4l::column_summary()):
// one pass per column instead of R's column copies.
// [[Rcpp::export(rng = false)]]
Rcpp::List column_summary_cpp(Rcpp::NumericMatrix x, bool moments, int num_threads) {
  p4l::ColumnSummary s;
  {
    p4l::ThreadScope scope(num_threads);
    s = p4l::column_summary(x.begin(), x.nrow(), x.ncol(), moments);
  }
  return Rcpp::List::create(Rcpp::Named("min") = s.min, Rcpp::Named("max") = s.max,
                            Rcpp::Named("mean") = s.mean, Rcpp::Named("sd") = s.sd);
}

// The first row (1-based) of a numeric matrix with a non-finite entry, 0 when
// there is none: the check of check_finite_rows() without R's temporaries
// (a logical copy of a 10^6 x 65 feature matrix costs more than the features).
// [[Rcpp::export(rng = false)]]
double first_nonfinite_row_cpp(Rcpp::NumericMatrix x) {
  const R_xlen_t n = x.nrow(), p = x.ncol();
  R_xlen_t first = n;
  for (R_xlen_t j = 0; j < p; ++j) {
    const double* col = x.begin() + j * n;
    for (R_xlen_t i = 0; i < first; ++i) {
      if (!std::isfinite(col[i])) {
        first = i;
        break;
      }
    }
  }
  return first < n ? static_cast<double>(first + 1) : 0.0;
}
