// Composable feature maps of the state: the C++ side of the R basis objects
// (R/basis_*.R). FeatureMap is the interface; each kind of basis is one
// class: the leaves RbfMap, IndicatorMap and LinearMap, each reading its own
// state columns, and the compositions SumMap (one intercept, then each part's
// non-constant features) and ProductMap (all products of the two parts'
// features, intercept x intercept first). Every map's first feature is the
// constant 1. The bindings build a map from an R basis in one factory
// (feature_map_from_r(), src/basis_convert.h); a new kind of basis is one R
// method set (basis_names(), basis_spec(), format()) and one class here.
// Constructors check their arguments (std::invalid_argument).
//
// features_into() is parallel over blocks of rows with fixed block sizes, so
// results do not depend on the number of threads. The RBF leaf on all
// columns is the fast path used at 10^6 rows (one matrix product per block).
#pragma once
#include <Eigen/Dense>
#include <memory>
#include <vector>
namespace p4l {

class FeatureMap {
 public:
  virtual ~FeatureMap() = default;
  virtual int dim() const = 0;
  // Largest state column read (+1): states must have at least this many columns.
  virtual int min_state_dim() const = 0;
  // Features of one state (length dim()).
  virtual void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const = 0;
  // Features of the rows of states, written into out (n x dim(), e.g. memory
  // owned by the caller), in parallel over fixed row blocks.
  virtual void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                             Eigen::Ref<Eigen::MatrixXd> out) const = 0;
};
using FeatureMapPtr = std::shared_ptr<const FeatureMap>;

// psi = (1, exp(-||z - c_j||^2 / (2 h^2))_j), z = (s[cols] - shift) / scale;
// columns empty = all. On all columns, the fast path used at 10^6 rows (one
// matrix product per block).
class RbfMap final : public FeatureMap {
 public:
  RbfMap(std::vector<int> columns, Eigen::MatrixXd centers, double bandwidth, Eigen::VectorXd shift,
         Eigen::VectorXd scale);  // centers: J x |cols|, scaled space
  int dim() const override { return static_cast<int>(centers_.rows()) + 1; }
  int min_state_dim() const override;
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const override;
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const override;

 private:
  std::vector<int> columns_;
  Eigen::MatrixXd centers_;
  double bandwidth_;
  Eigen::VectorXd shift_, scale_;
  bool all_columns(long ncol) const;
};

// psi = (1, (s[cols] - shift) / scale).
class LinearMap final : public FeatureMap {
 public:
  LinearMap(std::vector<int> columns, Eigen::VectorXd shift, Eigen::VectorXd scale);
  int dim() const override { return static_cast<int>(columns_.size()) + 1; }
  int min_state_dim() const override;
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const override;
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const override;

 private:
  std::vector<int> columns_;
  Eigen::VectorXd shift_, scale_;
};

// Level index of each column = nearest level (ties to the lower one);
// interactions 0 "none": 1 + dummies of levels 2..L per column; 1 "pairwise":
// plus the products of the dummies of every pair of columns (j < k, j's dummy
// varying slowest); 2 "joint": 1 + one indicator per observed cell but the
// first (reference), an unobserved cell mapped to the nearest observed one
// (L1 over level indices, ties to the first cell).
class IndicatorMap final : public FeatureMap {
 public:
  // levels: sorted levels per column; cells (joint): observed cells (0-based
  // level indices), sorted, reference first.
  IndicatorMap(std::vector<int> columns, std::vector<std::vector<double>> levels, int interactions,
               Eigen::MatrixXi cells);
  int dim() const override { return dim_; }
  int min_state_dim() const override;
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const override;
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const override;

 private:
  std::vector<int> columns_;
  std::vector<std::vector<double>> levels_;
  int interactions_;
  Eigen::MatrixXi cells_;
  int dim_ = 0;                    // number of features
  std::vector<int> dummy_offset_;  // first dummy column per column
  std::vector<int> pair_offset_;   // pairwise: first column per pair (j < k)
  int level_index(int j, double v) const;
  int joint_cell(const std::vector<int>& idx) const;
  template <class Get, class Set>
  void indicator_row(const Get& get, const Set& set, std::vector<int>& idx) const;
};

// One intercept, then each part's features but its intercept (>= 2 parts).
class SumMap final : public FeatureMap {
 public:
  explicit SumMap(std::vector<FeatureMapPtr> parts);
  int dim() const override;
  int min_state_dim() const override;
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const override;
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const override;

 private:
  std::vector<FeatureMapPtr> parts_;
};

// Every product a_k b_l of the two parts' features (k slowest).
class ProductMap final : public FeatureMap {
 public:
  ProductMap(FeatureMapPtr a, FeatureMapPtr b);
  int dim() const override { return a_->dim() * b_->dim(); }
  int min_state_dim() const override;
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const override;
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const override;

 private:
  FeatureMapPtr a_, b_;
};

// z = (x - shift) / scale column by column (n x p, column-major; the
// arithmetic of R's (x[, j] - shift[j]) / scale[j], so z is R's to the bit),
// in parallel over fixed row blocks. Returns the first column-major index
// (0-based) where |z| > lim or z is NaN, or -1 when there is none.
long standardise_columns(const double* x, long n, long p, const double* shift, const double* scale,
                         double lim, double* z);

// Per-column summaries of an n x p column-major matrix, each column in one
// thread and in row order, so the results do not depend on the number of
// threads. With `moments`, also R's colMeans() and sd() of each column to the
// bit: the mean a long double sum divided by n; the standard deviation
// sqrt() of var()'s two-pass long double estimate (its own mean corrected by
// the mean residual, then the sum of squared deviations over n - 1; NaN when
// n < 2). Non-finite entries propagate as in R's arithmetic.
struct ColumnSummary {
  std::vector<double> min, max, mean, sd;
};
ColumnSummary column_summary(const double* x, long n, long p, bool moments);

}  // namespace p4l
