// The sparse fusion graph of ACPI at scale (issue 16, item 4): the pairs of
// individuals whose differences the fusion penalty acts on. Convex and
// concave clustering need not penalise all N(N-1)/2 pairs: a k-nearest-
// neighbour graph of the unfused estimates, joined by a minimum spanning tree
// so that every individual can still fuse with every other (Hocking et al.
// 2011; Chi and Lange 2015), keeps O(N k) pairs.
#pragma once
#include <Eigen/Dense>
#include <utility>
#include <vector>

namespace p4l {

// Edges (i, j), i < j, sorted, of the union of (a) every column's k nearest
// other columns of X (Euclidean; ties broken by the smaller index) and (b) a
// minimum spanning tree of the complete graph (Prim's algorithm from column
// 0; ties broken by the smaller index). X is p x N; the result has no
// duplicates and is connected. The same for any number of threads.
struct FusionGraph {
  std::vector<std::pair<int, int>> edges;  // the whole graph, i < j, sorted
  std::vector<std::pair<int, int>> tree;   // its spanning tree's N - 1 edges
};
FusionGraph knn_mst_graph(const Eigen::MatrixXd& X, int k);

// The smallest fusion penalty at which fusing everyone is a stationary point
// of the tree-restricted problem, an upper bound for the whole graph's: with
// G (p x N) the individuals' loss gradients at the pooled fit (columns summing
// to 0), the largest norm of the sum of G over the individuals on one side of
// a tree edge (the flow that edge must carry).
double tree_fusion_lambda(const std::vector<std::pair<int, int>>& tree, const Eigen::MatrixXd& G);

}  // namespace p4l
