// Auto-clustered policy iteration (Chen, Song and Jordan 2022, arXiv
// 2202.00088) with a linear Q-function on a shared feature map.
//
// Auto-clustered policy evaluation (ACPE): each individual i has its own
// Q-weights beta_i (p = d m) for its current policy; they minimise
//   sum_i (T_i / 2) [ ||b_i - M_i beta_i||^2_{S_i^-1} + ridge ||beta_i||^2 ]
//     + sum_{i<j} MCP(||beta_i - beta_j||; lambda, mcp_gamma),
// the individual's mean squared projected Bellman error (its minimiser is the
// LSTD-Q estimate; M_i = mean phi (phi - gamma phibar)', b_i = mean phi R,
// S_i = mean phi phi' + ridge I, T_i its number of transitions) plus the concave pairwise
// fusion penalty (Ma and Huang 2017), solved by ADMM. Individuals whose
// differences are fused to zero form a cluster. The penalty acts on every pair
// of individuals (the paper's) or, for many individuals, on the pairs of a
// sparse graph (fusion_graph.h). lambda runs over a grid; the
// fit with the smallest BIC is chosen; with K fixed, the smallest-BIC fit with
// at least K clusters, whose clusters are then merged two at a time (the pair
// whose union raises the loss least) until K remain.
// Policy iteration (LSPI) then runs within each cluster on that cluster's data
// only, and evaluation and clustering repeat under the new policies until the
// clusters stop changing.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "transitions.h"
namespace p4l {

struct AcpiOptions {
  double gamma = 0.8;
  double ridge = 1e-4;
  int K = 0;               // 0: choose by BIC; > 0: fix the number of clusters
  double mcp_gamma = 3.0;  // concavity of MCP
  double admm_rho = 1.0;   // ADMM penalty parameter (vartheta of Ma and Huang)
  int admm_max_iter = 500;
  double admm_tol = 1e-3;  // on the largest primal residual ||beta_i - beta_j - eta_ij||
  int num_lambda = 20;
  double lambda_min_ratio = 0.01;
  double bic_constant = -1;  // C_N in the BIC; < 0 means log(log(N p))
  int pi_max_iter = 50;      // LSPI iterations per cluster
  int max_outer = 5;         // evaluation-clustering / improvement rounds
  int graph_neighbors = 0;   // fusion graph: 0 every pair; k > 0 k-nearest-neighbour + MST
};

struct AcpeFit {
  std::vector<double> lambda;
  std::vector<int> num_clusters;
  std::vector<double> bic;
  std::vector<int> admm_iterations;
  int chosen = -1;          // index into lambda (clusters then merged to K if fixed)
  long num_edges = 0;       // pairs in the fusion graph
  Eigen::VectorXi cluster;  // N, 0-based, labelled by first appearance
  Eigen::MatrixXd coef;     // p x N fused individual weights at the chosen lambda
};

// ACPE for fixed individual policies: policy[i] is the d x m greedy weight
// matrix of individual i's policy (empty = uniform).
AcpeFit acpe(const TransitionData& tr, const std::vector<Eigen::MatrixXd>& policy,
             const AcpiOptions& opt);

struct AcpiResult {
  Eigen::VectorXi cluster;         // N, 0-based
  std::vector<Eigen::MatrixXd> W;  // per cluster: d x m Q weights (greedy policy)
  std::vector<int> pi_iterations;
  std::vector<bool> pi_converged;
  int outer_iterations = 0;
  bool clusters_stable = false;
  AcpeFit last_acpe;  // of the last round (empty when clusters given)
};

// Full ACPI. When given_cluster is non-empty (N labels, 0-based) clustering is
// skipped and policy iteration runs within those clusters.
AcpiResult acpi(const TransitionData& tr, const Eigen::VectorXi& given_cluster,
                const AcpiOptions& opt);

}  // namespace p4l
