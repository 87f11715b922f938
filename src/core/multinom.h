// Penalised multinomial logistic regression: the one solver behind the
// behaviour model (behaviour_policy()), V-learning's propensities and the
// baseline-covariate cluster model of new individuals (p4l_assign()).
#pragma once

#include <Eigen/Dense>

namespace p4l {

struct MultinomResult {
  Eigen::MatrixXd coef;  // q x m, column 0 (the reference class) zero
  Eigen::MatrixXd prob;  // n x m fitted probabilities
  double loglik = 0.0;   // unpenalised log-likelihood at coef
  int iterations = 0;    // Newton steps taken
  bool converged = false;
};

// Maximises sum_k log p(y_k | x_k) - ridge * n / 2 * |coef without row 0|^2,
// p the softmax of x' coef, by damped Newton steps (step halving keeps the
// objective increasing). X: n x q, the intercept in column 0 (unpenalised);
// y: 0-based classes in [0, m). Stops when an accepted step gains less than
// 1e-10 (1 + |objective|) or, when tol > 0, when it moves no coefficient by
// more than tol * max(1, max |coef|); a step that cannot gain at all (the
// optimum to machine precision) also ends it, as converged.
// Rows run in parallel (runtime()) in fixed blocks: the same fit for any
// thread count.
MultinomResult multinom_fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::VectorXi& y,
                            int m, double ridge, int max_iter, double tol = 0.0);

}  // namespace p4l
