# persim(): the personalised low-rank simulator.

# Data from a planted rank-2 model, linear in the state, without noise.
planted_persim_data <- function(N = 12, T = 25, seed = 3) {
  set.seed(seed)
  d <- 2
  U <- cbind(1, stats::rnorm(N))
  W <- cbind(c(1, -1, 0.5), c(0.5, 1, -1))
  V <- list(matrix(c(-0.3, 0.1, -0.2, 0.05, 0.1, -0.25), d, 3),
            matrix(c(0.2, -0.1, 0.05, 0.1, -0.15, 0.02), d, 3))
  rows <- list()
  for (i in seq_len(N)) {
    s <- stats::rnorm(d)
    for (t in 0:T) {
      a <- if (t < T) sample.int(3, 1) else NA
      rows[[length(rows) + 1L]] <- data.frame(id = i, time = t, action = a - 1,
                                              reward = if (t < T) -s[1] else NA,
                                              s1 = s[1], s2 = s[2])
      if (t < T) {
        phi <- c(1, s)
        s <- s + U[i, 1] * W[a, 1] * drop(V[[1]] %*% phi) + U[i, 2] * W[a, 2] * drop(V[[2]] %*% phi)
      }
    }
  }
  df <- do.call(rbind, rows)
  # reward = -s1 at the next state (like -SOFA at the next block)
  nxt <- c(df$s1[-1], NA)
  df$reward <- ifelse(is.na(df$action), NA, -nxt)
  p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"))
}

test_that("persim() recovers a planted rank-2 model and the reward -S'", {
  d <- planted_persim_data()
  ps <- persim(d, rank = 2, num.centers = 0, ridge = 1e-10, noise = FALSE, tol = 1e-14,
               max.iter = 3000, seed = 1)
  p <- predict(ps, d)
  expect_lt(max(abs(p$state - d$S_next)), 1e-4)
  expect_gt(min(ps$r.squared), 1 - 1e-7)
  expect_equal(ps$reward.coef$next.state, c(-1, 0), tolerance = 1e-6)
  expect_equal(p$reward, d$R, tolerance = 1e-4)
})

test_that("persim() objective never increases and V is the exact ridge solution given U, W", {
  sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ridge <- 0.5
  ps <- suppressWarnings(persim(d, rank = 2, num.centers = 4, ridge = ridge, max.iter = 40,
                                seed = 1))
  obj <- ps$objective
  expect_true(all(diff(obj) <= 1e-9 * obj[-length(obj)]))
  # Independent reference: the features by formula, the V step by solve().
  f <- ps$features
  Z <- sweep(sweep(d$S, 2, f$center), 2, f$scale, "/")
  bumps <- sapply(seq_len(nrow(f$centres)), function(k)
    exp(-rowSums(sweep(Z, 2, f$centres[k, ])^2) / (2 * f$bandwidth^2)))
  Phi <- cbind(1, Z, bumps)
  expect_equal(unname(p4l:::persim_features(f, d$S)), unname(Phi), tolerance = 1e-12)
  C <- ps$U[d$individual, , drop = FALSE] * ps$W[d$A, , drop = FALSE]
  X <- do.call(cbind, lapply(1:2, function(k) C[, k] * Phi))
  beta <- solve(crossprod(X) + diag(ridge, ncol(X)), crossprod(X, d$S_next - d$S))
  m <- ncol(Phi)
  expect_equal(ps$V[[1]], t(beta[1:m, ]), tolerance = 1e-8, ignore_attr = TRUE)
  expect_equal(ps$V[[2]], t(beta[m + 1:m, ]), tolerance = 1e-8, ignore_attr = TRUE)
  # The objective recomputed in R.
  fitted <- Reduce(`+`, lapply(1:2, function(k) C[, k] * Phi %*% t(ps$V[[k]])))
  ref <- 0.5 * sum((d$S_next - d$S - fitted)^2) +
    0.5 * ridge * (sum(ps$U^2) + sum(ps$W^2) + sum(ps$V[[1]]^2) + sum(ps$V[[2]]^2))
  expect_equal(obj[length(obj)], ref, tolerance = 1e-9)
})

test_that("persim() and its environments do not depend on the number of threads", {
  sim <- sim_linear2d(num.per.group = 3, T = 40, seed = 4)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  a <- suppressWarnings(persim(d, rank = 2, seed = 2, num.threads = 1, max.iter = 30, tol = 0))
  b <- suppressWarnings(persim(d, rank = 2, seed = 2, num.threads = 2, max.iter = 30, tol = 0))
  a$call <- b$call <- NULL
  expect_identical(a, b)
  pol <- fixed_policy(1, d, gamma = 0.9)
  expect_identical(evaluate_policy(pol, a, num.episodes = 20, horizon = 10, seed = 1,
                                   num.threads = 1),
                   evaluate_policy(pol, a, num.episodes = 20, horizon = 10, seed = 1,
                                   num.threads = 2))
})

test_that("a persim environment steps by the fitted formula and values match a hand rollout", {
  sim <- sim_linear2d(num.per.group = 2, T = 40, seed = 5)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ps <- persim(d, rank = 2, num.centers = 3, noise = FALSE, clip = FALSE, seed = 1)
  f <- ps$features
  phi <- function(s) {
    z <- (s - f$center) / f$scale
    c(1, z, exp(-rowSums(sweep(f$centres, 2, z)^2) / (2 * f$bandwidth^2)))
  }
  mean_next <- function(i, s, a) {
    s + Reduce(`+`, lapply(1:2, function(k) ps$U[i, k] * ps$W[a, k] * drop(ps$V[[k]] %*% phi(s))))
  }
  reward <- function(s, a, s2) {
    r <- sum(phi(s) * ps$reward.coef$phi[, a]) + sum(ps$reward.coef$next.state * s2)
    min(max(r, ps$reward.range[1]), ps$reward.range[2])
  }
  env <- persim_env(ps)
  i <- 3
  s <- c(0.4, -1.2)
  st <- env_step(env[[i]], s, action = 1, seed = 9)
  s2 <- mean_next(i, s, 2)
  expect_equal(unname(st$state), s2, tolerance = 1e-12)
  expect_equal(st$reward, reward(s, 2, s2), tolerance = 1e-12)
  expect_false(st$done)
  # Deterministic rollout from the individual's first state under "always 1".
  gamma <- 0.7
  s <- unname(ps$initial[i, ])
  v <- 0
  for (t in 1:4) {
    s2 <- mean_next(i, s, 2)
    v <- v + gamma^(t - 1) * reward(s, 2, s2)
    s <- s2
  }
  ev <- evaluate_policy(fixed_policy(1, d), ps, ids = ps$ids[i], num.episodes = 3, horizon = 4,
                        gamma = gamma, seed = 1)
  expect_equal(ev$value, v, tolerance = 1e-10)
  expect_equal(ev$se, 0)
  # The list of environments and the fit give the same evaluation.
  pol <- uniform_policy(c(0, 1), c("s1", "s2"))
  expect_identical(evaluate_policy(pol, ps, num.episodes = 5, horizon = 3, seed = 1),
                   evaluate_policy(pol, env, num.episodes = 5, horizon = 3, seed = 1))
})

test_that("persim() clips states and rewards to the observed ranges and starts as asked", {
  sim <- sim_linear2d(num.per.group = 2, T = 30, seed = 6)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ps <- persim(d, rank = 1, num.centers = 0, seed = 1)
  env <- persim_env(ps)
  st <- env_step(env[[1]], c(1e3, -1e3), action = 0, seed = 1)
  expect_true(all(st$state >= ps$state.range[1, ] & st$state <= ps$state.range[2, ]))
  expect_true(st$reward >= min(d$R) && st$reward <= max(d$R))
  expect_equal(ps$initial, d$S0, ignore_attr = TRUE)
  g <- persim(d, rank = 1, num.centers = 0, initial = "gaussian", seed = 1)
  expect_equal(g$initial.chol %*% t(g$initial.chol), stats::cov(d$S0), tolerance = 1e-8,
               ignore_attr = TRUE)
  expect_equal(ps$initial.chol, matrix(0, 2, 2))
})

test_that("persim() gives clear errors", {
  sim <- sim_linear2d(num.per.group = 1, T = 10, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_error(persim(sim$data), "p4l_data")
  expect_error(persim(d, rank = 0), "rank")
  expect_error(persim(d, num.centers = -1), "num.centers")
  expect_error(persim(d, ridge = -1), "ridge")
  expect_error(persim(d, initial = "x"), "should be one of")
  ps <- persim(d, rank = 1, num.centers = 0, seed = 1)
  expect_error(persim_env(ps, ids = 99), "not fitted on: 99")
  expect_error(persim_env(list()), "persim")
  expect_error(predict(ps), "newdata")
  sim2 <- sim_linear2d(num.per.group = 1, T = 10, seed = 2)
  sim2$data$id <- sim2$data$id + 10
  d2 <- p4l_data(sim2$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_error(predict(ps, d2), "not fitted on")
  expect_output(print(ps), "personalised simulator of rank 1")
  expect_output(print(persim_env(ps)[[1]]), "persim: personalised simulator of individual 1 \\(rank 1")
  expect_warning(persim(d, rank = 2, max.iter = 1, tol = 0, seed = 1), "did not converge")
})

test_that("fixed_policy() takes its action everywhere and checks it", {
  pol <- fixed_policy("b", action.levels = c("a", "b", "c"), state.names = c("x", "y"))
  nd <- data.frame(x = c(-3, 0, 5), y = c(1, 2, -9))
  expect_equal(as.character(predict(pol, nd)), rep("b", 3))
  expect_equal(unname(predict(pol, nd, type = "prob")[, "b"]), rep(1, 3))
  expect_error(fixed_policy("z", action.levels = c("a", "b"), state.names = "x"),
               "must be one of the actions")
  expect_error(fixed_policy("a", action.levels = c("a", "b"), state.names = 1), "state.names")
})

test_that("sim_sepsis_cohort(treatment = ) gives the same stays under a fixed treatment", {
  a <- sim_sepsis_cohort(30, num.blocks = c(4, 6), seed = 11)
  b <- sim_sepsis_cohort(30, num.blocks = c(4, 6), treatment = "fluid high / vaso low", seed = 11)
  expect_identical(a$stays, b$stays)
  expect_identical(a$data$age, b$data$age)
  first <- !duplicated(a$data$icustayid)
  expect_identical(a$data$SOFA[first], b$data$SOFA[first])
  expect_true(all(b$data$input_4hourly > 180))
  expect_true(all(b$data$max_dose_vaso < 0.08))
  expect_error(sim_sepsis_cohort(5, treatment = "fluid huge"), "treatment")
})
