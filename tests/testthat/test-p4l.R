# P4L estimator: closed-form dual and gradients against independent R
# computations, planted clusters, determinism, methods and input checks.

# min c'theta s.t. (b - M theta)' Sigma^-1 (b - M theta) <= alpha^2, by a
# log-barrier Newton method (independent of the closed form).
barrier_solve <- function(st, alpha) {
  Si <- solve(st$Sigma)
  th <- solve(st$M, st$b)  # strictly feasible
  H2 <- 2 * t(st$M) %*% Si %*% st$M
  g <- function(th) { e <- st$b - st$M %*% th; drop(t(e) %*% Si %*% e) }
  obj <- function(th, t) t * sum(st$c * th) - log(alpha^2 - g(th))
  tt <- 1
  for (outer in 1:60) {
    for (it in 1:100) {
      e <- st$b - st$M %*% th
      slack <- alpha^2 - g(th)
      dg <- -2 * t(st$M) %*% Si %*% e
      grad <- tt * st$c + dg / slack
      H <- H2 / slack + dg %*% t(dg) / slack^2
      step <- -solve(H, grad)
      dec <- -sum(grad * step)
      if (dec / 2 < 1e-12) break
      s <- 1
      while (alpha^2 - g(th + s * step) <= 0 || obj(th + s * step, tt) > obj(th, tt) - 0.25 * s * dec) s <- s / 2
      th <- th + s * step
    }
    if (1 / tt < 1e-13) break
    tt <- tt * 4
  }
  drop(th)
}

test_that("the sufficient statistics and the closed-form dual match R and a barrier solve", {
  for (m in 2:3) {
  s <- p4l_small(N.per = 1, T = 15 * m, centers = 2, terminal.frac = 0.1, m = m)
  N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi)
  par <- random_params(N, d, m, 2, seed = 4)
  alpha <- 0.05
  du <- dual_at(s$inp, par$Theta, par$U, alpha = alpha, ridge = 0)
  st <- r_statistics(s$inp, par$Theta, par$U, 0.8)
  expect_equal(du$Sigma, st$Sigma, tolerance = 1e-10)
  expect_equal(du$M, st$M, tolerance = 1e-10)
  expect_equal(du$b, st$b, tolerance = 1e-10)
  expect_equal(du$c, st$c, tolerance = 1e-10)
  th <- barrier_solve(st, alpha)
  expect_equal(du$V, sum(st$c * th), tolerance = 1e-7)
  expect_equal(du$point.value, sum(st$c * solve(st$M, st$b)), tolerance = 1e-10)
  expect_equal(du$theta, th, tolerance = 1e-4)
  # the worst case sits on the boundary of the uncertainty set; lambda = s
  e <- st$b - st$M %*% du$theta
  expect_equal(sqrt(drop(t(e) %*% solve(st$Sigma, e))), alpha, tolerance = 1e-8)
  expect_equal(du$lambda, sqrt(drop(t(du$z) %*% st$Sigma %*% du$z)), tolerance = 1e-10)
  expect_lte(du$V, du$point.value)
  }
})

test_that("every gradient of the pessimistic value matches central finite differences", {
  for (case in list(list(m = 2, r = 3, term = 0, ridge = 1e-6),
                    list(m = 2, r = 2, term = 0.15, ridge = 1e-2),
                    list(m = 3, r = 2, term = 0.1, ridge = 1e-6))) {
    s <- p4l_small(N.per = 1, T = 20, centers = 3, terminal.frac = case$term, seed = 2, m = case$m)
    N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi); r <- case$r
    par <- random_params(N, d, case$m, r, seed = 7)
    g <- dual_at(s$inp, par$Theta, par$U, alpha = 0.2, ridge = case$ridge, grad = TRUE)
    V <- function(Th, U) dual_at(s$inp, Th, U, alpha = 0.2, ridge = case$ridge)$V
    fd <- fd_gradient(V, par$Theta, par$U)
    expect_lt(max(abs(fd$dTheta - g$dTheta)) / max(abs(g$dTheta)), 1e-5)
    expect_lt(max(abs(fd$dU - g$dU)) / max(abs(g$dU)), 1e-5)
  }
})

test_that("ADMM keeps planted clusters and the model start finds the subgroups", {
  sim <- sim_linear2d(num.per.group = 8, T = 60, seed = 5)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 8, seed = 1)
  grp <- as.integer(sim$group[as.character(d$ids)])
  # planted: the three subgroups at the corners of a triangle, plus noise
  set.seed(1)
  corners <- rbind(c(1, 0), c(-0.5, 0.87), c(-0.5, -0.87))
  start <- corners[grp, ] + matrix(rnorm(2 * length(grp), sd = 0.3), ncol = 2)
  fit <- suppressWarnings(p4l(d, K = 3, basis = b, seed = 3, mu = 0.3,
                              control = p4l_control(init = start, max.iter = 60)))
  tab <- table(fit$cluster, grp)
  expect_equal(sum(apply(tab, 1, max)), length(grp))   # clusters = subgroups
  # the default (model) start
  fit2 <- suppressWarnings(p4l(d, K = 3, basis = b, seed = 3, control = p4l_control(max.iter = 60)))
  tab2 <- table(fit2$cluster, grp)
  expect_equal(sum(apply(tab2, 1, max)), length(grp))
  expect_true(all(abs(fit2$U[, 1] - 1) < 1e-12))
  expect_equal(mean(rowSums(fit2$U[, -1]^2)), 1, tolerance = 1e-8)   # unit-RMS gauge
})

p4l_fixture <- function() {
  sim <- sim_linear2d(num.per.group = 4, T = 40, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  list(sim = sim, d = d, b = rbf_basis(d, 6, seed = 1))
}

test_that("p4l() is deterministic, thread-independent and survives saveRDS", {
  fx <- p4l_fixture()
  ctl <- p4l_control(max.iter = 40)
  f1 <- suppressWarnings(p4l(fx$d, K = 3, basis = fx$b, seed = 9, control = ctl, num.threads = 1))
  f2 <- suppressWarnings(p4l(fx$d, K = 3, basis = fx$b, seed = 9, control = ctl, num.threads = 2))
  f3 <- suppressWarnings(p4l(fx$d, K = 3, basis = fx$b, seed = 9, control = ctl, num.threads = 2))
  expect_identical(f2$U, f3$U)
  expect_identical(f2$Theta, f3$Theta)
  # 1 and 2 threads: the same numbers (work is split in fixed chunks)
  expect_identical(f1$U, f2$U)
  expect_identical(f1$Theta, f2$Theta)
  nd <- as.data.frame(fx$d)
  for (type in c("prob", "q")) {
    expect_identical(predict(f1, nd, type = type), predict(f2, nd, type = type))
  }
  expect_identical(predict(f1, nd), predict(f2, nd))
  tmp <- tempfile(fileext = ".rds")
  saveRDS(f2, tmp)
  g <- readRDS(tmp)
  unlink(tmp)
  expect_identical(predict(g, nd, type = "prob"), predict(f2, nd, type = "prob"))
  expect_identical(predict(g, nd, type = "q"), predict(f2, nd, type = "q"))
  # without a basis the seed also fixes the basis
  f4 <- suppressWarnings(p4l(fx$d, K = 2, seed = 4, control = ctl))
  f5 <- suppressWarnings(p4l(fx$d, K = 2, seed = 4, control = ctl))
  expect_identical(f4$U, f5$U)
})

test_that("the p4l_fit object follows the p4l_policy contract", {
  fx <- p4l_fixture()
  fit <- suppressWarnings(p4l(fx$d, K = 3, basis = fx$b, seed = 1,
                              control = p4l_control(max.iter = 30)))
  expect_s3_class(fit, c("p4l_fit", "p4l_policy"))
  N <- length(fx$d$ids); d <- 7; m <- 2
  expect_length(fit$policy.coef, N)
  expect_equal(dim(fit$policy.coef[[1]]), c(d, m))
  expect_true(all(fit$policy.coef[[3]][, 1] == 0))
  i <- 5
  expect_equal(unname(fit$policy.coef[[i]][, 2]), unname(drop(fit$Theta %*% fit$U[i, ])))
  expect_equal(unname(fit$q.coef[[i]][, 2]), unname(drop(fit$W[d + 1:d, ] %*% fit$U[i, ])))
  expect_equal(names(fit$cluster), as.character(fx$d$ids))
  expect_true(all(fit$cluster %in% 1:3))
  expect_equal(nrow(fit$trace), fit$iterations)
  expect_true(all(c("objective", "value", "point.value", "lambda") %in% names(fit$trace)))
  expect_lte(fit$value, fit$point.value)
  expect_equal(fit$lambda, utils::tail(fit$trace$lambda, 1), tolerance = 1e-6)
  # predictions from the contract agree with softmax(psi' Theta_a u_i) computed here
  nd <- data.frame(id = fx$d$ids[c(1, 5, 5)], s1 = c(0, 1, -1), s2 = c(0.5, 0, 2))
  soft <- fit
  soft$greedy <- FALSE
  pr <- predict(soft, nd, type = "prob")
  psi <- predict(fx$b, as.matrix(nd[, c("s1", "s2")]))
  for (k in 1:3) {
    u <- fit$U[as.character(nd$id[k]), ]
    l <- sum(psi[k, ] * (fit$Theta %*% u))
    expect_equal(unname(pr[k, 2]), 1 / (1 + exp(-l)))
  }
  expect_equal(colnames(pr), c("0", "1"))
  expect_equal(predict(fit, nd), c(0, 1)[max.col(pr, ties.method = "first")])
  expect_equal(unname(predict(fit, nd, type = "prob")), diag(2)[max.col(pr, ties.method = "first"), ])
  q <- predict(fit, nd, type = "q")
  expect_equal(dim(q), c(3L, 2L))
  # an id not in the training data gets the population policy (p4l_assign())
  expect_message(a999 <- predict(fit, data.frame(id = 999, s1 = 0, s2 = 0), type = "prob"),
                 "999\\) placed by p4l_assign\\(\\): population rule")
  pop <- p4l_assign(fit, data.frame(id = 999), new.individuals = "population")
  expect_equal(a999, predict(pop, data.frame(id = 999, s1 = 0, s2 = 0), type = "prob"))
  expect_error(predict(fit, data.frame(s1 = 0, s2 = 0)), "needs the id column")
  ev <- evaluate_policy(fit, fx$sim$env, num.episodes = 20, horizon = 10, seed = 1)
  expect_equal(nrow(ev), N)
  expect_true(all(is.finite(ev$value)))
  expect_equal(length(coef(fit)), N)
  expect_named(coef(fit, "shared"), c("Theta", "W"))
  expect_equal(coef(fit, "latent")$U, fit$U)
})

test_that("print, summary and plots work", {
  fx <- p4l_fixture()
  fit <- suppressWarnings(p4l(fx$d, K = 3, basis = fx$b, seed = 1,
                              control = p4l_control(max.iter = 5)))
  expect_false(fit$converged)
  expect_output(print(fit), "P4L policies for 12 individuals in 3 clusters")
  s <- summary(fit)
  expect_s3_class(s, "summary.p4l_fit")
  expect_equal(sum(s$cluster.sizes), 12)
  expect_output(print(s), "pessimistic value")
  expect_output(print(s), "warning: did not converge")
  expect_output(print(s), "alpha = .* \\(default\\)")
  f <- tempfile(fileext = ".pdf")
  grDevices::pdf(f)
  for (type in c("convergence", "latent", "policy")) {
    expect_identical(plot(fit, type, grid.size = 10), fit)
  }
  grDevices::dev.off()
  unlink(f)
  expect_warning(p4l(fx$d, K = 3, basis = fx$b, seed = 1, control = p4l_control(max.iter = 2)),
                 "did not converge in 2 iterations")
})

test_that("p4l() validates its arguments", {
  fx <- p4l_fixture()
  expect_error(p4l(fx$sim$data), "must be a p4l_data object")
  expect_error(p4l(fx$d, K = 13), "`K` must be between 1 and 12")
  expect_error(p4l(fx$d, K = 0), "`K` must be between")
  expect_error(p4l(fx$d, K = 2, rank = 1), "`rank = 1` gives every individual")
  expect_error(p4l(fx$d, alpha = -1), "`alpha` must be in")
  expect_error(p4l(fx$d, mu = NA), "`mu` must be a single finite number")
  expect_error(p4l(fx$d, gamma = 1), "`gamma` must be in")
  expect_error(p4l(fx$d, control = list()), "made by p4l_control")
  expect_error(p4l_control(rho = 0), "`rho` must be in")
  expect_error(p4l_control(init = "pca"), "`init` must be")
  expect_error(p4l(fx$d, K = 3, control = p4l_control(init = matrix(0, 2, 2))),
               "must be an N x \\(rank - 1\\) matrix: 12 x 2")
  expect_error(p4l(fx$d, K = "many"), "`K` must be a single whole number")
  # K = 1, rank = 1: one shared policy
  f1 <- suppressWarnings(p4l(fx$d, K = 1, basis = fx$b, seed = 1,
                             control = p4l_control(max.iter = 20)))
  expect_true(all(f1$cluster == 1))
  expect_equal(f1$policy.coef[[1]], f1$policy.coef[[7]])
})

# ---------------------------------------------------------------------------
# Long statistical checks (P4L_TEST_LEVEL=2); figures in bench/README.md.

p4l_quality <- function(groups, seed) {
  sim <- sim_linear2d(num.per.group = 20, T = 100, groups = groups, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- p4l(d, K = 3, seed = 1)
  ev <- evaluate_policy(fit, sim$env, num.episodes = 500, seed = 1)
  grp <- sim$group[as.character(ev$id)]
  list(fit = fit, sim = sim, value = tapply(ev$value, grp, mean),
       opt = stats::setNames(linear2d_optimum(groups, grid.size = 121)$value, rownames(groups)))
}

test_that("P4L reaches the subgroup optima on the paper's 2-D study", {
  skip_if_quick()
  q <- p4l_quality(linear2d_groups(), seed = 11)
  expect_true(all(q$value >= q$opt - 0.03), info = paste(format(q$value), collapse = " "))
})

test_that("P4L isolates and solves a reward-reversed subgroup", {
  skip_if_quick()
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1
  q <- p4l_quality(g, seed = 12)
  expect_true(all(q$value >= q$opt - 0.05), info = paste(format(q$value), collapse = " "))
  tab <- table(q$fit$cluster, q$sim$group[names(q$fit$cluster)])
  k <- which.max(tab[, "c"])
  expect_equal(tab[k, "c"], 20L)
  expect_equal(sum(tab[k, ]), 20L)
})

test_that("K = \"auto\" takes the number of subgroups from select_groups()", {
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = 11)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  groups <- select_groups(d)
  fit <- suppressWarnings(p4l(d, K = "auto", seed = 1, control = p4l_control(max.iter = 30)))
  expect_identical(fit$K, groups$K)
  expect_identical(fit$groups, groups)
  expect_equal(fit$rank, groups$K)
  ac <- acpi(d, K = "auto", basis = fit$basis, seed = 1)
  expect_length(unique(ac$cluster), groups$K)
  expect_output(print(fit), "K chosen by select_groups\\(\\), method \"kde\"")
  fixed <- suppressWarnings(p4l(d, K = 3, seed = 1, control = p4l_control(max.iter = 5)))
  expect_false(any(grepl("K chosen by", capture.output(print(fixed)))))
})

test_that("the model start's per-individual ridge fits match solve() in R", {
  s <- p4l_small(N.per = 3, T = 25, centers = 2, seed = 5)
  d <- s$d
  set.seed(3)
  N <- length(d$ids); k <- 3
  X <- cbind(1, matrix(rnorm(300 * 2), 300))
  y <- rnorm(300)
  g <- sample(c(1:(N - 2), N), 300, replace = TRUE)   # individual N - 1 has no rows
  pooled <- c(0.5, -1, 2)
  B1 <- p4l:::group_ridge_cpp(X, y, g - 1L, N, pooled, 2.5, 1L)
  expect_identical(p4l:::group_ridge_cpp(X, y, g - 1L, N, pooled, 2.5, 2L), B1)
  for (th in 1:2) {
    B <- p4l:::group_ridge_cpp(X, y, g - 1L, N, pooled, 2.5, th)
    for (i in seq_len(N)) {
      Xi <- X[g == i, , drop = FALSE]
      ref <- if (nrow(Xi) == 0) pooled else
        solve(crossprod(Xi) + diag(2.5, k), crossprod(Xi, y[g == i]) + 2.5 * pooled)
      expect_equal(B[i, ], as.numeric(ref), tolerance = 1e-12)
    }
  }
  # the whole model start: per action, (R, S') on (1, S) for one individual
  Z <- p4l:::p4l_model_coefficients(d, 1)
  expect_equal(dim(Z), c(N, 2 * 3 * 3))
  S <- scale(d$S)
  Xall <- cbind(1, S)
  Sn <- sweep(sweep(d$S_next, 2, attr(S, "scaled:center")), 2, attr(S, "scaled:scale"), "/")
  rows <- which(d$A == 2 & !d$terminal)
  pooled <- qr.coef(qr(Xall[rows, ]), Sn[rows, 1])
  sdr <- sd(Sn[rows, 1] - Xall[rows, ] %*% pooled)
  i <- 4
  ri <- rows[d$individual[rows] == i]
  ref <- solve(crossprod(Xall[ri, ]) + diag(3), crossprod(Xall[ri, ], Sn[ri, 1]) + pooled) / sdr
  # columns: action 2 (offset 9), response S'_1 (second response, offset 3)
  expect_equal(Z[i, 9 + 3 + 1:3], as.numeric(ref), tolerance = 1e-10)
})

test_that("Ctrl-C (SIGINT) stops a long fit with an R error within about a second", {
  skip_on_os("windows")
  dir <- tempfile("p4l-int")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  f <- function(x) file.path(dir, x)
  # The child fits a long problem (tol = 1e-300: it does not converge) and reports how
  # the fit ended and when; the parent sends SIGINT once the fit is running.
  code <- c(
    sprintf(".libPaths(%s)", paste(deparse(.libPaths()), collapse = "")),
    "suppressPackageStartupMessages(library(p4l))",
    "sim <- sim_linear2d(num.per.group = 100, T = 100, seed = 1)",
    "d <- p4l_data(sim$data, 'id', 'time', 'action', 'reward', c('s1', 's2'))",
    "b <- rbf_basis(d, 16, seed = 1)",
    sprintf("writeLines(as.character(Sys.getpid()), %s)", deparse(f("started"))),
    "t0 <- Sys.time()",
    "out <- tryCatch({",
    "  p4l(d, K = 3, basis = b, seed = 1, num.threads = 1,",
    "      control = p4l_control(max.iter = 100000, tol = 1e-300))",
    "  'finished'",
    "}, error = function(e) conditionMessage(e), interrupt = function(e) 'interrupt condition')",
    sprintf("writeLines(c(out, format(as.numeric(Sys.time()), digits = 15)), %s)", deparse(f("result"))))
  writeLines(code, f("child.R"))
  system2(file.path(R.home("bin"), "Rscript"), f("child.R"), wait = FALSE,
          stdout = f("log"), stderr = f("log"))
  wait_for <- function(path, secs) {
    t0 <- Sys.time()
    while (!file.exists(path) && difftime(Sys.time(), t0, units = "secs") < secs) Sys.sleep(0.05)
    file.exists(path)
  }
  expect_true(wait_for(f("started"), 120))
  pid <- as.integer(readLines(f("started")))
  Sys.sleep(1.5)  # inside the ADMM iterations by now
  t.sig <- as.numeric(Sys.time())
  tools::pskill(pid, tools::SIGINT)
  got <- wait_for(f("result"), 30)
  if (!got) tools::pskill(pid, tools::SIGKILL)
  expect_true(got)
  res <- readLines(f("result"))
  expect_equal(res[1], "p4l() interrupted by the user")
  expect_lt(as.numeric(res[2]) - t.sig, 2)
})

test_that("the stochastic path of Algorithm 1 approaches the closed-form dual", {
  s <- p4l_small(N.per = 2, T = 50, centers = 3, seed = 1)
  N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi)
  set.seed(2)
  Theta <- matrix(rnorm(d * 2, sd = 0.5), d, 2)
  U <- cbind(1, rnorm(N))
  ex <- dual_at(s$inp, Theta, U, alpha = 0.1)
  run <- function(k) {
    p4l:::p4l_sgd_dual_cpp(s$inp$transitions, s$inp$psi0, Theta, U, 0.8, 0.1,
                           p4l_sgd_control(), iterations = k, trace_every = 0,
                           dual_ridge = 1e-6, seed = 3)
  }
  # Q weights compared in the Sigma metric (the Q-function on the data)
  err <- function(th) sqrt(drop(t(th - ex$theta) %*% ex$Sigma %*% (th - ex$theta)) /
                             drop(t(ex$theta) %*% ex$Sigma %*% ex$theta))
  short <- run(1000)
  long <- run(16000)
  # closer with more iterations (the error shrinks about as 1 / sqrt(k))
  expect_lt(abs(long$V - ex$V), 0.6 * abs(short$V - ex$V))
  expect_lt(err(long$theta), 0.6 * err(short$theta))
  # and close to the closed form after 16,000 minibatch steps
  expect_lt(abs(long$V - ex$V), 0.04 * abs(ex$V))
  expect_lt(abs(long$lambda - ex$lambda), 0.01 * ex$lambda)
  expect_lt(err(long$theta), 0.04)
  # the worst case sits (nearly) on the boundary ||b - M theta||_{Sigma^-1} = alpha
  expect_lt(abs(long$constraint - 0.1), 0.02)
})

sgd_outer_gradient <- function(s, pp, ex, alpha, per.individual, per.initial, seed = 1) {
  p4l:::p4l_sgd_outer_gradient_cpp(s$inp$transitions, s$inp$psi0, pp$Theta, pp$U, 0.8, alpha,
                                   ex$theta, ex$z, as.integer(per.individual),
                                   as.integer(per.initial), 1e-10, seed)
}

test_that("the minibatch gradient (24) is the exact gradient at the saddle point, unbiased", {
  for (case in list(list(m = 2, tf = 0), list(m = 3, tf = 0.1))) {
    s <- p4l_small(N.per = 2, T = 20, centers = 3, seed = 1, terminal.frac = case$tf, m = case$m)
    N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi)
    pp <- random_params(N, d, case$m, 2, 4)
    ex <- dual_at(s$inp, pp$Theta, pp$U, alpha = 0.15, ridge = 1e-10, grad = TRUE)
    # every transition and initial state once: the Lagrangian's gradient at
    # (theta*, lambda beta*) equals the closed-form gradient of V (solver.md)
    full <- sgd_outer_gradient(s, pp, ex, 0.15, 1e4, 1e4)
    expect_equal(full$L, ex$V, tolerance = 1e-7)
    expect_equal(full$dTheta, ex$dTheta, tolerance = 1e-7)
    expect_equal(full$dU, ex$dU, tolerance = 1e-6)
    # minibatches (4 transitions and 3 initial states per individual): the
    # mean over 300 draws is within 4 standard errors of the exact gradient
    draws <- vapply(seq_len(300), function(k) {
      o <- sgd_outer_gradient(s, pp, ex, 0.15, 4, 3, seed = k)
      c(o$dTheta, o$dU, o$L)
    }, numeric(length(ex$dTheta) + length(ex$dU) + 1L))
    se <- apply(draws, 1, stats::sd) / sqrt(ncol(draws))
    z <- (rowMeans(draws) - c(ex$dTheta, ex$dU, ex$V)) / pmax(se, 1e-12)
    expect_lt(max(abs(z)), 4.5)
    expect_gt(min(se[-length(se)][abs(c(ex$dTheta, ex$dU)) > 1e-8]), 0)  # really stochastic
  }
})

test_that("p4l(solver = 'sgd') approaches the closed-form fit on a small problem", {
  sim <- sim_linear2d(num.per.group = 3, T = 60, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 4, seed = 1)
  fc <- p4l(d, K = 3, basis = b, seed = 1, num.threads = 1)
  expect_true(fc$converged)
  expect_identical(fc$solver, "closed")
  grid <- expand.grid(s1 = seq(-2, 2, length.out = 15), s2 = seq(-2, 2, length.out = 15))
  nd <- cbind(id = rep(d$ids, each = nrow(grid)), grid[rep(seq_len(nrow(grid)), length(d$ids)), ])
  sgd_fit <- function(it) {
    suppressWarnings(p4l(d, K = 3, basis = b, seed = 1, num.threads = 1, solver = "sgd",
                         control = p4l_control(max.iter = it)))
  }
  short <- sgd_fit(50)
  long <- sgd_fit(600)
  expect_identical(long$solver, "sgd")
  expect_equal(nrow(long$trace), 600L)
  expect_lt(long$sgd.step.scale, 100)
  # value is the closed form at each fit's final policy: the gap to the
  # closed-form optimum shrinks with the iterations and ends small
  gap <- function(f) fc$value - f$value
  expect_lt(gap(long), 0.4 * gap(short))
  expect_lt(abs(gap(long)), 0.03)
  # the same grouping and nearly the same policies
  expect_equal(unname(as.integer(table(long$cluster, fc$cluster) > 0)), as.integer(diag(3) > 0))
  expect_gt(mean(predict(long, nd) == predict(fc, nd)), 0.95)
  expect_lt(mean(abs(predict(long, nd, type = "prob") - predict(fc, nd, type = "prob"))), 0.05)
  # the minibatch estimates of the trace follow the exact value
  expect_lt(abs(mean(utils::tail(long$trace$value, 50)) - long$value), 0.05)
  # deterministic for a seed, whatever the thread count
  again <- suppressWarnings(p4l(d, K = 3, basis = b, seed = 1, num.threads = 2, solver = "sgd",
                                control = p4l_control(max.iter = 50)))
  expect_identical(again$Theta, short$Theta)
  expect_identical(again$U, short$U)
})

test_that("p4l(solver = 'sgd') checks its argument and warns on an ill-conditioned basis", {
  sim <- sim_linear2d(num.per.group = 3, T = 60, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_error(p4l(d, K = 3, seed = 1, solver = "adam"), "`solver` must be")
  expect_error(p4l_control(sgd.inner = 0), "sgd.inner")
  expect_error(p4l_control(sgd.step = -1), "sgd.step")
  expect_warning(p4l(d, K = 3, seed = 1, num.threads = 1, solver = "sgd",
                     control = p4l_control(max.iter = 2, init.policy = "uniform")),
                 "minibatch noise is large")
})

test_that("the stochastic settings nest in p4l_sgd_control(); the flat names still work", {
  expect_identical(p4l_control(sgd.inner = 50, sgd.step = 0.3, sgd.batch.initial = 8)$sgd,
                   p4l_control(sgd = p4l_sgd_control(inner = 50, step = 0.3,
                                                     batch.initial = 8))$sgd)
  # a flat name replaces that setting of `sgd` and keeps the others
  ctl <- p4l_control(sgd = p4l_sgd_control(inner = 50), sgd.decay = 5)
  expect_identical(c(ctl$sgd$inner, ctl$sgd$decay), c(50, 5))
  expect_error(p4l_control(sgd = list(inner = 5)), "p4l_sgd_control")
  expect_error(p4l_sgd_control(step = 0), "`step`")
  expect_error(p4l_sgd_control(extragradient = NA), "`extragradient`")
})

test_that("a missing or unknown control setting is an error naming it", {
  sim <- sim_linear2d(num.per.group = 2, T = 20, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ctl <- p4l_control(max.iter = 2)
  ctl$max.iters <- 10
  expect_error(p4l(d, K = 2, seed = 1, control = ctl), "unknown setting `max.iters`")
  ctl <- p4l_control(max.iter = 2)
  ctl$armijo <- NULL
  expect_error(p4l(d, K = 2, seed = 1, control = ctl), "no setting `armijo`")
  ctl <- p4l_control(max.iter = 2)
  ctl$sgd$step.polcy <- 1
  expect_error(p4l(d, K = 2, seed = 1, control = ctl), "unknown setting `step.polcy`")
  ctl <- p4l_control(max.iter = 2)
  ctl$tol <- "small"
  expect_error(p4l(d, K = 2, seed = 1, control = ctl), "control\\$tol")
  fctl <- fqi_control()
  fctl$tol <- NULL
  expect_error(fqi(d, seed = 1, control = fctl), "no setting `tol`")
  actl <- acpi_control()
  actl$num.lambdas <- 3
  expect_error(acpi(d, seed = 1, control = actl), "unknown setting `num.lambdas`")
  vctl <- vlearning_control()
  vctl$max.iter <- NULL
  expect_error(vlearning(d, seed = 1, control = vctl), "no setting `max.iter`")
})

test_that("init.policy = 'fqi' starts at the pooled FQI greedy policy", {
  sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 11)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- suppressWarnings(p4l(d, K = 2, seed = 5, num.threads = 1,
                              control = p4l_control(max.iter = 5, init.policy = "fqi",
                                                    init.policy.scale = 7)))
  expect_identical(fit$init.policy, "fqi")
  th <- fit$Theta.init
  expect_equal(dim(th), dim(fit$Theta))
  expect_true(all(th[, -1] == 0))
  # Reference in R: the pooled FQI on the same basis and discount, its
  # Q-differences on the observed states, and its greedy actions.
  fq <- fqi(d, gamma = fit$gamma, basis = fit$basis, num.threads = 1)
  W <- fq$q.coef[[1]]
  S <- d$S
  colnames(S) <- d$state.names
  b <- fit$basis
  z <- sweep(sweep(S, 2, b$shift), 2, b$scale, "/")
  psi <- cbind(1, sapply(seq_len(nrow(b$centers)), function(j) {
    exp(-rowSums(sweep(z, 2, b$centers[j, ])^2) / (2 * b$bandwidth^2))
  }))
  qdiff <- as.numeric(psi %*% (W[, 2] - W[, 1]))
  logits <- as.numeric(psi %*% th[, 1])
  expect_equal(sqrt(mean(logits^2)), 7, tolerance = 1e-8)
  expect_equal(logits, qdiff * 7 / sqrt(mean(qdiff^2)), tolerance = 1e-6)
  greedy.fqi <- as.character(predict(fq, as.data.frame(S), type = "action"))
  start.action <- ifelse(logits > 0, as.character(d$action.levels[2]),
                         as.character(d$action.levels[1]))
  expect_identical(start.action, greedy.fqi)
  expect_gt(length(unique(start.action)), 1L)  # not a constant policy
  # The uniform start keeps no Theta.init; the behaviour start is the default.
  fit0 <- suppressWarnings(p4l(d, K = 2, seed = 5, num.threads = 1,
                               control = p4l_control(max.iter = 5, init.policy = "uniform")))
  expect_identical(fit0$init.policy, "uniform")
  expect_null(fit0$Theta.init)
  expect_identical(p4l_control()$init.policy, "behaviour")
  # ridge = NULL: set from gamma for the behaviour start, 1e-5 for the others
  expect_null(p4l_control()$ridge)
  for (g in c(0.5, 0.8, 0.99)) {
    expect_equal(p4l:::p4l_resolve_control(p4l_control(), g, 10)$ridge, 1e-5 / (1 - g))
    expect_identical(p4l:::p4l_resolve_control(p4l_control(init.policy = "uniform"), g, 10)$ridge, 1e-5)
    expect_identical(p4l:::p4l_resolve_control(p4l_control(init.policy = "fqi"), g, 10)$ridge, 1e-5)
    expect_identical(p4l:::p4l_resolve_control(p4l_control(ridge = 0), g, 10)$ridge, 0)
  }
  expect_equal(fit0$control$ridge, 1e-5)
  # max.initial = NULL: 1000, 4e6 / N between 4,000 and 16,000 individuals, 250 above
  mi <- function(N, ...) p4l:::p4l_resolve_control(p4l_control(...), 0.9, N)$max.initial
  expect_identical(c(mi(10), mi(4000), mi(8000), mi(16000), mi(1e5)),
                   c(1000L, 1000L, 500L, 250L, 250L))
  expect_identical(mi(1e5, max.initial = 0), 0L)
  expect_null(p4l_control()$max.initial)
  expect_identical(fit0$control$max.initial, 1000L)
  fit1 <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, seed = 5, num.threads = 1,
                               control = p4l_control(max.iter = 5)))
  expect_equal(fit1$control$ridge, 1e-4)
  # the resolved number is the one the core used: the same fit as when it is given
  fit2 <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, seed = 5, num.threads = 1,
                               control = p4l_control(max.iter = 5, ridge = 1e-5 / (1 - 0.9))))
  expect_identical(fit1$Theta, fit2$Theta)
  expect_error(p4l_control(init.policy = "greedy"), "should be one of")
  expect_error(p4l_control(init.policy.scale = 0), "init.policy.scale")
})

test_that("ridge.center = 'init' penalises the distance from the starting policy", {
  sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 11)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ctl <- function(...) p4l_control(max.iter = 30, ridge = 1e-3, ...)
  fi <- suppressWarnings(p4l(d, K = 1, seed = 5, num.threads = 1,
                             control = ctl(init.policy = "fqi", ridge.center = "init")))
  fz <- suppressWarnings(p4l(d, K = 1, seed = 5, num.threads = 1,
                             control = ctl(init.policy = "fqi", ridge.center = "zero")))
  # The reported objective is the value minus the ridge at its centre (K = 1: no
  # clustering penalty), recomputed here from the fit's parameters.
  pen <- function(f, centre) 1e-3 * sum((unclass(f$Theta) - centre)^2)
  expect_equal(fi$objective, fi$trace$value[nrow(fi$trace)] - pen(fi, unclass(fi$Theta.init)) -
                 fi$penalty, tolerance = 1e-10)
  expect_equal(fz$objective, fz$trace$value[nrow(fz$trace)] - pen(fz, 0) - fz$penalty,
               tolerance = 1e-10)
  # Centred at the start, Theta stays nearer the FQI start than with the zero centre.
  expect_lt(sum((fi$Theta - fi$Theta.init)^2), sum((fz$Theta - fz$Theta.init)^2))
  # From the uniform start (Theta_0 = 0) both centres are the same fit.
  u1 <- suppressWarnings(p4l(d, K = 2, seed = 5, num.threads = 1,
                             control = ctl(init.policy = "uniform")))
  u2 <- suppressWarnings(p4l(d, K = 2, seed = 5, num.threads = 1,
                             control = ctl(init.policy = "uniform", ridge.center = "zero")))
  expect_identical(u1$Theta, u2$Theta)
  expect_identical(u1$value, u2$value)
  expect_error(p4l_control(ridge.center = "start"), "should be one of")
})

test_that("init.policy = 'behaviour' starts at the fitted behaviour model", {
  sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 12)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- suppressWarnings(p4l(d, K = 2, seed = 5, num.threads = 1,
                              control = p4l_control(max.iter = 5, init.policy = "behaviour")))
  expect_identical(fit$init.policy, "behaviour")
  bp <- behaviour_policy(d, basis = fit$basis, ridge = 1e-4, num.threads = 1)
  W <- bp$policy.coef[[1]]
  th <- fit$Theta.init
  expect_equal(unname(th[, 1]), as.numeric(W[, -1]), tolerance = 1e-10)
  expect_true(all(th[, -1] == 0))
  # Its logits at the observed states are the behaviour model's.
  S <- as.data.frame(d$S)
  names(S) <- d$state.names
  expect_equal(unname(predict(bp, S, type = "prob")[, 2]),
               unname(plogis(basis_features(fit$basis, d$S, 1L) %*% th[, 1])[, 1]),
               tolerance = 1e-10)
})

test_that("the initial-state term over several tiles of states matches R and finite differences", {
  # 75 individuals and 75 shared initial states: more than one tile of states
  # in the core (64 states per tile with 2 actions, 42 with 3), the last one
  # partial; c (the initial-state vector) against the R reference, and the
  # gradient against central differences along random directions.
  for (m in 2:3) {
    s <- p4l_small(N.per = 25, T = 4, centers = 2, seed = 3, m = m)
    N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi)
    expect_gt(nrow(s$inp$psi0), if (m == 2) 64 else 42)
    par <- random_params(N, d, m, 2, seed = 11)
    du <- dual_at(s$inp, par$Theta, par$U, alpha = 0.1, ridge = 1e-6, grad = TRUE)
    st <- r_statistics(s$inp, par$Theta, par$U, 0.8)
    expect_equal(du$c, st$c, tolerance = 1e-10)
    V <- function(Th, U) dual_at(s$inp, Th, U, alpha = 0.1, ridge = 1e-6)$V
    expect_directional_fd(V, par, du, seed = m)
  }
})

test_that("subsampled initial states: each block of individuals has its own window", {
  # 150 individuals and 150 initial states, windows of 40 (the block of
  # individuals from j0 starts at position j0 40 / 64): c against the R
  # reference over each individual's own rows, the gradient against central
  # differences, the same for 1 and 2 threads, and which states are used.
  s <- p4l_small(N.per = 50, T = 4, centers = 2, seed = 5, m = 2)
  N <- length(s$d$ids); d <- ncol(s$inp$transitions$psi)
  n0 <- nrow(s$inp$psi0)
  expect_equal(N, 150)
  par <- random_params(N, d, 2, 2, seed = 12)
  du <- dual_at(s$inp, par$Theta, par$U, alpha = 0.1, ridge = 1e-6, grad = TRUE,
                max.initial = 40, seed = 3)
  expect_equal(du$initial.window, 40L)
  expect_setequal(du$initial.rows, seq_len(n0))  # a permutation of all rows
  expect_false(identical(du$initial.rows, seq_len(n0)))
  rows <- lapply(du$initial.offsets, function(o) du$initial.rows[(o + 0:39) %% n0 + 1])
  # the windows move with the individuals: the first and the last are disjoint
  expect_gt(length(unique(du$initial.offsets)), 2L)
  expect_identical(du$initial.offsets[1], 0L)
  expect_length(intersect(rows[[1]], rows[[N]]), 0L)
  st <- r_statistics(s$inp, par$Theta, par$U, 0.8, nu.rows = rows)
  expect_equal(du$c, st$c, tolerance = 1e-10)
  du0 <- dual_at(s$inp, par$Theta, par$U, alpha = 0.1, ridge = 0, max.initial = 40, seed = 3)
  expect_equal(du0$M, st$M, tolerance = 1e-10)
  expect_false(isTRUE(all.equal(du$c, r_statistics(s$inp, par$Theta, par$U, 0.8)$c)))
  V <- function(Th, U) dual_at(s$inp, Th, U, alpha = 0.1, ridge = 1e-6, max.initial = 40,
                               seed = 3)$V
  expect_directional_fd(V, par, du, seed = 4)
  du2 <- dual_at(s$inp, par$Theta, par$U, alpha = 0.1, ridge = 1e-6, grad = TRUE,
                 max.initial = 40, seed = 3, threads = 2L)
  expect_identical(du2$V, du$V)
  expect_identical(du2$dU, du$dU)
  # windows of 40 from positions up to 149 x 40 / 64 leave some of the 150
  # states unused; windows of 60 (149 x 60 / 64 + 60 >= 150) use every state
  expect_lt(length(unique(unlist(rows))), n0)
  du60 <- dual_at(s$inp, par$Theta, par$U, max.initial = 60, seed = 3)
  rows60 <- lapply(du60$initial.offsets, function(o) du60$initial.rows[(o + 0:59) %% n0 + 1])
  expect_setequal(unique(unlist(rows60)), seq_len(n0))
  # no subsampling (max.initial >= the number of states): every individual uses every row
  all0 <- dual_at(s$inp, par$Theta, par$U, max.initial = 150, seed = 3)
  expect_identical(all0$initial.rows, seq_len(n0))
  expect_true(all(all0$initial.offsets == 0L))
})

test_that("the batched cross-product and accumulation kernels match R in both transcriptions", {
  set.seed(9)
  for (T in c(0L, 1L, 2L, 3L, 5L, 13L)) for (d in c(1L, 4L, 9L, 16L, 17L)) {
    A <- matrix(rnorm(T * d), T, d)
    B <- matrix(rnorm(T * (d + 2L)), T, d + 2L)
    W <- matrix(runif(T * 3L), T, 3L)
    ref <- lapply(1:3, function(q) crossprod(A, W[, q] * B))
    for (kind in c("portable", "avx2")) {
      got <- p4l:::weighted_crossprods_cpp(A, B, W, kind)
      if (is.null(got)) next
      expect_equal(got, ref, tolerance = 1e-13)
    }
  }
  for (len in c(1L, 3L, 4L, 7L, 2304L)) for (nw in 1:5) {
    x <- rnorm(len)
    Y <- matrix(rnorm(len * nw), len, nw)
    w <- rnorm(nw)
    ref <- Y + outer(x, w)
    for (kind in c("portable", "avx2")) {
      got <- p4l:::scaled_accumulate_cpp(x, Y, w, kind)
      if (!is.null(got)) expect_equal(got, ref, tolerance = 1e-14)
    }
  }
  expect_null(p4l:::weighted_crossprods_cpp(A, B, W, "none"))
})

test_that("the default alpha and mu follow their documented rates", {
  # alpha = sd(R) max(sqrt(p r / n), 0.2) for the shared W (the floor on the
  # first data set, the rate on the second); mu = sqrt(p r N / n), the rate of
  # one individual's n / N transitions, at least 0.05 (no upper cap)
  for (T in c(200, 10)) {
    sim <- sim_linear2d(num.per.group = 2, T = T, seed = 2)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    b <- rbf_basis(d, 3, seed = 1)
    fit <- suppressWarnings(p4l(d, K = 2, basis = b, seed = 1, control = p4l_control(max.iter = 2)))
    p <- length(d$action.levels) * 4   # 3 centres and the intercept per action
    n <- length(d$R)
    N <- length(d$ids)
    expect_equal(nrow(fit$W), p)
    expect_equal(fit$alpha, sd(d$R) * max(sqrt(p * 2 / n), 0.2))
    if (T == 200) expect_equal(fit$alpha, 0.2 * sd(d$R)) else expect_gt(fit$alpha, 0.2 * sd(d$R))
    expect_equal(fit$mu, max(0.05, sqrt(p * 2 * N / n)))
    expect_true(fit$alpha.default && fit$mu.default)
    # 200 steps per individual: sqrt(16 / 200) = 0.28; 10 steps: sqrt(16 / 10) = 1.26
    if (T == 200) expect_lt(fit$mu, 1) else expect_gt(fit$mu, 1)
  }
})
