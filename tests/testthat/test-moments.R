# The per-action moments shared by the estimators (src/core/moments.h),
# against the same sums written out in R.

moments_fixture <- function() {
  sim <- sim_icu(40, max.decisions = 6, seed = 11)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
                terminal = "terminal")
  b <- rbf_basis(d, 4, seed = 1)
  psi <- basis_features(b, d$S, 1L)
  psin <- basis_features(b, d$S_next, 1L)
  psin[d$terminal, ] <- NaN  # never read on absorbing rows
  list(d = d, psi = psi, psin = psin)
}

moments_reference <- function(f, members, policy, W, gamma) {
  d <- f$d
  rows <- which(d$individual %in% members)
  m <- length(d$action.levels)
  dd <- ncol(f$psi)
  x <- f$psi[rows, , drop = FALSE]
  xn <- f$psin[rows, , drop = FALSE]
  live <- !d$terminal[rows]
  A <- d$A[rows]
  P <- switch(policy,
    uniform = matrix(1 / m, length(rows), m),
    greedy = {
      P <- matrix(0, length(rows), m)
      P[cbind(which(live), max.col(xn[live, , drop = FALSE] %*% W, "first"))] <- 1
      P
    },
    softmax = {
      L <- xn %*% W
      E <- exp(L - apply(L, 1, max))
      E / rowSums(E)
    })
  P[!live, ] <- 0
  G <- matrix(0, dd, m * dd); h <- matrix(0, dd, m); K <- matrix(0, m * dd, m * dd)
  X <- matrix(0, length(rows), m * dd); D <- X
  for (a in seq_len(m)) {
    ia <- A == a
    blk <- (a - 1) * dd + seq_len(dd)
    G[, blk] <- crossprod(x[ia, , drop = FALSE])
    h[, a] <- crossprod(x[ia, , drop = FALSE], d$R[rows][ia])
    X[ia, blk] <- x[ia, ]
    for (c in seq_len(m)) {
      il <- ia & live
      cb <- (c - 1) * dd + seq_len(dd)
      K[blk, cb] <- crossprod(x[il, , drop = FALSE], P[il, c] * xn[il, , drop = FALSE])
    }
  }
  for (c in seq_len(m)) {
    cb <- (c - 1) * dd + seq_len(dd)
    D[live, cb] <- D[live, cb] - gamma * P[live, c] * xn[live, , drop = FALSE]
  }
  D <- D + X
  td <- unname(f$psi - gamma * ifelse(d$terminal, 0, 1) * ifelse(is.nan(f$psin), 0, f$psin))
  list(G = G, h = h, K = K, X = X, D = D, R = d$R[rows], td = td)
}

test_that("action moments and design rows equal the sums written out in R for every policy", {
  f <- moments_fixture()
  m <- length(f$d$action.levels)
  set.seed(3)
  W <- matrix(rnorm(ncol(f$psi) * m), ncol(f$psi), m)
  members <- c(2L, 5L, 6L, 17L, 40L)
  inp <- p4l:::transition_inputs(f$d, f$psi, f$psin)
  for (policy in c("uniform", "greedy", "softmax")) {
    ref <- moments_reference(f, members, policy, W, 0.95)
    got <- p4l:::action_moments_cpp(inp, members - 1L, policy, W, 0.95, 2L)
    for (nm in names(ref)) expect_equal(got[[nm]], ref[[nm]], tolerance = 1e-12, info = paste(policy, nm))
    expect_equal(got$count, sum(f$d$individual %in% members))
    # the same sums with one thread, to the bit
    expect_identical(p4l:::action_moments_cpp(inp, members - 1L, policy, W, 0.95, 1L), got)
  }
  none <- p4l:::action_moments_cpp(inp, members - 1L, "none", W, 0.95, 1L)
  expect_equal(dim(none$K), c(0L, 0L))
  expect_equal(none$G, moments_reference(f, members, "uniform", W, 0.95)$G, tolerance = 1e-12)
})

test_that("action moments check their arguments", {
  f <- moments_fixture()
  inp <- p4l:::transition_inputs(f$d, f$psi, f$psin)
  W <- matrix(0, ncol(f$psi), 2)
  expect_error(p4l:::action_moments_cpp(inp, 0L, "greedy", W, 0.9, 1L), "W must be d x m")
  expect_error(p4l:::action_moments_cpp(inp, 0L, "greedy-ish", W, 0.9, 1L), "unknown policy")
  expect_error(p4l:::action_moments_cpp(inp, 40L, "uniform", W, 0.9, 1L), "members")
})
