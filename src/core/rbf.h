// Gaussian radial basis: K-means++ centres, median-distance bandwidth and the
// feature map psi(s) = (1, exp(-||s - c_j||^2 / (2 h^2)))_j.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
namespace p4l {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct KMeansResult {
  Eigen::MatrixXd centers;  // k x d
  Eigen::VectorXi cluster;  // n, 0-based
  double withinss = 0.0;    // total within-cluster sum of squares
  int iterations = 0;       // Lloyd iterations of the retained start
  bool converged = false;
};

struct KMeansOptions {
  int num_starts = 10;       // K-means++ restarts
  int max_iter = 100;        // Lloyd iterations per start
  double tol = 1e-7;         // relative change of withinss that stops Lloyd
  long sample_size = 20000;  // restarts run on a subsample of this size when n is larger,
                             // then the best start is polished by Lloyd on all points
};

// K-means with K-means++ seeding (Arthur & Vassilvitskii 2007), restarts and
// Lloyd iterations. Deterministic for a given seed and any thread count.
KMeansResult kmeans(const Eigen::MatrixXd& x, int k, const KMeansOptions& opt, std::uint64_t seed);

// Median of the pairwise Euclidean distances among at most max_points rows
// (a seeded random subsample when n is larger).
double median_pairwise_distance(const Eigen::MatrixXd& x, long max_points, std::uint64_t seed);

// The features themselves: FeatureMap in basis.h.

}  // namespace p4l
