# fit_multinom(): the one multinomial logistic solver (behaviour model,
# V-learning propensities, baseline cluster model of new individuals).

test_that("fit_multinom() with two classes and no ridge is logistic regression (glm)", {
  set.seed(3)
  n <- 400
  x <- cbind(1, rnorm(n), runif(n))
  y <- 1L + rbinom(n, 1, plogis(0.3 - 1.2 * x[, 2] + 0.8 * x[, 3]))
  fit <- fit_multinom(x, y, 2L, ridge = 0, max.iter = 100L, tol = 1e-12)
  ref <- stats::glm(y == 2L ~ x[, 2] + x[, 3], family = stats::binomial())
  expect_true(fit$converged)
  expect_equal(fit$W[, 1], c(0, 0, 0))
  expect_equal(unname(fit$W[, 2]), unname(stats::coef(ref)), tolerance = 1e-7)
  expect_equal(fit$loglik, as.numeric(stats::logLik(ref)), tolerance = 1e-9)
  expect_equal(fit$prob[, 2], unname(stats::fitted(ref)), tolerance = 1e-7)
})

test_that("fit_multinom() with three classes solves its penalised score equations", {
  set.seed(4)
  n <- 300
  x <- cbind(1, rnorm(n), rnorm(n))
  B <- cbind(0, c(0.5, 1, -1), c(-0.2, -0.5, 1.5))
  P <- exp(x %*% B)
  P <- P / rowSums(P)
  y <- apply(P, 1, function(p) sample.int(3, 1, prob = p))
  ridge <- 0.01
  fit <- fit_multinom(x, y, 3L, ridge = ridge, max.iter = 100L, tol = 1e-12)
  expect_true(fit$converged)
  # Score of the penalised log-likelihood (intercepts unpenalised), in R.
  Y <- outer(y, 1:3, "==") * 1
  G <- crossprod(x, Y - fit$prob) - ridge * n * rbind(0, fit$W[-1, ])
  expect_lt(max(abs(G[, -1])), 1e-6)
  expect_equal(rowSums(fit$prob), rep(1, n))
  # The planted coefficients are recovered roughly (n = 300).
  expect_lt(max(abs(fit$W - B)), 0.6)
  expect_error(fit_multinom(x, y, 1L, 0), "two classes")
})

test_that("fit_multinom() is the same, bit for bit, for any num.threads (rows in several blocks)", {
  set.seed(5)
  n <- 20000  # more than two blocks of rows
  x <- cbind(1, rnorm(n), rnorm(n))
  P <- exp(x %*% cbind(0, c(0.2, 1, -0.5), c(-0.4, 0.3, 1)))
  y <- apply(P / rowSums(P), 1, function(p) sample.int(3, 1, prob = p))
  f1 <- fit_multinom(x, y, 3L, ridge = 1e-3, max.iter = 100L, tol = 1e-10, num.threads = 1L)
  f2 <- fit_multinom(x, y, 3L, ridge = 1e-3, max.iter = 100L, tol = 1e-10, num.threads = 2L)
  expect_true(f1$converged)
  expect_identical(f1$W, f2$W)
  expect_identical(f1$prob, f2$prob)
  expect_identical(f1$loglik, f2$loglik)
  # an integer design is read as double
  xi <- cbind(1L, rep_len(0:3, n))
  expect_identical(fit_multinom(xi, y, 3L, 1e-3)$W, fit_multinom(xi * 1.0, y, 3L, 1e-3)$W)
})
