# Memory (issue 13): acpi() with given clusters accumulates per-cluster
# statistics; every estimator checks its memory estimate before allocating.

with_memory_limit <- function(bytes, code) {
  old <- options(p4l.max.memory = bytes)
  on.exit(options(old))
  force(code)
}

# Fits with 1 and 2 threads; they must be identical. Returns the first.
fit_thread_independent <- function(fit_fun, ...) {
  fit1 <- fit_fun(..., num.threads = 1, seed = 1)
  fit2 <- fit_fun(..., num.threads = 2, seed = 1)
  expect_identical(fit1$q.coef, fit2$q.coef)
  fit1
}

test_that("acpi() with clusters equals the per-individual implementation (saved results)", {
  source(test_path("fixtures", "make-acpi-clusters.R"), local = TRUE)
  cases <- acpi_clusters_cases()
  ref <- readRDS(test_path("fixtures", "acpi-clusters.rds"))
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    fit1 <- fit_thread_independent(acpi, cs$data, gamma = cs$gamma, basis = cs$basis,
                                   clusters = cs$clusters, ridge = cs$ridge)
    expect_equal(lapply(fit1$q.coef, unname), lapply(ref[[nm]]$q.coef, unname),
                 tolerance = 1e-10, label = nm)
    expect_identical(fit1$convergence, ref[[nm]]$convergence)
    expect_identical(unname(fit1$cluster), unname(ref[[nm]]$cluster))
  }
})

test_that("the fusion path gives the fits it gave before the memory changes", {
  source(test_path("fixtures", "make-acpi-clusters.R"), local = TRUE)
  cs <- acpi_clusters_cases()$linear2d
  ref <- readRDS(test_path("fixtures", "acpi-fusion.rds"))
  fus <- list(bic = acpi(cs$data, basis = cs$basis, seed = 1,
                         control = acpi_control(num.lambda = 8)),
              K2 = acpi(cs$data, K = 2, basis = cs$basis, seed = 1,
                        control = acpi_control(num.lambda = 8)))
  for (nm in names(fus)) {
    expect_equal(fus[[nm]]$q.coef, ref[[nm]]$q.coef, tolerance = 1e-10, label = nm)
    # (the path now also names its fusion graph: every pair at this size)
    expect_equal(fus[[nm]]$path[names(ref[[nm]]$path)], ref[[nm]]$path, tolerance = 1e-10,
                 label = nm)
    expect_identical(fus[[nm]]$path$graph, "complete")
    expect_identical(fus[[nm]]$cluster, ref[[nm]]$cluster)
  }
})

test_that("fqi() with per-action Gram sums equals the per-individual implementation", {
  source(test_path("fixtures", "make-acpi-clusters.R"), local = TRUE)
  cases <- acpi_clusters_cases()
  ref <- readRDS(test_path("fixtures", "fqi-reference.rds"))
  for (nm in names(cases)) {
    cs <- cases[[nm]]
    fit1 <- fit_thread_independent(fqi, cs$data, gamma = cs$gamma, basis = cs$basis,
                                   ridge = cs$ridge)
    expect_equal(fit1$q.coef, ref[[nm]]$q.coef, tolerance = 1e-10, label = nm)
    expect_identical(fit1$convergence$iterations, ref[[nm]]$convergence$iterations)
  }
})

test_that("per-cluster LSTD-Q matches an R reference with terminal states and 8 actions", {
  icu <- sim_icu(40, seed = 7, num.threads = 1)
  d <- p4l_data(icu$data, "id", "time", "action", "reward", env_icu()$state.names,
                terminal = "terminal")
  b <- rbf_basis(d, 3, seed = 1)
  psi <- predict(b, d$S); psin <- predict(b, d$S_next)
  m <- length(d$action.levels); dd <- ncol(psi)
  members <- which(icu$group == "typical")
  rows <- which(d$individual %in% members)
  W <- matrix(stats::rnorm(dd * m), dd, m)
  X <- matrix(0, length(rows), dd * m); Xb <- X
  nxt <- max.col(psin[rows, , drop = FALSE] %*% W, ties.method = "first")
  for (j in seq_along(rows)) {
    k <- rows[j]
    X[j, (d$A[k] - 1) * dd + 1:dd] <- psi[k, ]
    if (!d$terminal[k]) Xb[j, (nxt[j] - 1) * dd + 1:dd] <- psin[k, ]
  }
  A <- crossprod(X, X - 0.9 * Xb) + 1e-3 * length(rows) * diag(dd * m)
  ref <- matrix(solve(A, crossprod(X, d$R[rows])), dd, m)
  got <- p4l:::lstdq_cpp(p4l:::transition_inputs(d, psi, psin), members - 1L, W, 0.9, 1e-3)
  expect_equal(got, ref, tolerance = 1e-9)
})

test_that("the memory guard stops every estimator and names the argument to change", {
  sim <- sim_linear2d(num.per.group = 3, T = 20, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 4, seed = 1)
  with_memory_limit(1000, {
    expect_error(acpi(d, basis = b, clusters = sim$group), "`basis`.*acpi\\(\\) with `clusters`")
    expect_error(acpi(d, basis = b, K = 2), "Give `clusters`")
    expect_error(fqi(d, basis = b), "`basis` has 4 features per action.*fqi\\(\\)")
    expect_error(vlearning(d, basis = b, propensity = rep(0.5, length(d$R))),
                 "`basis`.*vlearning\\(\\)")
    expect_error(p4l(d, K = 2, basis = b, seed = 1), "`basis`.*`rank` = 2.*p4l\\(\\)")
    expect_error(p4l(d, K = 2, basis = b, seed = 1), "smaller `rank`")
    pol <- uniform_policy(c(0, 1), c("s1", "s2"))
    expect_error(evaluate_policy(pol, sim$env, num.episodes = 100, seed = 1),
                 "`num.episodes` = 100 for 9 ids; evaluate_policy\\(\\)")
  })
  # indicator and composed bases are guarded too (their size is basis_dim())
  si <- sim_icu(30, seed = 2)
  di <- p4l_data(si$data, "id", "time", "action", "reward", env_icu()$state.names,
                 terminal = "terminal")
  bi <- indicator_basis(di, interactions = "none")
  bs <- basis_sum(rbf_basis(di, 3, columns = "sofa_cardio", seed = 1),
                  indicator_basis(di, columns = env_icu()$state.names[-1], interactions = "none"))
  with_memory_limit(1000, {
    expect_error(p4l(di, K = 2, seed = 1), "p4l\\(\\)")           # its default: indicators
    expect_error(fqi(di, basis = bi), "fqi\\(\\)")
    expect_error(fqi(di, basis = bs), "fqi\\(\\)")
    expect_error(acpi(di, basis = bs, clusters = si$group), "acpi\\(\\)")
  })
  err.i <- with_memory_limit(1000, tryCatch(fqi(di, basis = bi), error = conditionMessage))
  expect_match(err.i, paste0(basis_dim(bi) - 1L, " features per action"))
  # the message gives the sizes and the limit's source
  err <- with_memory_limit(1000, tryCatch(fqi(d, basis = b), error = conditionMessage))
  expect_match(err, "options\\(p4l.max.memory\\)")
  expect_match(err, "1,000 bytes|1 kB")
  # a generous limit lets the fits through; a bad option is an error
  with_memory_limit(1e12, expect_s3_class(acpi(d, basis = b, clusters = sim$group), "acpi_fit"))
  with_memory_limit(-1, expect_error(fqi(d, basis = b), "p4l.max.memory"))
})

test_that("the estimates scale as documented and match real objects", {
  # the issue's case: sim_icu(1000)-sized data with p = 2,024
  n <- 10000; N <- 1000; dd <- 253; m <- 8
  given <- sum(p4l:::acpi_bytes(n, N, dd, m, clusters.given = TRUE, threads = 2))
  fused <- sum(p4l:::acpi_bytes(n, N, dd, m, clusters.given = FALSE, threads = 2))
  sparse <- p4l:::acpi_bytes(n, N, dd, m, clusters.given = FALSE, threads = 2, graph = "knn")
  expect_lt(given, 2e8)
  expect_gt(fused, 65e9)
  # the sparse graph: pairs grow with N k, not N^2 (4 single-precision
  # p-vectors per edge: 4 * 4 p N (k + 1) bytes)
  expect_equal(sparse[["pairs"]], 4 * 4 * dd * m * N * 11)
  expect_equal(sparse[["individuals"]], 8 * 2 * n * dd * m)
  # with clusters the estimate does not grow with N
  expect_equal(sum(p4l:::acpi_bytes(n, 10 * N, dd, m, TRUE)),
               sum(p4l:::acpi_bytes(n, N, dd, m, TRUE)))
  expect_lt(sum(p4l:::fqi_bytes(n, N, dd, m, threads = 2)), 2e8)  # was N m d^2: 4 GB
  # the guard refuses the fusion path at this size on a machine with 64 GB
  fake <- list(R = numeric(n), ids = seq_len(N), action.levels = seq_len(m))
  with_memory_limit(64e9, {
    expect_error(p4l:::guard_acpi(fake, dd, FALSE, acpi_control(graph = "complete"), NULL, 2L),
                 "2,024 Q weights.*acpi\\(\\) without `clusters` would need about [0-9.]+ GB")
    expect_silent(p4l:::guard_acpi(fake, dd, TRUE, acpi_control(), NULL, 2L))
    # 1,000 individuals: "auto" is the sparse graph, with low-rank individual
    # losses (10 transitions each, p = 2,024): about 2 GB
    expect_silent(p4l:::guard_acpi(fake, dd, FALSE, acpi_control(), NULL, 2L))
  })
  expect_lt(sum(sparse), 2.5e9)
  with_memory_limit(1e9,
    expect_error(p4l:::guard_acpi(fake, dd, FALSE, acpi_control(), NULL, 2L),
                 "would need about 1\\.[0-9]+ GB"))
  # estimates against the objects actually created (small case)
  sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, 20, seed = 1)
  feat <- p4l:::data_features(d, b, 1L)
  n <- length(d$R); dd <- ncol(feat$psi); N <- length(d$ids)
  est.R <- p4l:::features_bytes(n, dd) / 2   # the R half of the estimate
  real <- as.numeric(object.size(feat$psi) + object.size(feat$psi.next))
  expect_gt(real / est.R, 0.9)
  expect_lt(real / est.R, 1.2)
  fit <- acpi(d, basis = b, K = 2, seed = 1, control = acpi_control(num.lambda = 5))
  est.path <- p4l:::acpi_bytes(n, N, dd, 2, FALSE, num.lambda = 5)[["path"]] / (5 + 3)
  expect_gt(as.numeric(object.size(fit$path$coef)) / est.path, 0.9)
  expect_lt(as.numeric(object.size(fit$path$coef)) / est.path, 1.5)
})

test_that("memory_limit() reads the option, then /proc/meminfo", {
  with_memory_limit(123, expect_identical(p4l:::memory_limit(), 123))
  old <- options(p4l.max.memory = NULL); on.exit(options(old))
  lim <- p4l:::memory_limit()
  if (file.exists("/proc/meminfo")) {
    expect_true(is.finite(lim) && lim > 1e6)
  } else {
    expect_identical(lim, Inf)
  }
  expect_match(p4l:::format_bytes(65e9), "65 GB")
  expect_match(p4l:::format_bytes(512), "512 bytes")
})
