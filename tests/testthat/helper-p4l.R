# Test levels: 1 (default) runs the quick set in CI; P4L_TEST_LEVEL=2 adds the
# long statistical checks.
test_level <- function() {
  lvl <- suppressWarnings(as.integer(Sys.getenv("P4L_TEST_LEVEL", "1")))
  if (is.na(lvl)) 1L else lvl
}
skip_if_quick <- function() {
  if (test_level() < 2L) skip("long statistical check: set P4L_TEST_LEVEL=2")
}

toy_long <- function() {
  # Two individuals, unbalanced, rows deliberately out of order.
  data.frame(
    pid = c("b", "a", "a", "b", "a", "b", "b"),
    t = c(2, 1, 0, 0, 2, 1, 3),
    trt = c("y", "x", "y", "x", NA, "x", NA),
    rew = c(0.5, 1, 2, 3, NA, -1, NA),
    x1 = c(3, 1.5, 1, 0, 2, 1, 4),
    x2 = c(-3, -1.5, -1, 0, -2, -1, -4),
    stringsAsFactors = FALSE
  )
}

# Absolute-tolerance comparison (testthat 3e's expect_equal is relative).
expect_near <- function(object, expected, tol) {
  act <- list(val = object, lab = deparse(substitute(object)))
  diff <- max(abs(as.numeric(act$val) - as.numeric(expected)))
  expect(is.finite(diff) && diff <= tol,
         sprintf("%s differs from %s by %.4g > %.4g", act$lab,
                 paste(format(expected, digits = 4), collapse = ", "), diff, tol))
  invisible(act$val)
}

# Small P4L problems and the closed-form dual evaluated directly (test-p4l*.R).
p4l_small <- function(N.per = 2, T = 12, centers = 3, seed = 1, terminal.frac = 0, m = 2) {
  sim <- sim_linear2d(num.per.group = N.per, T = T, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  if (terminal.frac > 0) {  # mark a few transitions absorbing (exercises the terminal path)
    set.seed(seed)
    d$terminal[sample(length(d$R), ceiling(terminal.frac * length(d$R)))] <- TRUE
  }
  b <- rbf_basis(d, centers, seed = 1)
  psi <- predict(b, d$S)
  psin <- predict(b, d$S_next)
  psi0 <- predict(b, d$S0)
  inp <- p4l:::p4l_inputs(d, psi, psin, psi0)
  if (m > 2) {  # relabel the actions at random: exercises the general softmax paths
    set.seed(seed + 100)
    n <- length(inp$transitions$action)
    inp$transitions$action <- sample.int(m, n, replace = TRUE) - 1L
    inp$transitions$num_actions <- as.integer(m)
  }
  list(sim = sim, d = d, b = b, inp = inp)
}

dual_at <- function(inp, Theta, U, gamma = 0.8, alpha = 0.1, ridge = 1e-6, grad = FALSE,
                    kappa = 0, visited = FALSE, threads = 1L, max.initial = 0L, seed = 1) {
  p4l:::p4l_dual_cpp(inp$transitions, inp$psi0, Theta, U, gamma, alpha, ridge, grad, threads,
                     kappa, as.integer(max.initial), seed, visited)
}

random_params <- function(N, d, m, r, seed) {
  set.seed(seed)
  list(Theta = matrix(rnorm((m - 1) * d * r, sd = 0.7), (m - 1) * d, r),
       U = cbind(1.5 + rnorm(N), matrix(rnorm(N * (r - 1)), N)))
}

# Sufficient statistics computed in R from the definitions (shared/design/solver.md).
# visited = TRUE: individual i's initial-state term is averaged over the
# states of its own transitions instead of the shared psi0; nu.rows: a list
# of the rows of psi0 each individual's term is averaged over (default all).
r_statistics <- function(inp, Theta, U, gamma, visited = FALSE, nu.rows = NULL) {
  tr <- inp$transitions
  d <- ncol(tr$psi); m <- tr$num_actions; r <- ncol(U); N <- nrow(U)
  n <- nrow(tr$psi); p <- m * d
  probs <- function(psi, u) {
    L <- cbind(0, sapply(seq_len(m - 1), function(a) psi %*% Theta[(a - 1) * d + 1:d, ] %*% u))
    E <- exp(L - apply(L, 1, max)); E / rowSums(E)
  }
  phibar <- function(psi, u) {  # sum_a pi(a|s) phi(s, a), one row per state
    P <- probs(psi, u); out <- matrix(0, nrow(psi), p)
    for (a in seq_len(m)) out[, (a - 1) * d + 1:d] <- psi * P[, a]
    out
  }
  Sigma <- M <- matrix(0, p * r, p * r); b <- cc <- numeric(p * r)
  for (i in seq_len(N)) {
    rows <- (tr$start[i] + 1):tr$start[i + 1]
    u <- U[i, ]
    Phi <- matrix(0, length(rows), p)
    for (k in seq_along(rows)) {
      a <- tr$action[rows[k]] + 1
      Phi[k, (a - 1) * d + 1:d] <- tr$psi[rows[k], ]
    }
    Pb <- phibar(tr$psi_next[rows, , drop = FALSE], u) * (1 - tr$terminal[rows])
    X <- t(apply(Phi, 1, function(f) kronecker(u, f)))
    Xb <- t(apply(Pb, 1, function(f) kronecker(u, f)))
    Sigma <- Sigma + crossprod(X) / n
    M <- M + crossprod(X, X - gamma * Xb) / n
    b <- b + colSums(X * tr$reward[rows]) / n
    nu <- if (visited) tr$psi[rows, , drop = FALSE] else
      if (is.null(nu.rows)) inp$psi0 else inp$psi0[nu.rows[[i]], , drop = FALSE]
    cc <- cc + (1 - gamma) / N * kronecker(u, colMeans(phibar(nu, u)))
  }
  list(Sigma = Sigma, M = M, b = as.numeric(b), c = as.numeric(cc))
}


# The gradient (g$dTheta, g$dU) of V(Theta, U) at par against central
# differences along `directions` random directions in (Theta, U) jointly.
expect_directional_fd <- function(V, par, g, seed, directions = 2, h = 1e-5) {
  set.seed(seed)
  for (k in seq_len(directions)) {
    DT <- matrix(rnorm(length(par$Theta)), nrow(par$Theta))
    DU <- matrix(rnorm(length(par$U)), nrow(par$U))
    fd <- (V(par$Theta + h * DT, par$U + h * DU) - V(par$Theta - h * DT, par$U - h * DU)) / (2 * h)
    an <- sum(g$dTheta * DT) + sum(g$dU * DU)
    testthat::expect_lt(abs(fd - an), 1e-5 * max(1, abs(an)))
  }
}

# Central finite differences of V(Theta, U) in every entry of Theta and of U.
fd_gradient <- function(V, Theta, U, h = 1e-5) {
  fdT <- Theta
  for (k in seq_along(fdT)) {
    a <- b <- Theta; a[k] <- a[k] + h; b[k] <- b[k] - h
    fdT[k] <- (V(a, U) - V(b, U)) / (2 * h)
  }
  fdU <- U
  for (k in seq_along(fdU)) {
    a <- b <- U; a[k] <- a[k] + h; b[k] <- b[k] - h
    fdU[k] <- (V(Theta, a) - V(Theta, b)) / (2 * h)
  }
  list(dTheta = fdT, dU = fdU)
}
