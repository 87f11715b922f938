#include "bellman.h"

#include <stdexcept>

#include "runtime.h"
#include "softmax.h"

namespace p4l {

Eigen::VectorXd bellman_residuals(const Eigen::Ref<const Eigen::MatrixXd>& psi,
                                  const Eigen::Ref<const Eigen::MatrixXd>& psi_next,
                                  const Eigen::VectorXi& action, const Eigen::VectorXd& reward,
                                  const std::vector<char>& terminal, const Eigen::MatrixXd& W,
                                  const Eigen::MatrixXd& Theta, const Eigen::VectorXd& u_pol,
                                  const Eigen::VectorXd& u, double gamma,
                                  const std::vector<int>& rows) {
  const Eigen::Index n = psi.rows(), d = psi.cols();
  if (d < 1 || W.rows() % d != 0) throw std::invalid_argument("W must have m d rows");
  const int m = static_cast<int>(W.rows() / d);
  if (m < 2 || Theta.rows() != (m - 1) * d || Theta.cols() != u_pol.size() || W.cols() != u.size())
    throw std::invalid_argument("Theta, W, u_pol and u do not match");
  if (psi_next.rows() != n || psi_next.cols() != d || action.size() != n || reward.size() != n ||
      static_cast<Eigen::Index>(terminal.size()) != n)
    throw std::invalid_argument("the transition inputs must all have n rows");
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
      double v = reward(t) - x.dot(Wu.col(action(t)));
      if (!terminal[t]) {
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
