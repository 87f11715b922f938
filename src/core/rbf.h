// Gaussian radial basis: K-means++ centres, median-distance bandwidth and the
// feature map psi(s) = (1, exp(-||s - c_j||^2 / (2 h^2)))_j.
#pragma once
#include <Eigen/Dense>
#include <cstdint>

#include "kmeans.h"
namespace p4l {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The centres: kmeans(x, k, KMeansOptions, seed) in kmeans.h.

// Median of the pairwise Euclidean distances among at most max_points rows
// (a seeded random subsample when n is larger).
double median_pairwise_distance(const Eigen::Ref<const Eigen::MatrixXd>& x, long max_points,
                                std::uint64_t seed);

// The features themselves: FeatureMap in basis.h.

}  // namespace p4l
