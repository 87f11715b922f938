// Composable feature maps of the state: the C++ side of the R basis objects
// (R/basis_*.R). A map is a tree: leaves of kind RBF, Indicator or Linear,
// each reading its own state columns, combined by Sum (one intercept, then
// each part's non-constant features) or Product (all products of the two
// parts' features, intercept x intercept first). Every map's first feature is
// the constant 1.
//
//   RBF:       psi = (1, exp(-||z - c_j||^2 / (2 h^2))_j), z = (s[cols] - shift) / scale
//   Linear:    psi = (1, (s[cols] - shift) / scale)
//   Indicator: level index of each column = nearest level (ties to the lower
//              one); interactions 0 "none": 1 + dummies of levels 2..L per
//              column; 1 "pairwise": plus the products of the dummies of every
//              pair of columns (j < k, j's dummy varying slowest); 2 "joint":
//              1 + one indicator per observed cell but the first (reference),
//              an unobserved cell mapped to the nearest observed one (L1 over
//              level indices, ties to the first cell).
//
// features_into() is parallel over blocks of rows with fixed block sizes, so
// results do not depend on the number of threads. The RBF leaf on all
// columns is the fast path used at 10^6 rows (one matrix product per block).
#pragma once
#include <Eigen/Dense>
#include <vector>
namespace p4l {

struct FeatureMap {
  enum class Kind { Rbf, Indicator, Linear, Sum, Product };
  Kind kind = Kind::Rbf;
  std::vector<int> columns;  // 0-based state columns read by a leaf; empty = all (RBF)
  // RBF
  Eigen::MatrixXd centers;  // J x |cols|, on the scaled state space
  double bandwidth = 1.0;
  // RBF and Linear: the leaf sees (s[cols] - shift) / scale
  Eigen::VectorXd shift;
  Eigen::VectorXd scale;
  // Indicator
  std::vector<std::vector<double>> levels;  // sorted levels per column
  int interactions = 0;                     // 0 none, 1 pairwise, 2 joint
  Eigen::MatrixXi cells;                    // joint: observed cells (0-based level
                                            // indices), sorted, reference first
  // Sum and Product
  std::vector<FeatureMap> parts;

  // Checks the fields and derives the offsets; call once after filling them
  // (not needed for an RBF leaf). Throws std::invalid_argument.
  void finalize();
  int dim() const;
  // Features of one state (length dim()).
  void features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const;
  Eigen::MatrixXd features(const Eigen::MatrixXd& states) const;  // parallel over rows
  // Same, written into out (n x dim()), e.g. memory owned by the caller.
  void features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                     Eigen::Ref<Eigen::MatrixXd> out) const;
  // Largest state column read (+1): states must have at least this many columns.
  int min_state_dim() const;

 private:
  int dim_ = 0;                    // Indicator: number of features
  std::vector<int> dummy_offset_;  // Indicator: first dummy column per column
  std::vector<int> pair_offset_;   // Indicator pairwise: first column per pair (j < k)
  bool all_columns(long ncol) const;
  int level_index(int j, double v) const;
  int joint_cell(const std::vector<int>& idx) const;
  template <class Get, class Set>
  void indicator_row(const Get& get, const Set& set, std::vector<int>& idx) const;
  void rbf_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                Eigen::Ref<Eigen::MatrixXd> out) const;
};

// z = (x - shift) / scale column by column (n x p, column-major; the
// arithmetic of R's (x[, j] - shift[j]) / scale[j], so z is R's to the bit),
// in parallel over fixed row blocks. Returns the first column-major index
// (0-based) where |z| > lim or z is NaN, or -1 when there is none.
long standardise_columns(const double* x, long n, long p, const double* shift, const double* scale,
                         double lim, double* z);

}  // namespace p4l
