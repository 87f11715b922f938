#' Optimal values of the paper's 2-D environment
#'
#' The value of the optimal policy of each subgroup of [sim_linear2d()], on
#' the scale [evaluate_policy()] reports: the expected discounted return
#' \eqn{\sum_{t < H} \gamma^t R_t}{sum_(t < H) gamma^t R_t} over `horizon` steps from
#' \eqn{S_0 \sim N(0, I_2)}{S_0 ~ N(0, I_2)}.
#'
#' Computed by finite-horizon dynamic programming (backward induction over the
#' `horizon` steps, so the policy may depend on the steps left) on a square
#' grid of \eqn{G^2}{G^2} states (G = `grid.size`) over \eqn{[-L, L]^2}{[-L, L]^2}
#' (L = `limit`): the expected reward is exact, the expectation over the Gaussian transition
#' noise is a discrete convolution with the exact normal cell probabilities
#' (the tails are put on the edge cells), the value at the mean next state is
#' interpolated bilinearly, and the final integral over \eqn{S_0} uses the
#' exact normal cell probabilities. The default grid (spacing 0.05) is
#' accurate to about 1e-3 (halving the spacing changes the values by less).
#'
#' @param groups Subgroup parameters as in [sim_linear2d()].
#' @param gamma Discount factor.
#' @param horizon Number of steps.
#' @param grid.size Grid points per dimension.
#' @param limit Half-width of the grid.
#' @return A data frame with the columns of `groups` and `value`, one row per
#'   subgroup (row names kept).
#' @examples
#' linear2d_optimum(grid.size = 61)
#' @export
linear2d_optimum <- function(groups = linear2d_groups(), gamma = 0.8, horizon = 50,
                             grid.size = 241, limit = 6) {
  if (!is.data.frame(groups) || !all(c("c1", "c2") %in% names(groups))) {
    stop_arg("`groups` must be a data frame with columns 'c1' and 'c2'.")
  }
  if (is.null(groups$reward.sign)) groups$reward.sign <- 1
  gamma <- check_gamma(gamma)
  horizon <- check_count(horizon, "horizon")
  grid.size <- check_count(grid.size, "grid.size", lower = 11L)
  limit <- check_number(limit, "limit", lower = 0, lower.open = TRUE)
  x <- seq(-limit, limit, length.out = grid.size)
  h <- x[2] - x[1]
  edges <- c(-Inf, x[-1] - h / 2, Inf)
  # K[i, j] = P(x_i + e in cell j), e ~ N(0, 0.5^2)
  K <- t(vapply(x, function(xi) diff(stats::pnorm(edges, mean = xi, sd = 0.5)), numeric(grid.size)))
  w0 <- diff(stats::pnorm(edges))
  S1 <- rep(x, times = grid.size)   # s1 varies along rows of the grid matrix
  S2 <- rep(x, each = grid.size)
  interp <- function(V, p1, p2) {
    p1 <- pmin(pmax(p1, -limit), limit)
    p2 <- pmin(pmax(p2, -limit), limit)
    f1 <- (p1 + limit) / h
    f2 <- (p2 + limit) / h
    i1 <- pmin(floor(f1), grid.size - 2L)
    i2 <- pmin(floor(f2), grid.size - 2L)
    t1 <- f1 - i1
    t2 <- f2 - i2
    i1 <- i1 + 1L
    i2 <- i2 + 1L
    n <- grid.size
    (1 - t1) * (1 - t2) * V[i1 + (i2 - 1L) * n] + t1 * (1 - t2) * V[i1 + 1L + (i2 - 1L) * n] +
      (1 - t1) * t2 * V[i1 + i2 * n] + t1 * t2 * V[i1 + 1L + i2 * n]
  }
  value <- numeric(nrow(groups))
  for (g in seq_len(nrow(groups))) {
    c1 <- groups$c1[g]
    c2 <- groups$c2[g]
    sg <- groups$reward.sign[g]
    mu <- lapply(0:1, function(a) list(m1 = 0.8 * (2 * a - 1) * S1 + c1 * S2,
                                        m2 = c2 * S1 + 0.8 * (1 - 2 * a) * S2,
                                        r = 0.9 / (1 + exp(sg * (2 * a - 1) * (S1 - 2 * S2)))))
    V <- matrix(0, grid.size, grid.size)
    for (step in seq_len(horizon)) {
      EV <- K %*% V %*% t(K)   # E[V(s + e)] on the grid
      Q <- vapply(mu, function(m) m$r + gamma * interp(EV, m$m1, m$m2), numeric(length(S1)))
      V <- matrix(pmax(Q[, 1], Q[, 2]), grid.size, grid.size)
    }
    value[g] <- sum(outer(w0, w0) * V)
  }
  out <- groups
  out$value <- value
  out
}
