# The sparse fusion graph of acpi() (acpi_control(graph = "knn")).

# k nearest neighbours (ties by the smaller index) and Prim's tree from 1, in R.
knn_mst_reference <- function(X, k) {
  N <- ncol(X)
  D <- as.matrix(stats::dist(t(X)))^2
  e <- NULL
  for (i in 1:N) {
    o <- order(D[i, -i], setdiff(1:N, i))[seq_len(min(k, N - 1))]
    nb <- setdiff(1:N, i)[o]
    e <- rbind(e, cbind(pmin(i, nb), pmax(i, nb)))
  }
  inside <- 1; best <- D[1, ]; from <- rep(1, N)
  while (length(inside) < N) {
    out <- setdiff(1:N, inside)
    j <- out[which.min(best[out])]
    e <- rbind(e, c(min(j, from[j]), max(j, from[j])))
    inside <- c(inside, j)
    upd <- D[j, ] < best
    from[upd] <- j; best[upd] <- D[j, upd]
  }
  e <- unique(e)
  e[order(e[, 1], e[, 2]), , drop = FALSE]
}

connected <- function(e, N) {
  lab <- 1:N
  repeat {
    old <- lab
    for (r in seq_len(nrow(e))) lab[e[r, ]] <- min(lab[e[r, ]])
    if (identical(old, lab)) break
  }
  length(unique(lab)) == 1
}

test_that("the fusion graph is the k-nearest-neighbour graph joined by a spanning tree", {
  set.seed(3)
  # two far-apart clouds: the k-nearest-neighbour graph alone is disconnected
  X <- cbind(matrix(rnorm(3 * 12), 3), matrix(rnorm(3 * 9, mean = 50), 3))
  for (k in c(1, 3, 30)) {
    g <- p4l:::acpi_graph_cpp(X, k, 2L)
    ref <- knn_mst_reference(X, k)
    expect_equal(unname(g), unname(ref))
    expect_true(connected(g, ncol(X)))
    expect_identical(p4l:::acpi_graph_cpp(X, k, 1L), g)
  }
  # k >= N - 1 gives every pair
  expect_equal(nrow(p4l:::acpi_graph_cpp(X, 30, 2L)), choose(ncol(X), 2))
  # exactly one spanning-tree edge joins the clouds when k is small
  g <- p4l:::acpi_graph_cpp(X, 3, 2L)
  expect_equal(sum(g[, 1] <= 12 & g[, 2] > 12), 1)
})

test_that("the sparse fusion path starts at the individual LSTD-Q estimates", {
  # few transitions per individual (T < p), so the ADMM uses the low-rank
  # (Woodbury) form of each individual's system; at a negligible penalty its
  # solution is each individual's ridge-regularised LSTD-Q estimate, computed
  # here in R from the projected Bellman error
  sim <- sim_linear2d(num.per.group = 3, T = 8, seed = 5)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 6, seed = 1)
  N <- length(d$ids); ridge <- 1e-3; gamma <- 0.8
  fit <- acpi(d, basis = b, K = N, gamma = gamma, ridge = ridge,
              control = acpi_control(graph = "knn", num.neighbors = 3, num.lambda = 2,
                                     lambda.min.ratio = 1e-9, admm.tol = 1e-10,
                                     admm.max.iter = 5000, max.outer = 1))
  expect_identical(fit$path$graph, "knn")
  expect_equal(fit$path$chosen, 1L)
  psi <- predict(b, d$S); psin <- predict(b, d$S_next)
  dd <- ncol(psi); m <- 2L; p <- dd * m
  for (i in seq_len(N)) {
    rows <- which(d$individual == i)
    Ti <- length(rows)
    expect_lt(Ti, p)
    X <- matrix(0, Ti, p); Xb <- matrix(0, Ti, p)
    for (k in 1:m) {
      X[d$A[rows] == k, (k - 1) * dd + 1:dd] <- psi[rows[d$A[rows] == k], ]
      Xb[, (k - 1) * dd + 1:dd] <- psin[rows, ] / m * !d$terminal[rows]
    }
    M <- crossprod(X, X - gamma * Xb) / Ti
    S <- crossprod(X) / Ti + ridge * diag(p)
    bv <- crossprod(X, d$R[rows]) / Ti
    H <- t(M) %*% solve(S, M) + ridge * diag(p)
    ref <- solve(H, t(M) %*% solve(S, bv))
    expect_equal(unname(fit$path$coef[, i]), drop(ref), tolerance = 1e-5)
  }
})

test_that("ACPI on the sparse graph recovers planted subgroups, the same for any threads", {
  g <- linear2d_groups(); g["c", "reward.sign"] <- -1
  sim <- sim_linear2d(num.per.group = 20, T = 100, groups = g, seed = 3)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ctl <- acpi_control(graph = "knn", num.neighbors = 5)
  fit <- acpi(d, K = 3, seed = 1, control = ctl)
  expect_identical(fit$path$graph, "knn")
  expect_lt(fit$path$num.edges, choose(60, 2) / 3)
  tab <- table(fit$cluster, sim$group)
  expect_true(any(tab[, "c"] >= 18 & rowSums(tab) - tab[, "c"] <= 2))
  fit1 <- acpi(d, K = 3, seed = 1, num.threads = 1, control = ctl)
  expect_identical(fit1$q.coef, fit$q.coef)
  expect_identical(fit1$cluster, fit$cluster)
  # "auto" keeps every pair at this size
  expect_identical(acpi(d, K = 3, seed = 1, control = acpi_control(num.lambda = 5))$path$graph,
                   "complete")
  expect_identical(p4l:::acpi_graph(acpi_control(), 301), "knn")
  expect_error(acpi_control(graph = "star"), "`graph` must be one of")
  expect_error(acpi_control(num.neighbors = 0), "num.neighbors")
})
