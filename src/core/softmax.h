// Softmax of action logits, in the forms the estimators use. Two conventions:
//  - plain: every action has a logit l_a; pi_a = exp(l_a - max) / sum_b exp(l_b - max);
//  - reference action 0: action 0 has logit 0 and only l_1..l_{m-1} are stored
//    (the P4L policy, Theta_0 = 0); the maximum includes the reference 0.
// Each form is written once here; the vectorised forms (over rows, or over
// matrices of one action each) and the scalar form are kept distinct because
// Eigen's vectorised exp, std::exp and vexp.h's exp may differ in the last
// bit, and every caller keeps the form that it uses.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "vexp.h"
namespace p4l {

// Plain softmax of a vector expression, in place (v may be a matrix row).
template <class V>
inline void softmax_inplace(V&& v) {
  const double mx = v.maxCoeff();
  v = (v.array() - mx).exp().matrix();
  v /= v.sum();
}

// Reference-action softmax of one state, scalar loop: logits holds actions
// 1..m-1, out(0..m-1) receives the probabilities.
template <class In, class Out>
inline void softmax_ref(const In& logits, Out&& out) {
  const int m1 = static_cast<int>(logits.size());
  double mx = 0.0;
  for (int a = 0; a < m1; ++a) mx = std::max(mx, logits(a));
  double e0 = std::exp(-mx), sum = e0;
  out(0) = e0;
  for (int a = 0; a < m1; ++a) {
    const double e = std::exp(logits(a) - mx);
    out(a + 1) = e;
    sum += e;
  }
  for (int a = 0; a <= m1; ++a) out(a) /= sum;
}

// Reference-action softmax of many states, vectorised over rows: L (K x (m-1))
// holds the logits of actions 1..m-1, P (K x m) receives the probabilities.
// For m = 2 the logistic form pi_1 = 1/(1+exp(-l)) (exp overflow gives the
// correct limit 0), pi_0 = 1 - pi_1 (absolute accuracy, which is all the sums
// over actions need). w1, w2: scratch (>= K).
template <class LT, class PT>
inline void softmax_ref_rows(const LT& L, PT&& P, Eigen::ArrayXd& w1, Eigen::ArrayXd& w2) {
  const Eigen::Index K = L.rows();
  const Eigen::Index m1 = L.cols();
  auto e = w1.head(K);
  auto s = w2.head(K);
  if (m1 == 1) {
    P.col(1).array() = (1.0 + (-L.col(0).array()).exp()).inverse();
    P.col(0).array() = 1.0 - P.col(1).array();
    return;
  }
  e = L.rowwise().maxCoeff().array().max(0.0);
  P.col(0).array() = (-e).exp();
  s = P.col(0).array();
  for (Eigen::Index a = 0; a < m1; ++a) {
    P.col(a + 1).array() = (L.col(a).array() - e).exp();
    s += P.col(a + 1).array();
  }
  s = s.inverse();
  for (Eigen::Index a = 0; a <= m1; ++a) P.col(a).array() *= s;
}

// Reference-action softmax elementwise over the first n entries of
// per-action buffers (each used as one contiguous array, e.g. a tile of
// states x individuals): L[a] (a = 1..m-1) the logits, P[a] (a = 0..m-1) the
// probabilities. L[0] is scratch (overwritten). The formulas of
// softmax_ref_rows, with vexp.h's exp (this is the hot loop of the
// initial-state term).
inline void softmax_ref_flat(std::vector<Eigen::MatrixXd>& L, std::vector<Eigen::MatrixXd>& P,
                             int m, Eigen::Index n) {
  using A = Eigen::Map<Eigen::ArrayXd>;
  auto Lf = [&](int a) { return A(L[a].data(), n); };
  auto Pf = [&](int a) { return A(P[a].data(), n); };
  if (m == 2) {
    Pf(1) = -Lf(1);
    vexp_inplace(P[1].data(), n);
    Pf(1) = (1.0 + Pf(1)).inverse();
    Pf(0) = 1.0 - Pf(1);
    return;
  }
  A mx = Lf(0);  // L[0] is free: use it for the maxima
  mx = Lf(1).max(0.0);
  for (int a = 2; a < m; ++a) mx = mx.max(Lf(a));
  Pf(0) = -mx;
  for (int a = 1; a < m; ++a) Pf(a) = Lf(a) - mx;
  for (int a = 0; a < m; ++a) vexp_inplace(P[a].data(), n);
  A inv = Lf(0);  // 1 / sum_a exp(l_a - max): one division per state, not m
  inv = Pf(0);
  for (int a = 1; a < m; ++a) inv += Pf(a);
  inv = inv.inverse();
  for (int a = 0; a < m; ++a) Pf(a) *= inv;
}

}  // namespace p4l
