#include "fusion_graph.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "runtime.h"

namespace p4l {

FusionGraph knn_mst_graph(const Eigen::MatrixXd& X, int k) {
  const int N = static_cast<int>(X.cols());
  if (k < 1) throw std::invalid_argument("the number of neighbours must be at least 1");
  FusionGraph g;
  std::vector<std::pair<int, int>>& edges = g.edges;
  if (N < 2) return g;
  const int kk = std::min(k, N - 1);
  auto dist2 = [&](int i, int j) { return (X.col(i) - X.col(j)).squaredNorm(); };
  // (a) k nearest neighbours of each column, each thread writing its own rows
  std::vector<std::vector<int>> nn(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    std::vector<std::pair<double, int>> dj(N - 1);
    for (std::size_t ii = b; ii < e; ++ii) {
      const int i = static_cast<int>(ii);
      int c = 0;
      for (int j = 0; j < N; ++j)
        if (j != i) dj[c++] = {dist2(i, j), j};
      std::partial_sort(dj.begin(), dj.begin() + kk, dj.end());
      nn[i].resize(kk);
      for (int t = 0; t < kk; ++t) nn[i][t] = dj[t].second;
    }
  });
  for (int i = 0; i < N; ++i)
    for (int j : nn[i]) edges.emplace_back(std::min(i, j), std::max(i, j));
  // (b) Prim's minimum spanning tree of the complete graph
  std::vector<double> best(N, std::numeric_limits<double>::infinity());
  std::vector<int> from(N, -1);
  std::vector<char> in(N, 0);
  int cur = 0;
  in[0] = 1;
  for (int added = 1; added < N; ++added) {
    runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
      for (std::size_t jj = b; jj < e; ++jj) {
        const int j = static_cast<int>(jj);
        if (in[j]) continue;
        const double dd = dist2(cur, j);
        if (dd < best[j]) {
          best[j] = dd;
          from[j] = cur;
        }
      }
    });
    int nxt = -1;
    for (int j = 0; j < N; ++j)
      if (!in[j] && (nxt < 0 || best[j] < best[nxt])) nxt = j;
    in[nxt] = 1;
    g.tree.emplace_back(std::min(nxt, from[nxt]), std::max(nxt, from[nxt]));
    edges.push_back(g.tree.back());
    cur = nxt;
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return g;
}

double tree_fusion_lambda(const std::vector<std::pair<int, int>>& tree, const Eigen::MatrixXd& G) {
  const int N = static_cast<int>(G.cols());
  std::vector<std::vector<int>> adj(N);
  for (const auto& e : tree) {
    adj[e.first].push_back(e.second);
    adj[e.second].push_back(e.first);
  }
  // order the individuals from root 0 outwards, then sum subtrees leaves-first
  std::vector<int> order, parent(N, -1);
  std::vector<char> seen(N, 0);
  order.reserve(N);
  order.push_back(0);
  seen[0] = 1;
  for (std::size_t t = 0; t < order.size(); ++t)
    for (int j : adj[order[t]])
      if (!seen[j]) {
        seen[j] = 1;
        parent[j] = order[t];
        order.push_back(j);
      }
  if (static_cast<int>(order.size()) != N)
    throw std::invalid_argument("the fusion tree does not span every individual");
  Eigen::MatrixXd sub = G;
  double lam = 0.0;
  for (int t = N - 1; t > 0; --t) {
    const int i = order[t];
    lam = std::max(lam, sub.col(i).norm());
    sub.col(parent[i]) += sub.col(i);
  }
  return lam;
}

}  // namespace p4l
