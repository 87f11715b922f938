test_that("features match the Gaussian RBF formula computed in R", {
  set.seed(2)
  x <- matrix(rnorm(400), 200, 2, dimnames = list(NULL, c("u", "v")))
  b <- rbf_basis(x, num.centers = 5, seed = 9)
  newx <- matrix(rnorm(20), 10, 2, dimnames = list(NULL, c("u", "v")))
  z <- sweep(sweep(newx, 2, b$shift), 2, b$scale, "/")
  ref <- cbind(1, sapply(seq_len(5), function(j) {
    exp(-rowSums((z - matrix(b$centers[j, ], 10, 2, byrow = TRUE))^2) / (2 * b$bandwidth^2))
  }))
  f <- predict(b, newx)
  expect_equal(unname(f), ref, tolerance = 1e-12)
  expect_identical(colnames(f)[1:2], c("(Intercept)", "rbf1"))
  # columns are matched by name
  expect_equal(predict(b, as.data.frame(newx)[, c("v", "u")]), f)
  expect_equal(b$shift, colMeans(x))
  expect_equal(b$scale, apply(x, 2, sd))
})

test_that("median bandwidth equals the median pairwise distance", {
  set.seed(3)
  x <- matrix(rnorm(300), 100, 3)
  b <- rbf_basis(x, num.centers = 4, scale = FALSE, seed = 1)
  expect_equal(b$bandwidth, median(dist(x)))
  b2 <- rbf_basis(x, num.centers = 4, bandwidth = 0.7, scale = FALSE, seed = 1)
  expect_identical(b2$bandwidth, 0.7)
  # subsampled median on larger data is close to the full one
  x <- matrix(rnorm(6000), 3000, 2)
  b3 <- rbf_basis(x, num.centers = 4, scale = FALSE, bandwidth.sample = 1000, seed = 1)
  expect_equal(b3$bandwidth, median(dist(x)), tolerance = 0.03)
})

test_that("K-means objective is no worse than stats::kmeans with as many starts", {
  # Planted, well separated blobs: both must find the planted partition.
  set.seed(4)
  mu <- cbind(c(0, 10, 0, 10, 5), c(0, 0, 10, 10, 5))
  x <- mu[rep(1:5, each = 40), ] + matrix(rnorm(400, sd = 0.5), 200, 2)
  b <- rbf_basis(x, num.centers = 5, scale = FALSE, num.starts = 10, seed = 1)
  km <- kmeans(x, 5, nstart = 10, iter.max = 100)
  expect_lte(b$withinss, km$tot.withinss * (1 + 1e-8))
  ctr <- b$centers[order(round(b$centers[, 1]), round(b$centers[, 2])), ]
  expect_equal(unname(ctr), mu[order(mu[, 1], mu[, 2]), ], tolerance = 0.2)
  # Overlapping states of the 2-D simulator, 16 centres.
  ratios <- vapply(1:4, function(s) {
    sim <- sim_linear2d(num.per.group = 10, T = 50, seed = s)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    b <- rbf_basis(d, num.centers = 16, scale = FALSE, num.starts = 10, seed = s)
    set.seed(s)
    km <- kmeans(p4l:::observed_states(d), 16, nstart = 10, iter.max = 100)
    b$withinss / km$tot.withinss
  }, numeric(1))
  expect_lte(median(ratios), 1.001)
  expect_lte(max(ratios), 1.02)
})

test_that("the basis uses all observed states of a p4l_data", {
  sim <- sim_linear2d(num.per.group = 2, T = 5, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, num.centers = 3, seed = 1)
  all.states <- as.matrix(sim$data[, c("s1", "s2")])
  expect_equal(b$num.states, nrow(all.states))
  expect_equal(unname(b$shift), unname(colMeans(all.states)))
})

test_that("results are identical for 1 and 2 threads and for the same seed", {
  set.seed(5)
  x <- matrix(rnorm(6000), 3000, 2)
  b1 <- rbf_basis(x, num.centers = 8, seed = 11, num.threads = 1)
  b2 <- rbf_basis(x, num.centers = 8, seed = 11, num.threads = 2)
  expect_identical(b1, b2)
  expect_identical(predict(b1, x, num.threads = 1), predict(b1, x, num.threads = 2))
  set.seed(1); b3 <- rbf_basis(x, num.centers = 8)
  set.seed(1); b4 <- rbf_basis(x, num.centers = 8)
  expect_identical(b3, b4)
})

test_that("subsampled K-means refines on all states", {
  set.seed(6)
  x <- matrix(rnorm(20000), 10000, 2)
  b <- rbf_basis(x, num.centers = 6, scale = FALSE, sample.size = 2000, seed = 1)
  # Centres are a fixed point of a Lloyd step on the full data (up to tolerance).
  cl <- max.col(-as.matrix(dist(rbind(b$centers, x)))[-(1:6), 1:6])
  means <- t(sapply(1:6, function(j) colMeans(x[cl == j, , drop = FALSE])))
  expect_equal(unname(b$centers), unname(means), tolerance = 1e-3)
})

# Plain Lloyd in R: assign every point to its nearest centre (ties to the
# lowest), move every centre to its points' mean; an empty cluster takes the
# point farthest from its centre.
lloyd_reference <- function(x, centers, iterations) {
  assign <- function(C) {
    d2 <- outer(rowSums(x^2), rowSums(C^2), "+") - 2 * x %*% t(C)
    cl <- max.col(-d2, ties.method = "first")
    list(cl = cl, d2 = rowSums((x - C[cl, , drop = FALSE])^2))
  }
  a <- assign(centers)
  for (it in seq_len(iterations)) {
    for (j in seq_len(nrow(centers))) {
      if (any(a$cl == j)) {
        centers[j, ] <- colMeans(x[a$cl == j, , drop = FALSE])
      } else {
        far <- which.max(a$d2)
        centers[j, ] <- x[far, ]
        a$d2[far] <- 0
      }
    }
    a <- assign(centers)
  }
  list(centers = centers, cluster = a$cl, withinss = sum(a$d2))
}

test_that("Lloyd with Hamerly's bounds gives plain Lloyd's iterates", {
  set.seed(21)
  # clusters that move for many iterations, in 3 dimensions, 2,500 points (two blocks)
  x <- rbind(matrix(rnorm(3000, sd = 1), 1000, 3), matrix(rnorm(4500, mean = 2), 1500, 3))
  start <- x[c(1, 2, 3, 1001, 1002, 2500, 7), ]
  for (iters in c(0, 1, 3, 10, 40)) {
    ref <- lloyd_reference(x, start, iters)
    for (nt in 1:2) {
      got <- p4l:::kmeans_lloyd_cpp(x, start, iters, 0, nt)
      expect_equal(got$iterations, iters)
      expect_identical(got$cluster, ref$cluster)
      expect_equal(got$centers, ref$centers, tolerance = 1e-12)
      expect_equal(got$withinss, ref$withinss, tolerance = 1e-12)
    }
  }
  # an empty cluster (a start centre far from every point) takes the farthest point
  start2 <- rbind(start[1:4, ], c(50, 50, 50))
  ref <- lloyd_reference(x, start2, 5)
  got <- p4l:::kmeans_lloyd_cpp(x, start2, 5, 0, 2)
  expect_identical(got$cluster, ref$cluster)
  expect_equal(got$centers, ref$centers, tolerance = 1e-12)
  # the tolerance stops it: the last step lowered the objective by at most tol
  got <- p4l:::kmeans_lloyd_cpp(x, start, 1000, 1e-6, 1)
  expect_true(got$converged)
  prev <- lloyd_reference(x, start, got$iterations - 1)$withinss
  expect_lte(prev - got$withinss, 1e-6 * prev)
  expect_gt(lloyd_reference(x, start, got$iterations - 2)$withinss - prev, 1e-6 * prev)
})

test_that("with more states than refine.size, all states are assigned to the refined centres", {
  set.seed(22)
  x <- matrix(rnorm(16000), 8000, 2)
  b <- rbf_basis(x, num.centers = 6, scale = FALSE, sample.size = 500, refine.size = 2000,
                 seed = 3)
  d2 <- outer(rowSums(x^2), rowSums(b$centers^2), "+") - 2 * x %*% t(b$centers)
  expect_equal(b$withinss, sum(pmax(apply(d2, 1, min), 0)), tolerance = 1e-10)
  # the same as rbf_basis on the full data, within 2% (the issue's target on
  # 10^6 states is 1%)
  full <- rbf_basis(x, num.centers = 6, scale = FALSE, sample.size = 500, refine.size = 8000,
                    seed = 3)
  expect_lt(b$withinss, 1.02 * full$withinss)
  expect_identical(b, rbf_basis(x, num.centers = 6, scale = FALSE, sample.size = 500,
                                refine.size = 2000, seed = 3, num.threads = 2))
  expect_error(rbf_basis(x, 3, refine.size = 1), "`refine.size` must be between 2")
})

test_that("rbf_basis checks its arguments", {
  x <- matrix(rnorm(20), 10, 2)
  expect_error(rbf_basis(list(1)), "`x` must be a p4l_data")
  expect_error(rbf_basis(x, num.centers = 0), "`num.centers` must be between")
  expect_error(rbf_basis(x, num.centers = 11), "exceeds the number of states")
  expect_error(rbf_basis(x, 2, bandwidth = "mean"), "`bandwidth` must be \"median\"")
  expect_error(rbf_basis(x, 2, bandwidth = -1), "`bandwidth` must be in")
  expect_error(rbf_basis(x, 2, num.threads = 0), "`num.threads` must be between")
  expect_error(rbf_basis(x, 2, seed = -1), "`seed` must be NULL")
  x[3, 2] <- NA
  expect_error(rbf_basis(x), "missing or non-finite state in column 's2' at row 3")
  b <- rbf_basis(matrix(rnorm(20), 10, 2, dimnames = list(NULL, c("a", "b"))), 2, seed = 1)
  expect_error(predict(b, data.frame(a = 1)), "lacks the state column\\(s\\) 'b'")
  expect_output(print(b), "2 Gaussian centres")
})

# ---- The basis interface and the other bases (issue 13, item 5) ----

basis_test_states <- function() {
  data.frame(a = c(0, 1, 2, 2, 1, 0, 2), b = c(5, 5, 7, 7, 5, 7, 7), c = c(1.5, -1, 0.3, 2, 0, 1, -2))
}

test_that("indicator features match hand-computed matrices (none, pairwise, joint)", {
  x <- basis_test_states()
  nd <- data.frame(a = c(0, 1, 2, 1), b = c(5, 7, 5, 5), c = 0)
  b0 <- indicator_basis(x, columns = c("a", "b"))
  expect_s3_class(b0, c("indicator_basis", "p4l_basis"))
  expect_identical(b0$state.names, c("a", "b", "c"))
  # levels a: 0, 1, 2; b: 5, 7
  ref0 <- rbind(c(1, 0, 0, 0),
                c(1, 1, 0, 1),
                c(1, 0, 1, 0),
                c(1, 1, 0, 0))
  f0 <- predict(b0, nd)
  expect_identical(unname(f0), ref0)
  expect_identical(colnames(f0), c("(Intercept)", "a=1", "a=2", "b=7"))
  expect_identical(basis_names(b0), colnames(f0))
  expect_identical(basis_dim(b0), 4L)
  b1 <- indicator_basis(x, columns = c("a", "b"), interactions = "pairwise")
  ref1 <- cbind(ref0, ref0[, 2] * ref0[, 4], ref0[, 3] * ref0[, 4])
  f1 <- predict(b1, nd)
  expect_identical(unname(f1), ref1)
  expect_identical(colnames(f1)[5:6], c("a=1:b=7", "a=2:b=7"))
  expect_identical(basis_dim(b1), 6L)
  # three columns: every pair, the first column's dummy varying slowest
  x3 <- data.frame(p = c(0, 1, 2, 0), q = c(0, 1, 1, 0), r = c(0, 1, 2, 2))
  b3 <- indicator_basis(x3, interactions = "pairwise")
  expect_identical(basis_names(b3)[-(1:6)],
                   c("p=1:q=1", "p=2:q=1", "p=1:r=1", "p=1:r=2", "p=2:r=1", "p=2:r=2",
                     "q=1:r=1", "q=1:r=2"))
  s <- c(p = 2, q = 1, r = 1)
  f3 <- predict(b3, s)
  expect_identical(basis_names(b3)[f3[1, ] == 1],
                   c("(Intercept)", "p=2", "q=1", "r=1", "p=2:q=1", "p=2:r=1", "q=1:r=1"))
  # joint: observed cells of (a, b) are (0,5), (0,7), (1,5), (2,7); reference (0,5)
  b2 <- indicator_basis(x, columns = c("a", "b"), interactions = "joint")
  expect_identical(basis_names(b2), c("(Intercept)", "a=0,b=7", "a=1,b=5", "a=2,b=7"))
  nd2 <- data.frame(a = c(0, 0, 1, 2), b = c(5, 7, 5, 7), c = 0)
  expect_identical(unname(predict(b2, nd2)), rbind(c(1, 0, 0, 0), c(1, 1, 0, 0),
                                                   c(1, 0, 1, 0), c(1, 0, 0, 1)))
  expect_error(indicator_basis(x, columns = c("a", "b"), interactions = "joint", max.cells = 3),
               "4 observed cells, more than `max.cells`")
  expect_error(indicator_basis(x, max.levels = 5),
               "Column 'c' takes 7 distinct values, more than `max.levels`", fixed = TRUE)
})

# Independent R reference of the unseen-value rule: nearest level (ties to
# the lower one); joint: nearest observed cell in L1 over level indices.
ref_level <- function(v, lv) which.min(abs(lv - v))

test_that("unseen values map to the nearest level, and unseen cells to the nearest cell", {
  x <- basis_test_states()
  b0 <- indicator_basis(x, columns = c("a", "b"))
  nd <- data.frame(a = c(-3, 0.5, 1.5, 1.49, 9, 0.51), b = c(6, 100, 6.01, 4, 5.99, 7), c = 0)
  f <- predict(b0, nd)
  ia <- vapply(nd$a, ref_level, integer(1), lv = c(0, 1, 2))
  ib <- vapply(nd$b, ref_level, integer(1), lv = c(5, 7))
  expect_identical(ia, c(1L, 1L, 2L, 2L, 3L, 2L))
  expect_identical(ib, c(1L, 2L, 2L, 1L, 1L, 2L))
  ref <- cbind(1, ia == 2, ia == 3, ib == 2) + 0
  expect_identical(unname(f), ref)
  # joint: (1, 7) was not observed; its nearest observed cells in level
  # indices are (0,7) [distance 1] and (1,5) [1] and (2,7) [1]: the first, (0,7)
  b2 <- indicator_basis(x, columns = c("a", "b"), interactions = "joint")
  cells <- b2$cells
  nd2 <- data.frame(a = c(1, 1.9, -1), b = c(7, 5.2, 7), c = 0)
  idx <- cbind(vapply(nd2$a, ref_level, integer(1), lv = c(0, 1, 2)),
               vapply(nd2$b, ref_level, integer(1), lv = c(5, 7)))
  cell <- apply(idx, 1, function(i) which.min(colSums(abs(t(cells) - i))))
  ref2 <- matrix(0, 3, 4); ref2[, 1] <- 1
  ref2[cbind(seq_len(3), cell)[cell > 1, , drop = FALSE]] <- 1
  expect_identical(cell, c(2L, 3L, 2L))
  expect_identical(unname(predict(b2, nd2)), ref2)
})

test_that("linear basis matches its formula", {
  x <- basis_test_states()
  b <- linear_basis(x, columns = c("c", "a"))
  nd <- data.frame(a = c(3, -1), b = 0, c = c(0.2, 5))
  ref <- cbind(1, (nd$c - mean(x$c)) / sd(x$c), (nd$a - mean(x$a)) / sd(x$a))
  f <- predict(b, nd)
  expect_equal(unname(f), ref, tolerance = 1e-14)
  expect_identical(colnames(f), c("(Intercept)", "c", "a"))
  braw <- linear_basis(x, scale = FALSE)
  expect_identical(unname(predict(braw, nd)), unname(cbind(1, as.matrix(nd))))
})

test_that("basis_product and basis_sum equal their parts combined in R", {
  set.seed(7)
  x <- data.frame(u = rnorm(60), f = rbinom(60, 1, 0.4), g = sample(0:2, 60, TRUE))
  r <- rbf_basis(x, num.centers = 4, columns = "u", seed = 1)
  i <- indicator_basis(x, columns = c("f", "g"))
  nd <- data.frame(u = rnorm(9), f = rbinom(9, 1, 0.5), g = sample(0:2, 9, TRUE))
  A <- predict(r, nd)
  B <- predict(i, nd)
  # the RBF part on one column equals the RBF formula on that column
  z <- (nd$u - r$shift) / r$scale
  expect_equal(unname(A[, -1]), exp(-outer(z, r$centers[, 1], "-")^2 / (2 * r$bandwidth^2)),
               tolerance = 1e-12)
  p <- basis_product(r, i)
  fp <- predict(p, nd)
  ref <- t(vapply(seq_len(nrow(nd)), function(k) as.vector(t(outer(A[k, ], B[k, ]))),
                  numeric(ncol(A) * ncol(B))))
  expect_identical(unname(fp), ref)
  expect_identical(basis_dim(p), ncol(A) * ncol(B))
  expect_identical(colnames(fp)[1:(ncol(B) + 2)], c("(Intercept)", colnames(B)[-1], "rbf1",
                                                     paste0("rbf1:", colnames(B)[2])))
  s <- basis_sum(r, i, linear_basis(x, columns = "u"))
  fs <- predict(s, nd)
  L <- predict(linear_basis(x, columns = "u"), nd)
  expect_identical(unname(fs), unname(cbind(1, A[, -1], B[, -1], L[, -1])))
  expect_identical(basis_names(s), c("(Intercept)", colnames(A)[-1], colnames(B)[-1], "u"))
  # names that would repeat get the part number
  s2 <- basis_sum(r, rbf_basis(x, 2, columns = "u", seed = 2))
  expect_identical(basis_names(s2), c("(Intercept)", paste0("p1.rbf", 1:4), paste0("p2.rbf", 1:2)))
  # products nest
  p3 <- basis_product(r, i, linear_basis(x, columns = "u"))
  expect_identical(basis_dim(p3), basis_dim(p) * 2L)
  expect_error(basis_sum(r, indicator_basis(data.frame(f = c(0, 1)))), "same state columns")
  expect_error(basis_sum(r), "at least two")
  expect_output(print(p), "product_basis")
  expect_output(print(summary(s)), "fitted on the states: u, f, g")
})

test_that("the per-state C++ path of the simulations equals the features", {
  set.seed(8)
  x <- data.frame(u = rnorm(40), f = rbinom(40, 1, 0.4), g = sample(0:3, 40, TRUE))
  bases <- list(indicator_basis(x, c("f", "g"), "none"), indicator_basis(x, c("f", "g"), "pairwise"),
                indicator_basis(x, c("g", "f"), "joint"), linear_basis(x),
                basis_product(rbf_basis(x, 3, columns = "u", seed = 1), indicator_basis(x, "g")),
                basis_sum(linear_basis(x, "u"), indicator_basis(x, c("f", "g"), "joint")))
  nd <- cbind(u = rnorm(30), f = sample(c(0, 1, 2), 30, TRUE), g = sample(c(-1, 0.5, 2, 5), 30, TRUE))
  for (b in bases) {
    # identical without an RBF part; the RBF leaf's per-state formula differs
    # from the blocked one (one matrix product) by rounding only
    expect_equal(p4l:::basis_features_rowwise_cpp(nd, p4l:::basis_spec(b)),
                 unname(predict(b, nd)), tolerance = 1e-13)
    if (!inherits(b, "product_basis")) {
      expect_identical(p4l:::basis_features_rowwise_cpp(nd, p4l:::basis_spec(b)),
                       unname(predict(b, nd)))
    }
    expect_identical(predict(b, nd, num.threads = 1), predict(b, nd, num.threads = 2))
  }
})

test_that("evaluate_policy() on an indicator basis matches an R reference", {
  # A 2-D environment; a greedy policy on indicators of the sign of s1
  # (values rounded to the nearest level -1 / 1) picks action 1 iff s1 < 0.
  sim <- sim_linear2d(num.per.group = 2, T = 10, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- indicator_basis(data.frame(s1 = c(-1, 1), s2 = 0), columns = "s1")
  coef <- matrix(c(0, 0, 1, -2), 2, 2)   # logits: a0 = 0, a1 = 1 - 2 [s1 -> 1]
  pol <- p4l:::new_p4l_policy("test", "test_policy", basis = b, gamma = 0.9,
                              action.levels = d$action.levels, action.type = d$action.type,
                              state.names = c("s1", "s2"), id.column = "id",
                              ids = character(0), slot = integer(0),
                              policy.coef = list(coef), greedy = TRUE)
  ref.pol <- p4l:::new_p4l_policy("test", "test_policy", basis = NULL, gamma = 0.9,
                                  action.levels = d$action.levels, action.type = d$action.type,
                                  state.names = c("s1", "s2"), id.column = "id",
                                  ids = character(0), slot = integer(0),
                                  policy.coef = list(matrix(c(0, 0, 0, 0, -1e6, 0), 3, 2)),
                                  greedy = TRUE, raw.state = TRUE)
  env <- sim$env[[1]]
  s <- data.frame(s1 = c(-2, -0.1, 0.1, 3), s2 = 0)
  expect_identical(as.character(predict(pol, s)), as.character(predict(ref.pol, s)))
  e1 <- evaluate_policy(pol, env, ids = 1, num.episodes = 200, horizon = 20, seed = 4)
  e2 <- evaluate_policy(ref.pol, env, ids = 1, num.episodes = 200, horizon = 20, seed = 4)
  expect_identical(e1$value, e2$value)
})

test_that("fqi() and p4l() fit, predict and evaluate on an indicator basis", {
  sim <- sim_icu(60, seed = 11)
  st <- env_icu()$state.names
  d <- p4l_data(sim$data, "id", "time", "action", "reward", st, terminal = "terminal")
  b <- indicator_basis(d)
  f <- suppressWarnings(fqi(d, gamma = 0.9, basis = b, seed = 1))
  expect_identical(rownames(f$policy.coef[[1]]), basis_names(b))
  expect_identical(dim(predict(f, d, type = "q")), c(length(d$R), 8L))
  v <- evaluate_policy(f, env_icu("typical"), ids = 1, num.episodes = 20, horizon = 30, seed = 1)
  expect_true(is.finite(v$value))
  fit <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, basis = b, seed = 1,
                              control = p4l_control(max.iter = 20)))
  expect_identical(rownames(fit$policy.coef[[1]]), basis_names(b))
  expect_length(predict(fit, d), length(d$R))
  pb <- basis_product(indicator_basis(d, st[1:3]), indicator_basis(d, st[4]))
  expect_length(predict(suppressWarnings(fqi(d, gamma = 0.9, basis = pb, seed = 1)), d),
                length(d$R))
  expect_error(fqi(d, basis = linear_basis(data.frame(a = 1:3, b = 2:4))), "was built on the states")
  expect_error(fqi(d, basis = list()), "must be NULL or a basis")
  pdf(NULL); on.exit(grDevices::dev.off())
  expect_silent(plot(f, grid.size = 5))
})

test_that("the default basis is unchanged on continuous states and discrete otherwise", {
  sim <- sim_linear2d(num.per.group = 3, T = 15, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_identical(default_basis(d, seed = 5), rbf_basis(d, num.centers = 16, seed = 5))
  expect_identical(fqi(d, seed = 5)$basis, rbf_basis(d, num.centers = 16, seed = 5))
  expect_identical(unname(discrete_columns(d)), c(FALSE, FALSE))
  sim2 <- sim_icu(40, seed = 3)
  st <- env_icu()$state.names
  d2 <- p4l_data(sim2$data, "id", "time", "action", "reward", st, terminal = "terminal")
  expect_true(all(discrete_columns(d2)))
  expect_false(any(discrete_columns(d2, auto = FALSE)))
  # whole-number columns stay with the RBF basis unless discrete = "auto"
  expect_identical(default_basis(d2, seed = 2), rbf_basis(d2, num.centers = 16, seed = 2))
  b2 <- default_basis(d2, discrete = "auto")
  expect_s3_class(b2, "indicator_basis")
  expect_identical(b2$interactions, "pairwise")
  expect_identical(default_basis(d2, discrete = "auto", max.dim = 50)$interactions, "none")
  # mixed: a continuous column with discrete ones -> RBF (+) indicators
  dd <- sim2$data
  dd$sofa_cardio <- dd$sofa_cardio + seq_len(nrow(dd)) / 1000
  d3 <- p4l_data(dd, "id", "time", "action", "reward", st, terminal = "terminal")
  b3 <- default_basis(d3, discrete = "auto", seed = 1)
  expect_identical(unname(discrete_columns(d3)), c(FALSE, rep(TRUE, 5)))
  expect_s3_class(b3$parts[[1]], "rbf_basis")
  expect_identical(b3$parts[[1]]$columns, "sofa_cardio")
  expect_identical(b3$parts[[2]]$columns, st[-1])
  expect_s3_class(b3, "sum_basis")
  expect_s3_class(default_basis(d3, discrete = "auto", combine = "product", seed = 1),
                  "product_basis")
  # a field data$discrete marks columns as discrete
  d$discrete <- c(s1 = FALSE, s2 = TRUE)
  expect_identical(unname(discrete_columns(d)), c(FALSE, TRUE))
  d$S[, 2] <- round(d$S[, 2]); d$S_next[, 2] <- round(d$S_next[, 2])
  b4 <- default_basis(d, seed = 1)
  expect_identical(basis_names(b4)[1:17], basis_names(rbf_basis(d, 16, seed = 1)))
  expect_identical(b4$parts[[2]]$columns, "s2")
})

test_that("p4l() and tune_p4l() give whole-number columns additive indicators by default", {
  sim <- sim_icu(40, seed = 3)
  st <- env_icu()$state.names
  d <- p4l_data(sim$data, "id", "time", "action", "reward", st, terminal = "terminal")
  ctl <- p4l_control(max.iter = 2)
  fit <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, control = ctl, seed = 1))
  ind <- indicator_basis(d, interactions = "none", max.levels = 10)
  expect_identical(fit$basis, ind)
  # one indicator per observed value and column (hand count), plus the intercept
  levels.total <- sum(vapply(st, function(j) length(unique(c(d$S[, j], d$S_next[, j]))), 1L))
  expect_identical(basis_dim(fit$basis), levels.total - length(st) + 1L)
  # the baselines keep the RBF basis on the same data
  expect_s3_class(fqi(d, gamma = 0.9, seed = 1)$basis, "rbf_basis")
  tn <- suppressWarnings(tune_p4l(d, K = 1:2, gamma = 0.9, folds = 2, control = ctl,
                                  num.boot = 2, seed = 1))
  expect_identical(tn$basis, ind)
  # mixed columns: the RBF part on the continuous column, indicators on the rest
  dd <- sim$data
  dd$sofa_cardio <- dd$sofa_cardio + seq_len(nrow(dd)) / 1000
  d3 <- p4l_data(dd, "id", "time", "action", "reward", st, terminal = "terminal")
  fit3 <- suppressWarnings(p4l(d3, K = 2, gamma = 0.9, control = ctl, seed = 4))
  expect_identical(fit3$basis, basis_sum(rbf_basis(d3, 16, columns = "sofa_cardio", seed = 4),
                                         indicator_basis(d3, columns = st[-1], interactions = "none",
                                                         max.levels = 10)))
  # continuous states: the paper's RBF basis, as before
  sl <- sim_linear2d(num.per.group = 3, T = 15, seed = 2)
  dl <- p4l_data(sl$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_identical(suppressWarnings(p4l(dl, K = 2, control = ctl, seed = 5))$basis,
                   rbf_basis(dl, num.centers = 16, seed = 5))
})

test_that("vlearning(), acpi(), compare_policies() and plot() take a composed basis", {
  sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- basis_sum(rbf_basis(d, 4, columns = "s1", seed = 1), linear_basis(d, "s2"))
  v <- vlearning(d, basis = b, seed = 1)
  a <- acpi(d, K = 2, basis = b, seed = 1)
  expect_identical(rownames(coef(v)[[1]]), c("(Intercept)", paste0("rbf", 1:4), "s2"))
  expect_identical(rownames(coef(a)[[1]]), basis_names(b))
  cp <- compare_policies(list(v = v, a = a), sim$env, num.episodes = 10, seed = 1)
  expect_true(all(is.finite(cp$value)))
  # the C++ rollout uses the same features as predict(): a greedy policy
  # evaluated in C++ equals the R reference built from predict() on raw states
  expect_identical(unname(p4l:::basis_features_rowwise_cpp(d$S, p4l:::basis_spec(b))[, 6]),
                   unname(predict(b, d)[, 6]))
  pdf(NULL); on.exit(grDevices::dev.off())
  expect_silent(plot(a, grid.size = 5))
  expect_true(all(p4l:::basis_plot_range(b, 1:2)[, 1] < apply(d$S, 2, min)))
})

test_that("column_scales() and the basis ranges are colMeans(), sd() and range() to the bit", {
  set.seed(11)
  cases <- list(matrix(rnorm(3000 * 3), ncol = 3),
                matrix(rnorm(2000 * 2, 1e8, 1e-3), ncol = 2),  # cancellation in the mean
                matrix(runif(999 * 2) * 1e300, ncol = 2),      # sums beyond double's range
                cbind(c(1e308, 1e308, -1e308), c(1, 1, 1)),    # a constant column
                matrix(round(rnorm(500 * 2) * 3), ncol = 2))
  for (x in cases) {
    for (nt in 1:2) {
      s <- p4l:::column_summary_cpp(x, TRUE, nt)
      expect_identical(s$mean, unname(colMeans(x)))
      expect_identical(s$sd, unname(apply(x, 2, stats::sd)))
      expect_identical(rbind(s$min, s$max), unname(apply(x, 2, range)))
      # column_scales() as with R's estimates (overflowing columns recomputed alike)
      expect_identical(p4l:::column_scales(x, num.threads = nt),
                       p4l:::column_scales(x, shift = colMeans(x),
                                           scale = apply(x, 2, stats::sd)))
    }
  }
  # one row: R's path (sd is NA, the scale becomes 0)
  expect_identical(unname(p4l:::column_scales(matrix(c(1, 2), 1))$scale), c(0, 0))
  # a non-finite mean still names its column
  expect_error(p4l:::column_scales(cbind(a = 1:3 + 0, b = c(1, NaN, 2))), "column 'b'.*row 2")
})

test_that("standardise_columns() computes center_scale()'s values in C++ and names the first bad entry", {
  set.seed(4)
  x <- matrix(rnorm(5000 * 3), 5000, 3, dimnames = list(NULL, c("a", "b", "c")))
  sh <- c(0.1, -2, 3)
  sc <- c(2, 0.5, 7)
  z1 <- p4l:::standardise_columns(x, sh, sc)
  expect_identical(z1, p4l:::center_scale(x, sh, sc))       # bit for bit, dimnames kept
  expect_identical(p4l:::standardise_columns(x, sh, sc, num.threads = 2L), z1)
  xi <- matrix(1:6, 3, 2)                                    # integer input
  expect_identical(p4l:::standardise_columns(xi, 1, 2), (xi - 1) / 2)
  # the first offending entry in column-major order (columns first, then
  # rows): b's row 4100 before c's row 4500; then a's row 4500 before both
  big <- x
  big[4100, "b"] <- 1e308
  big[4500, "c"] <- 1e308
  expect_error(p4l:::standardise_columns(big, 0, 1e-10), "column 'b' is too large \\(1e\\+308 at row 4100\\)")
  big[4500, "a"] <- 1e308
  expect_error(p4l:::standardise_columns(big, 0, 1e-10), "column 'a' is too large \\(1e\\+308 at row 4500\\)")
  expect_error(p4l:::standardise_columns(x, 0, 1, squares = TRUE), NA)
})
