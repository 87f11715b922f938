# select_groups(): the KDE core against a brute-force R computation, planted
# subgroups, invariances and argument checks.

# Brute-force S(i, j) = mean_{t in eval_i} log p_j(y_t | x_t, a_t), as documented.
cross_loglik_r <- function(X, Y, A, owner, N, eval, hx, hy, lambda, window) {
  n <- nrow(X)
  S <- matrix(0, N, N)
  for (i in seq_len(N)) {
    for (t in eval[[i]]) {
      w <- (A == A[t]) * exp(-rowSums(sweep(X, 2, X[t, ])^2) / (2 * hx^2))
      k <- exp(-rowSums(sweep(Y, 2, Y[t, ])^2) / (2 * hy^2))
      out <- owner == i & abs(seq_len(n) - t) <= window
      p0 <- (sum((w * k)[-t]) + 1) / (sum(w[-t]) + 1)
      for (j in seq_len(N)) {
        use <- owner == j & !out
        S[i, j] <- S[i, j] + log((sum(w[use] * k[use]) + lambda * p0) / (sum(w[use]) + lambda))
      }
    }
    S[i, ] <- S[i, ] / length(eval[[i]])
  }
  S
}

test_that("the C++ cross log-likelihoods match a brute-force computation", {
  set.seed(3)
  N <- 4
  owner <- rep(1:N, c(6, 9, 5, 8))
  n <- length(owner)
  X <- matrix(rnorm(n * 2), n)
  Y <- matrix(rnorm(n * 3), n)
  A <- sample(1:2, n, replace = TRUE)
  eval <- lapply(1:N, function(i) which(owner == i)[c(1, 3, 4)])
  for (window in c(0, 2)) {
    ref <- cross_loglik_r(X, Y, A, owner, N, eval, 0.8, 0.6, 1.5, window)
    got <- p4l:::kde_cross_loglik_cpp(X, Y, A - 1L, owner - 1L, N,
                                      lapply(eval, function(e) e - 1L), 0.8, 0.6, 1.5,
                                      window, 2L)
    expect_equal(got, ref, tolerance = 1e-10)
  }
})

lin2d_data <- function(...) {
  sim <- sim_linear2d(...)
  list(sim = sim, data = p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2")))
}

# Share of individuals in their true subgroup's majority cluster.
agreement <- function(cl, truth) {
  tab <- table(cl, truth)
  sum(apply(tab, 2, max)) / length(cl)
}

same_partition <- function(a, b) {
  tab <- table(a, b)
  all(rowSums(tab > 0) == 1) && all(colSums(tab > 0) == 1)
}

test_that("select_groups finds the paper's three subgroups in the 2-D environment", {
  x <- lin2d_data(num.per.group = 20, T = 100, seed = 1)
  sel <- select_groups(x$data)
  expect_s3_class(sel, "p4l_groups")
  expect_identical(sel$K, 3L)
  expect_true(same_partition(sel$cluster, x$sim$group))
  expect_identical(names(sel$cluster), as.character(x$data$ids))
  expect_identical(sel$criterion$K, 2:6)
  expect_identical(which.max(sel$criterion$silhouette) + 1L, 3L)
  expect_true(isSymmetric(sel$distance))
  expect_true(all(diag(sel$distance) == 0) && all(sel$distance >= 0))
  # planted: distances within subgroups are smaller than between
  g <- as.integer(x$sim$group)
  same <- outer(g, g, "==") & !diag(length(g))
  expect_lt(max(tapply(sel$distance[same], outer(g, g)[same], mean)),
            min(sel$distance[outer(g, g, "!=")]) + 1)
  expect_lt(mean(sel$distance[same]), mean(sel$distance[outer(g, g, "!=")]) / 3)
})

test_that("select_groups finds three CartPole environments (setting C)", {
  sim <- sim_cartpole(cartpole_settings("C"), num.traj = 60, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward",
                c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
  sel <- select_groups(d)
  expect_identical(sel$K, 3L)
  expect_gte(agreement(sel$cluster, sim$group), 0.98)   # 179 of 180 with this seed
})

test_that("select_groups finds two planted subgroups and other K when asked", {
  x <- lin2d_data(num.per.group = 15, T = 80, groups = linear2d_groups()[c("a", "c"), ], seed = 4)
  sel <- select_groups(x$data, max.K = 4)
  expect_identical(sel$K, 2L)
  expect_true(same_partition(sel$cluster, x$sim$group))
  expect_identical(ncol(sel$clusters), 3L)
  one <- select_groups(x$data, max.K = 4, min.silhouette = 1)
  expect_identical(one$K, 1L)
  expect_true(all(one$cluster == 1L))
})

test_that("select_groups is deterministic and invariant to threads and row order", {
  x <- lin2d_data(num.per.group = 8, T = 60, seed = 2)
  a <- select_groups(x$data, max.K = 4, num.threads = 1)
  b <- select_groups(x$data, max.K = 4, num.threads = 2)
  expect_identical(a, b)
  df <- x$sim$data[sample(nrow(x$sim$data)), ]
  df$id <- paste0("p", df$id)          # relabelled ids (sorted differently), shuffled rows
  d2 <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"))
  c2 <- select_groups(d2, max.K = 4)
  map <- match(paste0("p", x$data$ids), rownames(c2$distance))
  expect_equal(unname(c2$distance[map, map]), unname(a$distance), tolerance = 1e-12)
  expect_identical(c2$K, a$K)
  expect_true(same_partition(c2$cluster[map], a$cluster))
})

test_that("select_groups validates its arguments", {
  x <- lin2d_data(num.per.group = 2, T = 10, seed = 1)
  expect_error(select_groups(x$sim$data), "p4l_data")
  expect_error(select_groups(x$data, max.K = 1), "`max.K`")
  expect_error(select_groups(x$data, bandwidth = -1), "`bandwidth`")
  expect_error(select_groups(x$data, bandwidth = c(1, 2, 3)), "`bandwidth`")
  expect_error(select_groups(x$data, shrinkage = 0), "`shrinkage`")
  expect_error(select_groups(x$data, window = -1), "`window`")
  expect_error(select_groups(x$data, linkage = "nope"))
  small <- lin2d_data(num.per.group = 1, T = 10, groups = linear2d_groups()[1:2, ], seed = 1)
  expect_error(select_groups(small$data), "at least 3")
  expect_identical(select_groups(x$data, max.K = 10)$settings$max.K, 5L)  # capped at N - 1
})

test_that("print and plot methods work", {
  x <- lin2d_data(num.per.group = 6, T = 50, seed = 1)
  sel <- select_groups(x$data, max.K = 4)
  expect_output(print(sel), "K = 3 subgroups for 18 individuals")
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(sel), sel)
  expect_identical(plot(sel, which = "map"), sel)
})

test_that("individuals with a single transition are assigned after the clustering", {
  sim <- sim_linear2d(num.per.group = 6, T = 50, seed = 3)
  base <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ref <- select_groups(base, max.K = 4)
  # two new individuals, each a copy of the first step of an existing one
  extra <- do.call(rbind, lapply(c(1, 13), function(i) {
    rows <- sim$data[sim$data$id == i, ][1:2, ]
    rows$id <- 100 + i
    rows$action[2] <- NA; rows$reward[2] <- NA
    rows
  }))
  d <- p4l_data(rbind(sim$data, extra), "id", "time", "action", "reward", c("s1", "s2"))
  expect_message(sel <- select_groups(d, max.K = 4), "2 individual\\(s\\) with fewer than two")
  expect_identical(sel$K, ref$K)
  expect_identical(sort(sel$assigned), c("101", "113"))
  expect_identical(rownames(sel$distance), as.character(base$ids))
  # the extra transitions enter the pooled density and the scales only a little
  expect_equal(sel$distance, ref$distance, tolerance = 0.05)
  expect_true(all(sel$cluster %in% seq_len(sel$K)))
  expect_identical(unname(sel$cluster[as.character(base$ids)]), unname(ref$cluster))
  fit <- suppressWarnings(suppressMessages(p4l(d, K = "auto", seed = 1,
                                               control = p4l_control(max.iter = 5))))
  expect_identical(fit$K, ref$K)
})

# ---- method = "mixture" ---------------------------------------------------

# Short stays: N individuals x T transitions, 4 actions, one state. Group 2
# gains `effect` from action 4 and loses it on action 1 (in the reward and
# the next state); every individual has its own level `level.sd` in both.
short_stays <- function(N, T, groups = 2L, effect = 1.5, level.sd = 0, seed = 1) {
  set.seed(seed)
  grp <- rep(seq_len(groups), length.out = N)
  level <- rnorm(N, sd = level.sd)
  rows <- expand.grid(time = seq_len(T + 1), id = seq_len(N))
  rows$action <- sample(1:4, nrow(rows), replace = TRUE)
  eff <- rbind(c(0, 0, 0, 0), c(-effect, 0, 0, effect))[pmin(grp, 2L), ]
  shift <- eff[cbind(rows$id, rows$action)] + level[rows$id]
  s <- numeric(nrow(rows))
  for (i in seq_len(N)) {
    r <- which(rows$id == i)
    s[r[1]] <- rnorm(1)
    for (t in r[-1]) s[t] <- 0.5 * s[t - 1] + shift[t - 1] + rnorm(1, sd = 0.7)
  }
  rows$s <- s
  rows$reward <- 0.3 * s + shift + rnorm(nrow(rows), sd = 0.7)
  last <- rows$time == T + 1
  rows$action[last] <- NA
  rows$reward[last] <- NA
  list(data = p4l_data(rows, "id", "time", "action", "reward", "s"), group = grp, rows = rows)
}

test_that("the mixture log-likelihood is the within-individual sum of squares, by brute force", {
  set.seed(5)
  N <- 7; m <- 3; q <- 2
  g <- rep(1:N, c(4, 1, 6, 3, 5, 2, 4))
  A <- sample(1:m, length(g), replace = TRUE)
  Z <- matrix(rnorm(length(g) * q), ncol = q)
  st <- p4l:::groups_mixture_counts(Z, A, g, N, m)
  M <- list(matrix(rnorm(m * q), m), matrix(rnorm(m * q), m))
  ref <- sapply(M, function(Mk) sapply(1:N, function(i) {
    r <- Z[g == i, , drop = FALSE] - Mk[A[g == i], , drop = FALSE]
    -0.5 * sum(sweep(r, 2, colMeans(r))^2)      # the individual's level profiled out
  }))
  expect_equal(p4l:::groups_mixture_loglik(st, M), ref, tolerance = 1e-10)
  # an individual with one transition, or with one action only, is uninformative
  expect_equal(p4l:::groups_mixture_loglik(st, M)[2, 1], 0)
})

test_that("the mixture M-step maximises the weighted likelihood (finite differences)", {
  set.seed(6)
  N <- 30; m <- 3; q <- 2; lambda <- 0.7
  g <- rep(1:N, sample(2:6, N, replace = TRUE))
  A <- sample(1:m, length(g), replace = TRUE)
  Z <- matrix(rnorm(length(g) * q), ncol = q)
  st <- p4l:::groups_mixture_counts(Z, A, g, N, m)
  post <- matrix(runif(2 * N), N)
  post <- post / rowSums(post)
  M <- p4l:::groups_mixture_means(st, post, lambda)
  objective <- function(Mk, k) sum(post[, k] * p4l:::groups_mixture_loglik(st, list(Mk))) -
    lambda / 2 * sum(Mk^2)
  for (k in 1:2) {
    f0 <- objective(M[[k]], k)
    for (j in 1:5) {
      D <- matrix(rnorm(m * q), m)
      h <- 1e-3
      expect_lt(abs(objective(M[[k]] + h * D, k) - objective(M[[k]] - h * D, k)) / (2 * h),
                1e-6)
      expect_lt(objective(M[[k]] + 0.1 * D, k), f0)
    }
  }
})

test_that("the mixture residuals are whitened within individuals, as the formula says", {
  x <- short_stays(40, 6, level.sd = 1, seed = 2)
  d <- x$data
  st <- p4l:::groups_mixture_stats(d)
  # an independent computation: per action lm() residuals of (R, S') on S,
  # their pooled within-individual covariance C, and each individual's sum
  # of e' C^-1 e (invariant to the scaling of the state)
  keep <- d$next.observed
  S <- d$S[keep, 1]; Y <- cbind(d$R[keep], d$S_next[keep, 1]); A <- d$A[keep]
  g <- d$individual[keep]
  E <- matrix(0, sum(keep), 2)
  for (a in 1:4) E[A == a, ] <- residuals(lm(Y[A == a, ] ~ S[A == a]))
  W <- E - apply(E, 2, function(e) ave(e, g))
  C <- crossprod(W) / (length(g) - length(unique(g)))
  ref <- rowSums((E %*% solve(C)) * E)
  expect_identical(st$q, 2L)
  expect_equal(st$SS, as.numeric(tapply(ref, factor(g, levels = 1:40), sum)), tolerance = 1e-8)
  expect_equal(st$nia, unname(unclass(table(factor(g, 1:40), factor(A, 1:4)))),
               ignore_attr = TRUE)
  # a response that is an exact function of another adds no direction
  d2 <- d
  d2$S_next <- cbind(d$S_next, twice = 2 * d$S_next[, 1])
  d2$S <- cbind(d$S, twice = 2 * d$S[, 1])
  st2 <- p4l:::groups_mixture_stats(d2)
  expect_identical(st2$q, 2L)
  expect_equal(st2$SS, st$SS, tolerance = 1e-8)
})

test_that("select_groups(method = \"mixture\") finds planted subgroups behind individual levels", {
  x <- short_stays(160, 8, groups = 2, level.sd = 2, seed = 3)
  sel <- select_groups(x$data, max.K = 4, method = "mixture")
  expect_s3_class(sel, "p4l_groups")
  expect_identical(sel$method, "mixture")
  expect_identical(sel$K, 2L)
  expect_gt(agreement(sel$cluster, x$group), 0.9)
  expect_identical(sel$criterion$K, 1:4)
  expect_equal(sel$criterion$cv.gain[1], 0)
  expect_equal(rowSums(sel$posterior), rep(1, 160), tolerance = 1e-12, ignore_attr = TRUE)
  expect_identical(unname(max.col(sel$posterior)), unname(sel$cluster))
  expect_identical(names(sel$cluster), as.character(x$data$ids))
  expect_identical(unname(sel$clusters[, "2"]), unname(sel$cluster))
})

test_that("the mixture keeps one group when individuals differ only in their level", {
  # strong individual levels (sd 2, three times the noise) and no subgroups:
  # the levels are profiled out, so they are not mistaken for subgroups
  x <- short_stays(160, 8, groups = 1, level.sd = 2, seed = 4)
  sel <- select_groups(x$data, max.K = 4, method = "mixture")
  expect_identical(sel$K, 1L)
  expect_true(all(sel$cluster == 1L))
  expect_true(all(sel$criterion$cv.gain[-1] < 0))
})

test_that("method \"auto\" takes the mixture for short stays and the KDE for long trajectories", {
  x <- short_stays(40, 6, seed = 5)
  expect_identical(select_groups(x$data, max.K = 3)$method, "mixture")
  y <- lin2d_data(num.per.group = 4, T = 50, seed = 1)
  expect_identical(select_groups(y$data, max.K = 3)$method, "kde")
  # short stays with ordinal responses (a score 0..3 and a reward in {-1, 0, 1})
  rows <- x$rows
  rows$s <- pmin(3, pmax(0, round(rows$s + 1.5)))
  rows$reward <- sign(round(rows$reward))
  z <- p4l_data(rows, "id", "time", "action", "reward", "s")
  expect_identical(p4l:::groups_auto_method(z), "kde")
  expect_identical(p4l:::groups_auto_method(x$data), "mixture")
})

test_that("the mixture's K follows its documented rule from the held-out log-likelihoods", {
  # weak planted effects and few individuals, where the rule's two parts matter
  for (seed in 1:4) {
    x <- short_stays(30, 5, groups = 2, effect = 0.6, seed = seed)
    sel <- select_groups(x$data, max.K = 3, method = "mixture")
    H <- sel$heldout
    se <- function(v) sd(v) / sqrt(length(v))
    gain <- H - H[, 1]
    expect_equal(sel$criterion$cv.gain, unname(colMeans(gain)), tolerance = 1e-12)
    expect_equal(sel$criterion$se, unname(apply(gain, 2, se)), tolerance = 1e-12)
    best <- which.max(colMeans(H))
    within <- vapply(1:3, function(k) mean(H[, k] - H[, best]) >= -se(H[, k] - H[, best]), TRUE)
    K <- which(within)[1]
    if (K > 1 && mean(gain[, K]) < 2 * se(gain[, K])) K <- 1L
    expect_identical(sel$K, K)
  }
})

test_that("the mixture is reproducible from its seed and leaves R's random state alone", {
  x <- short_stays(60, 6, seed = 6)
  set.seed(10)
  before <- .Random.seed
  a <- select_groups(x$data, max.K = 3, method = "mixture", seed = 7)
  expect_identical(.Random.seed, before)
  b <- select_groups(x$data, max.K = 3, method = "mixture", seed = 7)
  expect_identical(a, b)
})

test_that("the mixture lists uninformative individuals and checks its arguments", {
  x <- short_stays(40, 6, seed = 8)
  rows <- x$rows
  rows$action[rows$id == 3 & !is.na(rows$action)] <- 2L
  d <- p4l_data(rows, "id", "time", "action", "reward", "s")
  sel <- select_groups(d, max.K = 3, method = "mixture")
  expect_identical(sel$uninformative, "3")
  expect_output(print(sel), "single action")
  expect_error(select_groups(d, method = "mixture", folds = 41), "folds")
  expect_error(select_groups(d, method = "mixture", ridge = 0), "ridge")
  expect_error(select_groups(d, method = "mixture", restarts = 0), "restarts")
  expect_error(select_groups(d, method = "density"), "method")
  one <- short_stays(10, 1, seed = 9)$data                  # one transition each
  expect_error(select_groups(one, method = "mixture"), "two transitions")
  expect_output(print(sel), "held-out log-likelihood")
  pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(sel), sel)
  expect_identical(plot(sel, which = "map"), sel)
})

test_that("the mixture runs when most individuals are alike (fewer distinct rows than K)", {
  # 12 individuals, 10 of them with identical transitions: k-means cannot
  # start K = 4 from 3 distinct rows, so EM starts from random partitions
  x <- short_stays(12, 4, seed = 10)
  rows <- x$rows
  template <- rows[rows$id == 1, c("time", "action", "reward", "s")]
  for (i in 3:12) rows[rows$id == i, c("time", "action", "reward", "s")] <- template
  d <- p4l_data(rows, "id", "time", "action", "reward", "s")
  sel <- select_groups(d, max.K = 4, method = "mixture", folds = 3)
  expect_s3_class(sel, "p4l_groups")
  expect_true(all(is.finite(sel$criterion$cv.gain)))
  expect_identical(ncol(sel$clusters), 4L)
})
