vl_reference <- function(d, psi, psin, mu, nu, beta, gamma, ridge) {
  logits <- psi %*% beta
  prob <- exp(logits - apply(logits, 1, max)); prob <- prob / rowSums(prob)
  w <- prob[cbind(seq_len(nrow(psi)), d$A)] / mu
  delta <- psi - gamma * psin * (!d$terminal)
  M <- crossprod(psi * w, delta) / nrow(psi)
  b <- colSums(psi * w * d$R) / nrow(psi)
  theta <- solve(crossprod(M) + ridge * diag(ncol(psi)), crossprod(M, b))
  list(theta = unname(drop(theta)), value = sum(nu * theta))
}

test_that("the V-learning value equals the importance-weighted Bellman solution computed in R", {
  sim <- sim_linear2d(num.per.group = 2, T = 50, seed = 7)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 6, seed = 1)
  psi <- predict(b, d$S); psin <- predict(b, d$S_next)
  set.seed(1)
  mu <- runif(length(d$R), 0.3, 0.7)
  nu <- colMeans(predict(b, d$S0))
  beta <- cbind(0, rnorm(ncol(psi)))
  for (ridge in c(1e-3, 0.1)) {
    ref <- vl_reference(d, psi, psin, mu, nu, beta, 0.8, ridge)
    got <- p4l:::vlearning_fit_features(d, psi, psin, mu, nu, 0.8, ridge,
                                        vlearning_control(policy.ridge = 0), beta = beta,
                                        optimize = FALSE)
    expect_equal(as.numeric(got$theta), ref$theta, tolerance = 1e-9)
    expect_equal(got$value, ref$value, tolerance = 1e-10)
  }
  # Gradient against central finite differences.
  ctl <- vlearning_control(policy.ridge = 0.01)
  got <- p4l:::vlearning_fit_features(d, psi, psin, mu, nu, 0.8, 1e-3, ctl, beta = beta,
                                      optimize = FALSE)
  fd <- matrix(0, nrow(beta), 2)
  h <- 1e-5
  for (j in seq_len(nrow(beta))) {
    bp <- beta; bp[j, 2] <- bp[j, 2] + h
    bm <- beta; bm[j, 2] <- bm[j, 2] - h
    fp <- p4l:::vlearning_fit_features(d, psi, psin, mu, nu, 0.8, 1e-3, ctl, beta = bp, optimize = FALSE)
    fm <- p4l:::vlearning_fit_features(d, psi, psin, mu, nu, 0.8, 1e-3, ctl, beta = bm, optimize = FALSE)
    fd[j, 2] <- (fp$objective - fm$objective) / (2 * h)
  }
  expect_equal(got$gradient, fd, tolerance = 1e-5)
})

test_that("V-learning finds the optimal policy of a one-step bandit", {
  set.seed(2)
  n <- 600
  s <- runif(n, -2, 2)
  a <- rbinom(n, 1, 0.5)
  r <- as.numeric(a == (s > 0)) + rnorm(n, sd = 0.2)
  df <- data.frame(id = seq_len(n), time = 0, action = a, reward = r, s = s)
  d <- p4l_data(df, "id", "time", "action", "reward", "s", terminal = TRUE)
  expect_true(all(d$terminal))
  fit <- vlearning(d, propensity = rep(0.5, n), seed = 1)
  grid <- data.frame(s = c(seq(-1.9, -0.3, by = 0.1), seq(0.3, 1.9, by = 0.1)))
  expect_equal(predict(fit, grid), as.numeric(grid$s > 0))
  # value of the optimal policy is about 1; uniform is about 0.5
  expect_gt(fit$value, 0.85)
  # estimated propensities give the same policy here
  fit2 <- vlearning(d, seed = 1)
  expect_equal(predict(fit2, grid), as.numeric(grid$s > 0))
  expect_equal(fit2$propensity, rep(0.5, n), tolerance = 0.1)
})

test_that("propensities given as vector, matrix or function agree; bad ones are errors", {
  sim <- sim_linear2d(num.per.group = 2, T = 30, seed = 3)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  n <- length(d$R)
  b <- rbf_basis(d, 5, seed = 1)
  f1 <- vlearning(d, basis = b, propensity = rep(0.5, n))
  f2 <- vlearning(d, basis = b, propensity = matrix(0.5, n, 2, dimnames = list(NULL, c("1", "0"))))
  f3 <- vlearning(d, basis = b, propensity = function(states) matrix(0.5, nrow(states), 2))
  expect_equal(f1$policy.coef, f2$policy.coef)
  expect_equal(f1$policy.coef, f3$policy.coef)
  expect_error(vlearning(d, propensity = rep(0.5, 3)), "`propensity`")
  expect_error(vlearning(d, propensity = rep(0, n)), "`propensity`")
  expect_error(vlearning(d, propensity = "p"), "`propensity`")
  expect_error(vlearning(d, propensity = matrix(0.5, n, 2, dimnames = list(NULL, c("x", "y")))),
               "`propensity`")
  expect_error(vlearning(d, gamma = -0.1), "`gamma`")
  expect_error(vlearning(d, ridge = NA), "`ridge`")
  expect_error(vlearning(d, control = fqi_control()), "`control`")
  expect_error(vlearning_control(reference = "x"), "`reference`")
})

test_that("vlearning() works downstream and does not depend on threads", {
  sim <- sim_linear2d(num.per.group = 3, T = 40, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  f1 <- vlearning(d, seed = 1, num.threads = 1)
  f2 <- vlearning(d, seed = 1, num.threads = 2)
  expect_identical(f1$policy.coef, f2$policy.coef)
  expect_s3_class(f1, c("vlearning_fit", "p4l_policy"))
  nd <- data.frame(s1 = c(-1, 1), s2 = c(1, -1))
  expect_equal(unname(rowSums(predict(f1, nd, type = "prob"))), c(1, 1))
  expect_error(predict(f1, nd, type = "q"), "no Q-function")
  expect_output(print(summary(f1)), "estimated value")
  expect_equal(nrow(evaluate_policy(f1, sim$env, num.episodes = 10, seed = 1)), 9L)
  fi <- vlearning(d, seed = 1, control = vlearning_control(reference = "initial"))
  expect_false(isTRUE(all.equal(fi$value, f1$value)))
})

test_that("V-learning is near-optimal on homogeneous data from one subgroup", {
  h <- baseline_subgroup("b", num = 20, T = 100, seed = 12)
  opt <- linear2d_optimum(h$groups, grid.size = 121)$value
  fit <- vlearning(h$data, seed = 1)
  ev <- evaluate_policy(fit, h$sim$env[[1]], ids = 1, num.episodes = 4000, seed = 5)
  expect_gt(ev$value, opt - 0.03)
})
