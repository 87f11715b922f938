#include "moments.h"

#include <algorithm>
#include <utility>

#include "runtime.h"
#include "softmax.h"

namespace p4l {

namespace {

// out += X[idx, ]' diag(w[idx]) Y[idx, ] (w null: ones), the rows gathered
// in fixed chunks, so that the work space is O(chunk x d) and the summation
// order does not depend on the number of threads.
template <class Block>
void add_cross(Block out, const ConstMatrixView& X, const ConstMatrixView& Y,
               const std::vector<long>& idx, const std::vector<double>* w) {
  constexpr std::size_t kChunk = 1024;
  Eigen::MatrixXd xc, yc;
  for (std::size_t s = 0; s < idx.size(); s += kChunk) {
    const std::size_t len = std::min(kChunk, idx.size() - s);
    xc.resize(static_cast<Eigen::Index>(len), X.cols());
    yc.resize(static_cast<Eigen::Index>(len), Y.cols());
    for (std::size_t j = 0; j < len; ++j) {
      xc.row(static_cast<Eigen::Index>(j)) = X.row(idx[s + j]);
      if (w)
        yc.row(static_cast<Eigen::Index>(j)) = (*w)[s + j] * Y.row(idx[s + j]);
      else
        yc.row(static_cast<Eigen::Index>(j)) = Y.row(idx[s + j]);
    }
    out.noalias() += xc.transpose() * yc;
  }
}

}  // namespace

NextPolicy NextPolicy::uniform(int m) {
  NextPolicy p;
  p.kind = Kind::Uniform;
  p.num_actions = m;
  return p;
}

NextPolicy NextPolicy::greedy(const Eigen::MatrixXd& W) {
  NextPolicy p;
  p.kind = Kind::Greedy;
  p.num_actions = static_cast<int>(W.cols());
  p.W = W;
  return p;
}

NextPolicy NextPolicy::softmax(const Eigen::MatrixXd& W) {
  NextPolicy p = greedy(W);
  p.kind = Kind::Softmax;
  return p;
}

NextPolicy NextPolicy::greedy_or_uniform(const Eigen::MatrixXd& W, int m) {
  return W.size() == 0 ? uniform(m) : greedy(W);
}

void NextPolicy::probabilities(const Eigen::Ref<const Eigen::VectorXd>& x,
                               Eigen::VectorXd& p) const {
  p.resize(num_actions);
  switch (kind) {
    case Kind::Uniform:
      p.setConstant(1.0 / num_actions);
      break;
    case Kind::Greedy:
      p.setZero();
      p(action(x)) = 1.0;
      break;
    case Kind::Softmax:
      p.noalias() = W.transpose() * x;
      softmax_inplace(p);
      break;
  }
}

std::vector<long> rows_of(const TransitionData& tr, const std::vector<int>& individuals) {
  std::vector<long> out;
  for (int i : individuals)
    for (long k = tr.begin(i); k < tr.end(i); ++k) out.push_back(k);
  return out;
}

std::vector<long> rows_of(const TransitionData& tr, int individual) {
  return rows_of(tr, std::vector<int>{individual});
}

Eigen::MatrixXd ActionMoments::gram_matrix() const {
  Eigen::MatrixXd out =
      Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(m) * d, static_cast<Eigen::Index>(m) * d);
  for (int a = 0; a < m; ++a) out.block(a * d, a * d, d, d) = G.middleCols(a * d, d);
  return out;
}

Eigen::MatrixXd ActionMoments::take_bellman_matrix(double gamma) {
  const Eigen::Index p = static_cast<Eigen::Index>(m) * d;
  Eigen::MatrixXd out = std::move(K);
  if (out.size() == 0)
    out.setZero(p, p);
  else
    out *= -gamma;
  for (int a = 0; a < m; ++a) out.block(a * d, a * d, d, d) += G.middleCols(a * d, d);
  K.resize(0, 0);
  return out;
}

Eigen::VectorXd ActionMoments::rhs() const {
  return Eigen::Map<const Eigen::VectorXd>(h.data(), h.size());
}

namespace {

// The rows of each action (by_a), and the live rows of each pair (action a,
// next action c), index a m + c, with the probability pi(c | S') (weight,
// softmax only; uniform: live rows by action only, index a). The policy at
// the next states is evaluated first (in parallel over rows: W' x per row).
struct RowLists {
  std::vector<std::vector<long>> by_a, live;
  std::vector<std::vector<double>> weight;
};

RowLists row_lists(const TransitionData& tr, const std::vector<long>& rows,
                   const NextPolicy* policy, bool by_next, bool weighted, bool parallel) {
  const int m = tr.num_actions;
  const std::size_t nr = rows.size();
  std::vector<int> next(by_next && !weighted ? nr : 0, -1);
  Eigen::MatrixXd P(weighted ? static_cast<Eigen::Index>(nr) : 0, m);
  auto policy_at = [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd p(m);
    for (std::size_t j = b; j < e; ++j) {
      const long k = rows[j];
      if (tr.terminal[k]) continue;
      const auto xn = tr.psi_next.row(k).transpose();
      if (weighted) {
        policy->probabilities(xn, p);
        P.row(static_cast<Eigen::Index>(j)) = p.transpose();
      } else {
        next[j] = policy->action(xn);
      }
    }
  };
  if (by_next) {
    if (parallel)
      runtime().parallel_for(nr, policy_at);
    else
      policy_at(0, nr);
  }
  RowLists L;
  L.by_a.resize(m);
  L.live.resize(policy ? (by_next ? m * m : m) : 0);
  L.weight.resize(weighted ? m * m : 0);
  for (std::size_t j = 0; j < nr; ++j) {
    const long k = rows[j];
    const int a = tr.action(k);
    L.by_a[a].push_back(k);
    if (!policy || tr.terminal[k]) continue;
    if (!by_next) {
      L.live[a].push_back(k);
    } else if (!weighted) {
      L.live[a * m + next[j]].push_back(k);
    } else {
      for (int c = 0; c < m; ++c) {
        const double pc = P(static_cast<Eigen::Index>(j), c);
        if (pc == 0.0) continue;
        L.live[a * m + c].push_back(k);
        L.weight[a * m + c].push_back(pc);
      }
    }
  }
  return L;
}

}  // namespace

ActionMoments action_moments(const TransitionData& tr, const std::vector<long>& rows,
                             const NextPolicy* policy, bool parallel) {
  const int d = tr.d(), m = tr.num_actions;
  ActionMoments out;
  out.d = d;
  out.m = m;
  out.count = static_cast<long>(rows.size());
  out.G.setZero(d, static_cast<Eigen::Index>(m) * d);
  out.h.setZero(d, m);
  // K_{a,c} by (action, next action); uniform: by action only, K_{a,c} = K_a / m.
  const bool by_next = policy && policy->kind != NextPolicy::Kind::Uniform;
  const bool weighted = policy && policy->kind == NextPolicy::Kind::Softmax;
  const RowLists L = row_lists(tr, rows, policy, by_next, weighted, parallel);
  const auto& by_a = L.by_a;
  const auto& live = L.live;
  const auto& weight = L.weight;
  if (policy) out.K.setZero(static_cast<Eigen::Index>(m) * d, static_cast<Eigen::Index>(m) * d);
  const std::size_t tasks = by_next ? static_cast<std::size_t>(m) * m : static_cast<std::size_t>(m);
  auto run = [&](std::size_t b, std::size_t e) {
    for (std::size_t t = b; t < e; ++t) {
      const int a = static_cast<int>(by_next ? t / m : t),
                c = static_cast<int>(by_next ? t % m : t);
      if (a == c) {  // G_a and h_a, over action a's rows in row order
        add_cross(out.G.middleCols(a * d, d), tr.psi, tr.psi, by_a[a], nullptr);
        for (long k : by_a[a]) out.h.col(a) += tr.reward(k) * tr.psi.row(k).transpose();
      }
      if (!policy || live[t].empty()) continue;
      add_cross(out.K.block(a * d, c * d, d, d), tr.psi, tr.psi_next, live[t],
                weighted ? &weight[t] : nullptr);
      if (!by_next) {  // uniform: every next action's block is K_a / m
        out.K.block(a * d, a * d, d, d) /= static_cast<double>(m);
        for (int c2 = 0; c2 < m; ++c2)
          if (c2 != a) out.K.block(a * d, c2 * d, d, d) = out.K.block(a * d, a * d, d, d);
      }
    }
  };
  if (parallel)
    runtime().parallel_for(tasks, run);
  else
    run(0, tasks);
  return out;
}

void bellman_design(const TransitionData& tr, const std::vector<long>& rows,
                    const NextPolicy& policy, double gamma, Eigen::MatrixXd& X, Eigen::MatrixXd& D,
                    Eigen::VectorXd& R) {
  const int d = tr.d(), m = tr.num_actions;
  const Eigen::Index T = static_cast<Eigen::Index>(rows.size());
  X.setZero(T, static_cast<Eigen::Index>(m) * d);
  D.setZero(T, static_cast<Eigen::Index>(m) * d);
  R.resize(T);
  Eigen::VectorXd p(m);
  for (Eigen::Index t = 0; t < T; ++t) {
    const long k = rows[static_cast<std::size_t>(t)];
    X.row(t).segment(tr.action(k) * d, d) = tr.psi.row(k);
    D.row(t) = X.row(t);
    R(t) = tr.reward(k);
    if (tr.terminal[k]) continue;
    const auto xn = tr.psi_next.row(k);
    policy.probabilities(xn.transpose(), p);
    for (int c = 0; c < m; ++c)
      if (p(c) != 0.0) D.row(t).segment(c * d, d) -= (gamma * p(c)) * xn;
  }
}

Eigen::MatrixXd td_features(const TransitionData& tr, double gamma) {
  constexpr long kChunk = 512;
  const long n = tr.n();
  const long nchunks = (n + kChunk - 1) / kChunk;
  Eigen::MatrixXd delta(n, tr.d());
  runtime().parallel_for(nchunks, [&](std::size_t cb, std::size_t ce) {
    for (std::size_t c = cb; c < ce; ++c) {
      const long r0 = static_cast<long>(c) * kChunk, len = std::min(kChunk, n - r0);
      auto D = delta.middleRows(r0, len);
      D = tr.psi.middleRows(r0, len);
      for (long r = 0; r < len; ++r)
        if (!tr.terminal[r0 + r]) D.row(r).noalias() -= gamma * tr.psi_next.row(r0 + r);
    }
  });
  return delta;
}

}  // namespace p4l
