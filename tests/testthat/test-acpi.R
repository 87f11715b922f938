# Policy iteration in R: LSTD-Q of the uniform policy, then greedy improvements.
lspi_reference <- function(d, psi, psin, rows, gamma, ridge, max.iter = 50) {
  dd <- ncol(psi); m <- 2L
  phi <- function(x, a) { out <- matrix(0, nrow(x), dd * m); for (k in 1:m) out[a == k, (k - 1) * dd + 1:dd] <- x[a == k, ]; out }
  X <- phi(psi[rows, , drop = FALSE], d$A[rows])
  live <- !d$terminal[rows]
  lstd <- function(pnext) {
    Xb <- matrix(0, length(rows), dd * m)
    for (k in 1:m) Xb[, (k - 1) * dd + 1:dd] <- psin[rows, , drop = FALSE] * pnext[, k] * live
    A <- crossprod(X, X - gamma * Xb) + ridge * length(rows) * diag(dd * m)
    matrix(solve(A, crossprod(X, d$R[rows])), dd, m)
  }
  W <- lstd(matrix(0.5, length(rows), 2))
  act <- max.col(psin[rows, , drop = FALSE] %*% W, ties.method = "first")
  for (it in seq_len(max.iter)) {
    W <- lstd(diag(2)[act, , drop = FALSE])
    new <- max.col(psin[rows, , drop = FALSE] %*% W, ties.method = "first")
    if (all(new[live] == act[live])) break
    act <- new
  }
  W
}

test_that("ACPI with the true clusters equals per-cluster policy iteration", {
  sim <- sim_linear2d(num.per.group = 4, T = 50, seed = 8)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 8, seed = 1)
  fit <- acpi(d, basis = b, clusters = sim$group, ridge = 1e-3)
  expect_equal(unname(fit$cluster), as.integer(sim$group))
  expect_equal(length(fit$policy.coef), 3L)
  psi <- predict(b, d$S); psin <- predict(b, d$S_next)
  for (k in 1:3) {
    rows <- which(sim$group[d$individual] == levels(sim$group)[k])
    ref <- lspi_reference(d, psi, psin, rows, 0.8, 1e-3)
    expect_equal(unname(fit$q.coef[[k]]), ref, tolerance = 1e-8)
  }
  # clusters named by id in another order give the same fit
  shuffled <- rev(sim$group)
  fit2 <- acpi(d, basis = b, clusters = shuffled, ridge = 1e-3)
  expect_equal(fit2$q.coef, fit$q.coef)
})

test_that("ACPI recovers reward-reversed subgroups and beats pooled fits on them", {
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1
  sim <- sim_linear2d(num.per.group = 20, T = 100, groups = g, seed = 3)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- acpi(d, K = 3, seed = 1)
  tab <- table(fit$cluster, sim$group)
  expect_true(any(tab[, "c"] >= 18 & rowSums(tab) - tab[, "c"] <= 2))
  fit1 <- acpi(d, K = 3, seed = 1, num.threads = 1)
  expect_identical(fit1$q.coef, fit$q.coef)
  ids <- names(sim$group)[sim$group == "c"][1:3]
  v.acpi <- mean(evaluate_policy(fit, sim$env, ids = ids, num.episodes = 300, seed = 1)$value)
  v.fqi <- mean(evaluate_policy(fqi(d, seed = 1), sim$env, ids = ids, num.episodes = 300,
                                seed = 1)$value)
  expect_gt(v.acpi, v.fqi + 1)
})

test_that("acpi() works downstream and rejects bad input", {
  sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  fit <- acpi(d, K = 2, seed = 1)
  expect_s3_class(fit, c("acpi_fit", "p4l_policy"))
  expect_equal(length(unique(fit$cluster)), 2L)
  expect_equal(fit$slot, fit$cluster)
  nd <- data.frame(id = c(1, 9), s1 = 0.5, s2 = -0.5)
  expect_equal(dim(predict(fit, nd, type = "q")), c(2L, 2L))
  expect_error(predict(fit, nd[, -1]), "id column")
  expect_output(print(summary(fit)), "cluster sizes")
  expect_equal(nrow(evaluate_policy(fit, sim$env, num.episodes = 10, seed = 1)), 9L)
  pdf(NULL); on.exit(grDevices::dev.off())
  expect_silent(plot(fit, grid.size = 10))
  expect_error(acpi(d, K = 0), "`K`")
  expect_error(acpi(d, K = 10), "`K`")
  expect_error(acpi(d, clusters = 1:3), "`clusters`")
  expect_error(acpi(d, clusters = stats::setNames(rep(1, 9), 11:19)), "`clusters`")
  expect_error(acpi(d, gamma = 2), "`gamma`")
  expect_error(acpi_control(mcp.gamma = 1), "`mcp.gamma`")
  expect_error(acpi(d, control = vlearning_control()), "`control`")
})

test_that("ACPI is near-optimal on homogeneous data from one subgroup", {
  h <- baseline_subgroup("c", num = 20, T = 100, seed = 13)
  opt <- linear2d_optimum(h$groups, grid.size = 121)$value
  fit <- acpi(h$data, seed = 1)
  ev <- evaluate_policy(fit, h$sim$env, num.episodes = 200, seed = 5)
  expect_gt(mean(ev$value), opt - 0.03)
})
