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
