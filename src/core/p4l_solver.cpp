// P4L solver core; see p4l_solver.h and shared/design/solver.md.
#include "p4l_solver.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "p4l_sgd.h"
#include "softmax.h"

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using Eigen::VectorXi;

namespace {

void fail(const std::string& msg) { throw std::invalid_argument("p4l: " + msg); }

}  // namespace

// ---------------------------------------------------------------------------
void validate(const P4LData& D) {
  const Eigen::Index n = D.psi.rows(), d = D.psi.cols();
  if (n < 1 || d < 1) fail("psi must have at least one row and one column");
  D.validate("p4l");
  for (std::size_t i = 0; i + 1 < D.start.size(); ++i)
    if (D.start[i + 1] <= D.start[i])
      fail("every individual needs >= 1 transition (start increasing)");
  if (D.psi0.rows() < 1 || D.psi0.cols() != d) fail("psi0 must be n0 x d with n0 >= 1");
  if (!D.psi.allFinite() || !D.reward.allFinite() || !D.psi0.allFinite())
    fail("psi, reward and psi0 must be finite");
  for (Eigen::Index t = 0; t < n; ++t)
    if (!D.terminal[t] && !D.psi_next.row(t).allFinite())
      fail("psi_next must be finite on non-terminal rows");
}

MatrixXd DualSolution::W() const { return Eigen::Map<const MatrixXd>(theta.data(), p, r); }
MatrixXd DualSolution::Z() const { return Eigen::Map<const MatrixXd>(z.data(), p, r); }

// P4LProblem: p4l_problem.cpp.

DualSolution solve_dual(const P4LData& data, const Params& par, double gamma, double alpha,
                        double dual_ridge, double kappa) {
  P4LProblem prob(data);
  return prob.evaluate(par, gamma, alpha, dual_ridge, false, kappa).dual;
}

Gradient grad(const P4LData& data, const Params& par, double gamma, double alpha, double dual_ridge,
              double kappa) {
  P4LProblem prob(data);
  return prob.evaluate(par, gamma, alpha, dual_ridge, true, kappa);
}

// ---------------------------------------------------------------------------
MatrixXd group_ridge(const MatrixXd& X, const VectorXd& y, const VectorXi& group, int G,
                     const VectorXd& pooled, double lambda) {
  const Eigen::Index n = X.rows(), k = X.cols();
  if (y.size() != n || group.size() != n)
    throw std::invalid_argument("group_ridge: X, y and group differ in length");
  if (pooled.size() != k)
    throw std::invalid_argument("group_ridge: pooled must have ncol(X) entries");
  if (G < 0 || !(lambda > 0))
    throw std::invalid_argument("group_ridge: need G >= 0 and lambda > 0");
  // rows of each group (counting sort, stable)
  std::vector<Eigen::Index> first(static_cast<std::size_t>(G) + 1, 0), rows(n);
  for (Eigen::Index t = 0; t < n; ++t) {
    if (group(t) < 0 || group(t) >= G)
      throw std::invalid_argument("group_ridge: group index out of range");
    ++first[group(t) + 1];
  }
  for (int g = 0; g < G; ++g) first[g + 1] += first[g];
  {
    std::vector<Eigen::Index> pos(first.begin(), first.end() - 1);
    for (Eigen::Index t = 0; t < n; ++t) rows[pos[group(t)]++] = t;
  }
  MatrixXd B(G, k);
  runtime().parallel_for(static_cast<std::size_t>(G), [&](std::size_t lo, std::size_t hi) {
    MatrixXd A(k, k);
    VectorXd rhs(k);
    for (std::size_t gg = lo; gg < hi; ++gg) {
      const int g = static_cast<int>(gg);
      A.setZero();
      A.diagonal().setConstant(lambda);
      rhs = lambda * pooled;
      for (Eigen::Index j = first[g]; j < first[g + 1]; ++j) {
        const Eigen::Index t = rows[j];
        A.selfadjointView<Eigen::Lower>().rankUpdate(X.row(t).transpose());
        rhs.noalias() += y(t) * X.row(t).transpose();
      }
      B.row(g) = A.selfadjointView<Eigen::Lower>().ldlt().solve(rhs).transpose();
    }
  });
  return B;
}

MatrixXd policy_probs(const MatrixXd& psi, const MatrixXd& Theta, const VectorXd& u) {
  const Eigen::Index d = psi.cols();
  if (d == 0 || Theta.rows() % d != 0 || Theta.cols() != u.size())
    throw std::invalid_argument("p4l: policy_probs: Theta must be (m-1) d x r and u of length r");
  const Eigen::Index m = Theta.rows() / d + 1;
  const VectorXd tu = Theta * u;
  const Eigen::Map<const MatrixXd> ThU(tu.data(), d, m - 1);
  const MatrixXd L = psi * ThU;  // n x (m-1)
  MatrixXd P(psi.rows(), m);
  for (Eigen::Index t = 0; t < psi.rows(); ++t) {
    VectorXd pr(m);
    softmax_ref(L.row(t).transpose(), pr);
    P.row(t) = pr.transpose();
  }
  return P;
}

MatrixXd q_values(const MatrixXd& psi, const MatrixXd& W, const VectorXd& u) {
  const Eigen::Index d = psi.cols();
  if (d == 0 || W.rows() % d != 0 || W.cols() != u.size())
    throw std::invalid_argument("p4l: q_values: W must be m d x r and u of length r");
  const VectorXd wu = W * u;
  const Eigen::Map<const MatrixXd> Wm(wu.data(), d, W.rows() / d);
  return psi * Wm;
}

}  // namespace p4l
