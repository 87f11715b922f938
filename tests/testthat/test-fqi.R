test_that("FQI equals the empirical Bellman fixed point on a tabular MDP (one-hot basis)", {
  d <- baseline_tabular_data(N = 40, T = 6, seed = 3, terminal = TRUE)
  psi <- one_hot3(d$S[, 1]); psin <- one_hot3(d$S_next[, 1])
  res <- p4l:::fqi_fit_features(d, psi, psin, gamma = 0.8, ridge = 0,
                                control = fqi_control(max.iter = 5000, tol = 1e-13))
  expect_true(res$converged)
  # Reference: Q(s, a) = mean over (s, a) transitions of R + 0.8 (1 - terminal) max Q(S').
  s <- d$S[, 1]; a <- d$A; sn <- d$S_next[, 1]; term <- d$terminal
  Q <- matrix(0, 3, 2)
  for (it in 1:2000) {
    y <- d$R + 0.8 * ifelse(term, 0, apply(Q, 1, max)[sn])
    Q <- tapply(y, list(factor(s, 1:3), factor(a, 1:2)), mean)
  }
  expect_true(any(term))
  expect_equal(unname(res$W), unname(Q), tolerance = 1e-9)
})

test_that("FQI handles non-terminal data and ridge shrinks towards zero", {
  d <- baseline_tabular_data(N = 20, seed = 4, terminal = FALSE)
  expect_false(any(d$terminal))
  psi <- one_hot3(d$S[, 1]); psin <- one_hot3(d$S_next[, 1])
  r0 <- p4l:::fqi_fit_features(d, psi, psin, ridge = 0, control = fqi_control(tol = 1e-12))
  Q <- matrix(0, 3, 2)
  for (it in 1:2000) {
    y <- d$R + 0.8 * apply(Q, 1, max)[d$S_next[, 1]]
    Q <- tapply(y, list(factor(d$S[, 1], 1:3), factor(d$A, 1:2)), mean)
  }
  expect_equal(unname(r0$W), unname(Q), tolerance = 1e-8)
  r1 <- p4l:::fqi_fit_features(d, psi, psin, ridge = 1)
  expect_lt(max(abs(r1$W)), max(abs(r0$W)))
})

test_that("behaviour-regularised FQI chooses by Q + kappa log b, against a tabular reference", {
  d <- baseline_tabular_data(N = 40, T = 6, seed = 3, terminal = TRUE)
  psi <- one_hot3(d$S[, 1]); psin <- one_hot3(d$S_next[, 1])
  # a behaviour model on the one-hot basis: its log propensities per state
  B <- cbind(0, c(-3, 3, -2))  # against plain FQI's greedy action in every state
  kappa <- 1
  res <- p4l:::fqi_fit_features(d, psi, psin, gamma = 0.8, ridge = 0,
                                control = fqi_control(max.iter = 5000, tol = 1e-13,
                                                      behaviour.weight = kappa),
                                choice = kappa * B)
  expect_true(res$converged)
  s <- d$S[, 1]; a <- d$A; sn <- d$S_next[, 1]; term <- d$terminal
  logb <- B - log(rowSums(exp(B)))  # log b(a | s): the logits up to a term per state
  Q <- matrix(0, 3, 2)
  for (it in 1:2000) {
    pick <- max.col(Q + kappa * logb, ties.method = "first")
    v <- Q[cbind(1:3, pick)]
    y <- d$R + 0.8 * ifelse(term, 0, v[sn])
    Q <- tapply(y, list(factor(s, 1:3), factor(a, 1:2)), mean)
  }
  expect_equal(unname(res$W), unname(Q), tolerance = 1e-9)
  # the choice differs from plain FQI's here (else the test would not see it)
  plain <- p4l:::fqi_fit_features(d, psi, psin, gamma = 0.8, ridge = 0,
                                  control = fqi_control(max.iter = 5000, tol = 1e-13))
  expect_gt(max(abs(plain$W - res$W)), 1e-3)
  expect_error(p4l:::fqi_fit_features(d, psi, psin, control = fqi_control(behaviour.weight = 1)),
               "`choice` must be given")
  expect_error(fqi_control(behaviour.weight = -1), "behaviour.weight")
})

test_that("fqi(behaviour.weight) holds the behaviour model and its policy is linear", {
  sim <- sim_linear2d(num.per.group = 3, T = 40, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, num.centers = 6, seed = 1)
  f0 <- fqi(d, basis = b)
  f <- fqi(d, basis = b, control = fqi_control(behaviour.weight = 0.3))
  expect_null(f0$behaviour.coef)
  expect_identical(f0$policy.coef, f0$q.coef)
  # the behaviour model is behaviour_policy()'s on the same basis and ridge
  bp <- behaviour_policy(d, basis = b)
  expect_equal(f$behaviour.coef, bp$policy.coef[[1]], tolerance = 1e-10)
  expect_equal(f$policy.coef[[1]], f$q.coef[[1]] + 0.3 * f$behaviour.coef, tolerance = 1e-14)
  nd <- data.frame(s1 = c(-1, 1, 0, 0.5), s2 = c(1, -1, 0, 2))
  q <- predict(f, nd, type = "q")
  lb <- log(predict(bp, nd, type = "prob"))
  expect_equal(predict(f, nd), c(0, 1)[max.col(q + 0.3 * lb, ties.method = "first")])
  expect_output(print(f), "Q \\+ 0.3 x log")
  expect_output(print(summary(f)), "Q \\+ 0.3 x log")
  expect_false(any(grepl("log\\(behaviour", capture.output(print(summary(f0))))))
  # a very large weight gives the behaviour model's most likely action
  fb <- fqi(d, basis = b, control = fqi_control(behaviour.weight = 1e6))
  S <- as.data.frame(d$S)
  expect_identical(predict(fb, S), predict(bp, S))
})

test_that("fqi() is a p4l_policy that works downstream and does not depend on threads", {
  sim <- sim_linear2d(num.per.group = 3, T = 40, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  f1 <- fqi(d, seed = 1, num.threads = 1)
  f2 <- fqi(d, seed = 1, num.threads = 2)
  expect_identical(f1$q.coef, f2$q.coef)
  expect_s3_class(f1, c("fqi_fit", "p4l_policy"))
  expect_true(f1$greedy)
  nd <- data.frame(s1 = c(-1, 1, 0), s2 = c(1, -1, 0))
  q <- predict(f1, nd, type = "q")
  expect_equal(dim(q), c(3L, 2L))
  expect_equal(predict(f1, nd), c(0, 1)[max.col(q, ties.method = "first")])
  expect_equal(unname(rowSums(predict(f1, nd, type = "prob"))), rep(1, 3))
  expect_identical(coef(f1), f1$policy.coef)
  expect_output(print(f1), "fqi")
  expect_output(print(summary(f1)), "converged = TRUE")
  ev <- evaluate_policy(f1, sim$env, num.episodes = 20, seed = 1)
  expect_equal(nrow(ev), 9L)
  tmp <- tempfile(fileext = ".rds"); saveRDS(f1, tmp)
  expect_identical(predict(readRDS(tmp), nd, type = "q"), q)
  pdf(NULL); on.exit(grDevices::dev.off())
  expect_silent(plot(f1, grid.size = 10))
})

test_that("fqi() rejects bad input with errors naming the argument", {
  sim <- sim_linear2d(num.per.group = 2, T = 20, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_error(fqi(sim$data), "`data` must be a p4l_data")
  expect_error(fqi(d, gamma = 1), "`gamma`")
  expect_error(fqi(d, gamma = "a"), "`gamma`")
  expect_error(fqi(d, ridge = -1), "`ridge`")
  expect_error(fqi(d, basis = "rbf"), "`basis`")
  b <- rbf_basis(matrix(rnorm(40), 20, dimnames = list(NULL, c("x", "y"))), 4, seed = 1)
  expect_error(fqi(d, basis = b), "`basis` was built on")
  expect_error(fqi(d, control = list()), "`control`")
  expect_error(fqi(d, num.threads = 0), "`num.threads`")
  expect_error(fqi(d, seed = -1), "`seed`")
  expect_error(fqi_control(max.iter = 0), "`max.iter`")
})

test_that("FQI is near-optimal on homogeneous data from one subgroup", {
  h <- baseline_subgroup("a", num = 20, T = 100, seed = 11)
  opt <- linear2d_optimum(h$groups, grid.size = 121)$value
  fit <- fqi(h$data, seed = 1)
  ev <- evaluate_policy(fit, h$sim$env[[1]], ids = 1, num.episodes = 4000, seed = 5)
  expect_gt(ev$value, opt - 0.03)
  expect_lt(ev$value, opt + 4 * ev$se)
})

test_that("FQI's block sums do not depend on threads and its Bellman RMSE is the formula's", {
  sim <- sim_icu(150, max.decisions = 12, seed = 5)  # about 1,500 rows: several row blocks
  d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
                terminal = "terminal")
  b <- rbf_basis(d, 6, seed = 1)
  f1 <- fqi(d, gamma = 0.9, basis = b, num.threads = 1)
  f2 <- fqi(d, gamma = 0.9, basis = b, num.threads = 2)
  expect_gt(length(d$R), 1024)
  expect_identical(f1$q.coef, f2$q.coef)
  expect_identical(f1$convergence, f2$convergence)
  W <- f1$q.coef[[1]]
  psi <- predict(b, d$S)
  psin <- predict(b, d$S_next)
  nxt <- ifelse(d$terminal, 0, apply(psin %*% W, 1, max))
  nxt[is.na(nxt)] <- 0
  y <- d$R + 0.9 * nxt
  q <- (psi %*% W)[cbind(seq_along(d$A), d$A)]
  expect_equal(f1$convergence$bellman.rmse, sqrt(mean((y - q)^2)), tolerance = 1e-10)
  # the fixed point: W solves the ridge regressions of its own targets
  for (a in seq_along(d$action.levels)) {
    ia <- d$A == a
    G <- crossprod(psi[ia, , drop = FALSE]) + 1e-4 * length(d$R) * diag(ncol(psi))
    expect_equal(unname(W[, a]), unname(solve(G, crossprod(psi[ia, , drop = FALSE], y[ia]))[, 1]),
                 tolerance = 1e-6)
  }
})
