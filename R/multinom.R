# Penalised multinomial logistic regression: the one solver (C++
# multinom_fit(), src/core/multinom.cpp) behind behaviour_policy(),
# V-learning's propensities and the baseline-covariate cluster model of
# p4l_assign().
#
# X: n x q covariates with the intercept in column 1 (unpenalised); y:
# 1-based classes in 1..m; the objective is the log-likelihood minus
# ridge * n / 2 times the squared coefficients other than the intercepts.
# Returns W (q x m, column 1 the reference class, 0), prob (n x m), loglik
# (unpenalised), iterations and converged. The same fit for any num.threads.
fit_multinom <- function(X, y, m, ridge, max.iter = 100L, tol = 0, num.threads = 1L) {
  if (!is.double(X)) storage.mode(X) <- "double"  # read in place by the core
  fit <- multinom_cpp(X, as.integer(y - 1L), as.integer(m), as.numeric(ridge),
                      as.integer(max.iter), as.numeric(tol), as.integer(num.threads))
  list(W = fit$coef, prob = fit$prob, loglik = fit$loglik, iterations = fit$iterations,
       converged = fit$converged)
}
