#include "bellman.h"

#include <stdexcept>

#include "runtime.h"
#include "softmax.h"

namespace p4l {

Eigen::VectorXd bellman_residuals(const TransitionData& tr, const Eigen::MatrixXd& W,
                                  const Eigen::MatrixXd& Theta, const Eigen::VectorXd& u_pol,
                                  const Eigen::VectorXd& u, double gamma,
                                  const std::vector<int>& rows) {
  tr.validate("bellman residuals");
  const Eigen::Index n = tr.n(), d = tr.d();
  const int m = tr.num_actions;
  if (d < 1 || W.rows() != m * d) throw std::invalid_argument("W must have m d rows");
  if (Theta.rows() != (m - 1) * d || Theta.cols() != u_pol.size() || W.cols() != u.size())
    throw std::invalid_argument("Theta, W, u_pol and u do not match");
  const auto& psi = tr.psi;
  const auto& psi_next = tr.psi_next;
  // Q weights of every action at u (d x m) and policy logit weights at u_pol (d x (m-1))
  Eigen::MatrixXd Wu(d, m), Tu(d, m - 1);
  const Eigen::VectorXd wu = W * u, tu = Theta * u_pol;
  for (int a = 0; a < m; ++a) Wu.col(a) = wu.segment(a * d, d);
  for (int a = 1; a < m; ++a) Tu.col(a - 1) = tu.segment((a - 1) * d, d);
  for (int t : rows)
    if (t < 0 || t >= n) throw std::invalid_argument("row index out of range");
  Eigen::VectorXd e(rows.size());
  runtime().parallel_for(rows.size(), [&](std::size_t lo, std::size_t hi) {
    Eigen::VectorXd x(d), l(m - 1), pi(m);
    for (std::size_t k = lo; k < hi; ++k) {
      const int t = rows[k];
      x = psi.row(t).transpose();
      double v = tr.reward(t) - x.dot(Wu.col(tr.action(t)));
      if (!tr.terminal[t]) {
        x = psi_next.row(t).transpose();
        l.noalias() = Tu.transpose() * x;
        softmax_ref(l, pi);
        v += gamma * pi.dot(Wu.transpose() * x);
      }
      e(static_cast<Eigen::Index>(k)) = v;
    }
  });
  return e;
}

}  // namespace p4l
