#include "multinom.h"

#include <algorithm>
#include <cmath>

#include "runtime.h"
#include "softmax.h"

namespace p4l {

namespace {

using XRef = Eigen::Ref<const Eigen::MatrixXd>;

// Row-wise steps run in parallel over fixed blocks of rows; every sum over
// rows (the log-likelihood, X' r, X' W X) keeps one serial order, so the fit
// is the same, bit for bit, for any thread count.
constexpr long kBlockRows = 8192;  // for_row_blocks(), runtime.h

// Penalised log-likelihood at Bc; fills pr with the probabilities and ll0
// with the unpenalised log-likelihood. lt (n): scratch.
double penalised_loglik(const XRef& X, const Eigen::VectorXi& y, double pen,
                        const Eigen::MatrixXd& Bc, Eigen::MatrixXd& pr, Eigen::VectorXd& lt,
                        double& ll0) {
  const long n = X.rows();
  const int q = static_cast<int>(X.cols());
  pr.resize(n, Bc.cols());
  lt.resize(n);
  for_row_blocks(n, kBlockRows, [&](long r0, long nr) {
    pr.middleRows(r0, nr).noalias() = X.middleRows(r0, nr) * Bc;
    for (long k = r0; k < r0 + nr; ++k) {
      softmax_inplace(pr.row(k));
      lt(k) = std::log(std::max(pr(k, y(k)), 1e-300));
    }
  });
  ll0 = 0.0;
  for (long k = 0; k < n; ++k) ll0 += lt(k);
  return ll0 - 0.5 * pen * Bc.bottomRows(q - 1).squaredNorm();
}

// The Newton system H step = g at B (probabilities prob) of the penalised
// log-likelihood: g its gradient, H the Fisher information (the negative
// Hessian of the log-likelihood) plus the penalty's, ridged by 1e-10 n.
// Xw (n x q), r (n): scratch.
void newton_system(const XRef& X, const Eigen::VectorXi& y, int m, double pen,
                   const Eigen::MatrixXd& B, const Eigen::MatrixXd& prob, Eigen::MatrixXd& Xw,
                   Eigen::VectorXd& r, Eigen::VectorXd& g, Eigen::MatrixXd& H) {
  const long n = X.rows();
  const int q = static_cast<int>(X.cols()), P = q * (m - 1);
  g.resize(P);
  H.resize(P, P);
  r.resize(n);
  for (int a = 1; a < m; ++a) {
    for_row_blocks(n, kBlockRows, [&](long r0, long nr) {
      for (long k = r0; k < r0 + nr; ++k) r(k) = (y(k) == a ? 1.0 : 0.0) - prob(k, a);
    });
    g.segment((a - 1) * q, q).noalias() = X.transpose() * r;
    for (int c = a; c < m; ++c) {
      // H_ac = X' diag(p_a (1[a = c] - p_c)) X
      const double same = a == c ? 1.0 : 0.0;
      for_row_blocks(n, kBlockRows, [&](long r0, long nr) {
        const auto w =
            prob.col(a).segment(r0, nr).array() * (same - prob.col(c).segment(r0, nr).array());
        Xw.middleRows(r0, nr) = X.middleRows(r0, nr).array().colwise() * w;
      });
      H.block((a - 1) * q, (c - 1) * q, q, q).noalias() = Xw.transpose() * X;
      if (c != a) {
        H.block((c - 1) * q, (a - 1) * q, q, q) =
            H.block((a - 1) * q, (c - 1) * q, q, q).transpose();
      }
    }
  }
  for (int a = 1; a < m; ++a) {
    g.segment((a - 1) * q + 1, q - 1) -= pen * B.col(a).tail(q - 1);
    H.block((a - 1) * q + 1, (a - 1) * q + 1, q - 1, q - 1).diagonal().array() += pen;
  }
  H.diagonal().array() += 1e-10 * static_cast<double>(n);
}

}  // namespace

MultinomResult multinom_fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::VectorXi& y,
                            int m, double ridge, int max_iter, double tol) {
  const long n = X.rows();
  const int q = static_cast<int>(X.cols());
  const double pen = ridge * static_cast<double>(n);
  MultinomResult res;
  Eigen::MatrixXd B = Eigen::MatrixXd::Zero(q, m);
  Eigen::VectorXd lt, r;  // scratch (n)
  auto objective = [&](const Eigen::MatrixXd& Bc, Eigen::MatrixXd& pr, double& ll0) {
    return penalised_loglik(X, y, pen, Bc, pr, lt, ll0);
  };
  Eigen::MatrixXd prob;
  double ll0 = 0.0;
  double ll = objective(B, prob, ll0);
  Eigen::MatrixXd Xw(n, q), pn;
  for (int it = 0; it < max_iter; ++it) {
    check_interrupt();
    Eigen::VectorXd g;
    Eigen::MatrixXd H;
    newton_system(X, y, m, pen, B, prob, Xw, r, g, H);
    const Eigen::VectorXd stepv = H.ldlt().solve(g);
    double t = 1.0;
    bool improved = false;
    Eigen::MatrixXd Bn;
    double lln = ll, lln0 = ll0;
    for (int ls = 0; ls < 30; ++ls) {
      Bn = B;
      for (int a = 1; a < m; ++a) Bn.col(a) += t * stepv.segment((a - 1) * q, q);
      lln = objective(Bn, pn, lln0);
      if (lln >= ll - 1e-12) {
        improved = true;
        break;
      }
      t *= 0.5;
    }
    if (!improved) {
      res.converged = true;  // no ascent left at machine precision
      break;
    }
    res.iterations = it + 1;
    const double gain = lln - ll;
    const double moved = t * stepv.cwiseAbs().maxCoeff();
    B = Bn;
    prob.swap(pn);
    ll = lln;
    ll0 = lln0;
    if (gain < 1e-10 * (1.0 + std::fabs(ll)) ||
        (tol > 0.0 && moved <= tol * std::max(1.0, B.cwiseAbs().maxCoeff()))) {
      res.converged = true;
      break;
    }
  }
  res.coef = B;
  res.prob = prob;
  res.loglik = ll0;
  return res;
}

}  // namespace p4l
