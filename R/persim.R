#' Personalised simulator fitted to observed data
#'
#' Fits a personalised simulator in the low-rank form of PerSim (Agarwal et
#' al., 2021), which the P4L paper uses to evaluate policies on MIMIC-III
#' (its Table 3): the expected next-state increment of individual \eqn{i}
#' under action \eqn{a} at state \eqn{s} is
#' \deqn{E[S' - S \mid S = s, A = a, i] = \sum_{r=1}^{R} u_{ir}\, w_{ar}\, V_r \phi(s),}{E[S' - S | s, a, i] = sum_r u_ir w_ar V_r phi(s),}
#' a tensor of rank `rank` over individual x action x state, with individual
#' factors \eqn{u_i}, action factors \eqn{w_a} and state maps \eqn{V_r}
#' (d x m matrices) linear in the features
#' \eqn{\phi(s) = (1, z, \exp(-\|z - c_k\|^2 / (2 h^2))_{k})}{phi(s) = (1, z, exp(-|z - c_k|^2 / (2 h^2)))},
#' where \eqn{z} is the state standardised by the data's means and standard
#' deviations and \eqn{c_k} are `num.centers` centres (K-means on the
#' standardised states, bandwidth \eqn{h} the median distance between
#' centres). The result is an environment for every individual, which
#' [evaluate_policy()] and [compare_policies()] accept in place of a true
#' simulator.
#'
#' @section Fitting:
#' The factors minimise the penalised residual sum of squares
#' \deqn{\frac12 \sum_t \|S'_t - S_t - \hat\Delta_t\|^2 + \frac{\mathrm{ridge}}{2}(\|U\|^2 + \|W\|^2 + \sum_r \|V_r\|^2)}{(1/2) sum_t |S'_t - S_t - fitted_t|^2 + (ridge/2)(|U|^2 + |W|^2 + sum_r |V_r|^2)}
#' by alternating ridge least squares in C++: \eqn{V} given \eqn{U, W} (one
#' linear least-squares problem shared by the state dimensions), each
#' \eqn{u_i} given \eqn{V, W}, each \eqn{w_a} given \eqn{V, U}; then the three
#' factors of each component are rescaled to equal norms (the fit is
#' unchanged and the penalty does not increase). Every step is an exact
#' minimiser, so the objective never increases; iterations stop when it
#' decreases by less than `tol` relatively. Transitions without a recorded
#' next state (terminal transitions) are left out.
#'
#' @section Simulating:
#' From state \eqn{s} under action \eqn{a}, individual \eqn{i}'s environment
#' draws \eqn{S' = s + \hat\Delta(s, a, i) + L e}, \eqn{e \sim N(0, I)}{e ~ N(0, I)},
#' where \eqn{L L^\top}{L L'} is the covariance of the fitted residuals
#' (`noise = FALSE` leaves the noise out); with `clip = TRUE` each state
#' variable is kept within the range observed in the data. The reward is a
#' ridge regression fitted on the observed transitions: linear in
#' \eqn{\phi(s)} separately for each action, plus a linear term in the next
#' state (so a reward that is a function of the next state, such as
#' \eqn{-}SOFA at the next block in [sepsis_data()], is reproduced exactly
#' when that function is linear), clipped to the range of the observed
#' rewards. With `initial = "own"`, episodes start at the individual's first
#' observed state; with `initial = "gaussian"`, at a draw from the normal
#' distribution with the mean and covariance of all individuals' first
#' states (clipped like the other states). There are no absorbing states:
#' episodes run for the `horizon` that [evaluate_policy()] is given.
#'
#' @param data A [p4l_data()] object.
#' @param rank Rank of the tensor model (number of components).
#' @param num.centers Number of Gaussian features besides the linear ones
#'   (0 gives a model linear in the state).
#' @param ridge Ridge penalty of the factors and of the reward model.
#' @param noise Whether simulated transitions add the residual noise.
#' @param clip Whether simulated states are kept within the observed range.
#' @param initial Where episodes start: `"own"` (each individual's first
#'   observed state) or `"gaussian"` (see Simulating).
#' @param max.iter Largest number of alternating sweeps.
#' @param tol Relative decrease of the objective below which the sweeps stop.
#' @param seed Random seed of the K-means centres and of the starting factors
#'   (`NULL` draws one from R's generator).
#' @param num.threads Number of threads (see [p4l-package]); results do not
#'   depend on it.
#' @return An object of class `p4l_persim`: `U` (individuals x rank, row
#'   names the ids), `W` (actions x rank), `V` (list of d x m matrices),
#'   `features` (centre, scale, centres, bandwidth), `noise.chol`,
#'   `reward.coef`, `reward.range`, `state.range`, `initial` (first state of
#'   each individual), `r.squared` (share of the variance of each state's
#'   increment that the model explains), `reward.r.squared`, `objective`,
#'   `iterations`, `converged`, and the data's `ids`, `state.names`,
#'   `action.levels`. Use [persim_env()] for the environments.
#' @references Agarwal, A., Alomar, A., Alumootil, V., Shah, D., Shen, D.,
#'   Xu, Z. and Yang, C. (2021). PerSim: data-efficient offline reinforcement
#'   learning with heterogeneous agents via personalized simulators.
#'   *Advances in Neural Information Processing Systems* 34.
#' @seealso [persim_env()], [evaluate_policy()], [compare_policies()].
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' ps <- persim(d, rank = 3, seed = 1)
#' ps
#' # a fixed policy evaluated by the fitted simulator and by the true one
#' always1 <- fixed_policy(1, d)
#' mean(evaluate_policy(always1, ps, horizon = 20, gamma = 0.9, num.episodes = 100,
#'                      seed = 1)$value)
#' mean(evaluate_policy(always1, sim$env, horizon = 20, gamma = 0.9, num.episodes = 100,
#'                      seed = 1)$value)
#' @export
persim <- function(data, rank = 2, num.centers = 10, ridge = 1e-3, noise = TRUE, clip = TRUE,
                   initial = c("own", "gaussian"), max.iter = 500, tol = 1e-6, seed = NULL,
                   num.threads = NULL) {
  check_p4l_data_arg(data)
  rank <- check_count(rank, "rank")
  num.centers <- check_count(num.centers, "num.centers", lower = 0L)
  ridge <- check_number(ridge, "ridge", lower = 0)
  noise <- check_flag(noise, "noise")
  clip <- check_flag(clip, "clip")
  initial <- match.arg(initial)
  max.iter <- check_count(max.iter, "max.iter")
  tol <- check_number(tol, "tol", lower = 0)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  use <- data$next.observed
  if (sum(use) < 2L) stop_arg("`data` needs at least two transitions with a recorded next state.")
  S <- data$S[use, , drop = FALSE]
  S.next <- data$S_next[use, , drop = FALSE]
  features <- persim_feature_spec(S, num.centers, seed)
  phi <- persim_features(features, S, num.threads)
  dS <- S.next - S
  ind <- data$individual[use]
  act <- data$A[use]
  res <- persim_fit_cpp(phi, dS, ind - 1L, act - 1L, length(data$ids),
                        length(data$action.levels), rank, ridge, max.iter, tol, seed,
                        num.threads)
  resid <- dS - res$fitted
  tss <- colSums(sweep(dS, 2, colMeans(dS))^2)
  r2 <- ifelse(tss > 0, 1 - colSums(resid^2) / tss, NA_real_)
  Sigma <- crossprod(resid) / nrow(resid)
  L <- t(chol(Sigma + diag(1e-10 * max(1, mean(diag(Sigma))), ncol(S))))
  reward <- persim_reward_fit(phi, act, length(data$action.levels), S.next, data$R[use], ridge)
  state.range <- rbind(pmin(apply(data$S, 2, min), apply(S.next, 2, min)),
                       pmax(apply(data$S, 2, max), apply(S.next, 2, max)))
  dimnames(state.range) <- list(c("min", "max"), data$state.names)
  out <- list(
    U = matrix(res$U, ncol = rank, dimnames = list(as.character(data$ids), NULL)),
    W = matrix(res$W, ncol = rank, dimnames = list(as.character(data$action.levels), NULL)),
    V = res$V, features = features, noise.chol = L, reward.coef = reward$coef,
    reward.range = range(data$R), state.range = state.range,
    initial = matrix(data$S0, ncol = ncol(S), dimnames = list(as.character(data$ids),
                                                               data$state.names)),
    initial.type = initial, initial.chol = persim_initial_chol(data$S0, initial),
    r.squared = stats::setNames(r2, data$state.names), reward.r.squared = reward$r.squared,
    objective = res$objective, iterations = res$iterations, converged = res$converged,
    ids = data$ids, state.names = data$state.names, action.levels = data$action.levels,
    num.transitions = nrow(S), rank = rank, noise = noise, clip = clip, ridge = ridge,
    seed = seed, call = match.call()
  )
  class(out) <- "p4l_persim"
  if (!out$converged) {
    warning("persim(): the alternating least squares did not converge in ", max.iter,
            " sweeps (relative decrease ", signif(persim_last_decrease(out$objective), 2),
            "); increase `max.iter`.", call. = FALSE)
  }
  out
}

# Lower Cholesky factor of the first states' covariance ("gaussian"), or 0.
persim_initial_chol <- function(S0, initial) {
  d <- ncol(S0)
  if (initial == "own" || nrow(S0) < 2L) return(matrix(0, d, d))
  C <- stats::cov(S0)
  t(chol(C + diag(1e-10 * max(1, mean(diag(C))), d)))
}

persim_last_decrease <- function(obj) {
  k <- length(obj)
  if (k < 2L) return(NA_real_)
  (obj[k - 1L] - obj[k]) / max(obj[k], 1e-300)
}

# Centre, scale, K-means centres (standardised units) and bandwidth.
persim_feature_spec <- function(S, num.centers, seed) {
  center <- colMeans(S)
  scale <- apply(S, 2, stats::sd)
  scale[!is.finite(scale) | scale <= 0] <- 1
  Z <- sweep(sweep(S, 2, center), 2, scale, "/")
  centres <- matrix(0, 0, ncol(S))
  bandwidth <- 1
  distinct <- nrow(unique(Z))
  k <- min(num.centers, distinct)
  if (k >= 1L) {
    local_seed(seed)
    rows <- if (nrow(Z) > 5000L) sample.int(nrow(Z), 5000L) else seq_len(nrow(Z))
    Zs <- Z[rows, , drop = FALSE]
    centres <- if (k == 1L) matrix(colMeans(Zs), 1L) else
      suppressWarnings(stats::kmeans(Zs, centers = k, iter.max = 50L, nstart = 1L))$centers
    if (nrow(centres) >= 2L) {
      dd <- as.numeric(stats::dist(centres))
      bandwidth <- stats::median(dd[dd > 0])
    }
    if (!is.finite(bandwidth) || bandwidth <= 0) bandwidth <- 1
  }
  dimnames(centres) <- NULL
  list(center = unname(center), scale = unname(scale), centres = centres, bandwidth = bandwidth)
}

persim_features <- function(features, S, num.threads = 1L) {
  persim_features_cpp(S, features$center, features$scale, features$centres, features$bandwidth,
                      num.threads)
}

# Reward = phi(S)' beta_a + S_next' eta, ridge on every coefficient but the
# per-action intercepts.
persim_reward_fit <- function(phi, act, A, S.next, R, ridge) {
  m <- ncol(phi)
  X <- matrix(0, nrow(phi), m * A)
  for (a in seq_len(A)) {
    rows <- act == a
    X[rows, (a - 1L) * m + seq_len(m)] <- phi[rows, , drop = FALSE]
  }
  X <- cbind(X, S.next)
  pen <- rep(ridge, ncol(X))
  pen[(seq_len(A) - 1L) * m + 1L] <- 0
  G <- crossprod(X)
  diag(G) <- diag(G) + pen + 1e-12 * max(1, max(diag(G)))
  beta <- solve(G, crossprod(X, R))
  fitted <- drop(X %*% beta)
  tss <- sum((R - mean(R))^2)
  list(coef = list(phi = matrix(beta[seq_len(m * A)], m, A),
                   next.state = beta[m * A + seq_len(ncol(S.next))]),
       r.squared = if (tss > 0) 1 - sum((R - fitted)^2) / tss else NA_real_)
}

# A function of an individual's row k giving the packed parameter vector of
# its environment (layout in src/core/persim.cpp).
persim_params <- function(object) {
  f <- object$features
  d <- length(object$state.names)
  # the parts shared by every individual, packed once
  head <- c(d, length(object$action.levels), object$rank, nrow(f$centres), f$bandwidth,
            as.numeric(object$clip), as.numeric(object$noise),
            f$center, f$scale, as.numeric(f$centres))
  middle <- c(as.numeric(object$W), unlist(lapply(object$V, as.numeric)),
              as.numeric(object$noise.chol), as.numeric(object$reward.coef$phi),
              object$reward.coef$next.state, object$reward.range,
              object$state.range[1, ], object$state.range[2, ])
  tail <- as.numeric(object$initial.chol)
  own <- object$initial.type == "own"
  start <- if (own) NULL else colMeans(object$initial)
  function(k) c(head, object$U[k, ], middle, if (own) object$initial[k, ] else start, tail)
}

#' @export
print.p4l_persim <- function(x, ...) {
  cat("<p4l_persim> personalised simulator of rank ", x$rank, ": ", length(x$ids),
      " individuals, ", length(x$action.levels), " actions, ", length(x$state.names),
      " states, ", nrow(x$features$centres), " Gaussian features\n", sep = "")
  cat("  fitted on ", x$num.transitions, " transitions; ", x$iterations, " sweeps, ",
      if (x$converged) "converged" else "NOT converged", "\n", sep = "")
  r2 <- x$r.squared
  cat("  R^2 of the state increments: ",
      paste(sprintf("%s %.2f", names(r2), r2), collapse = ", "), "\n", sep = "")
  cat("  R^2 of the reward model: ", sprintf("%.3f", x$reward.r.squared), "\n", sep = "")
  cat("  noise: ", if (x$noise) "residual covariance" else "none", "; start: ",
      if (x$initial.type == "own") "own first state" else "normal fitted to first states",
      "; states ",
      if (x$clip) "clipped to the observed range" else "not clipped", "\n", sep = "")
  invisible(x)
}

#' Predictions of a personalised simulator
#'
#' @param object A `p4l_persim` object.
#' @param newdata A [p4l_data()] object whose individuals the simulator was
#'   fitted on (default: none, which is an error: give the data).
#' @param ... Unused.
#' @return A list with `state` (the mean next state of every transition of
#'   `newdata`, clipped as in simulation) and `reward` (the mean reward given
#'   that mean next state).
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' ps <- persim(d, rank = 2, seed = 1)
#' p <- predict(ps, d)
#' cor(p$state[, 1], d$S_next[, 1])
#' @export
predict.p4l_persim <- function(object, newdata, ...) {
  if (missing(newdata)) stop_arg("Give `newdata`, a p4l_data object.")
  if (!inherits(newdata, "p4l_data")) stop_arg("`newdata` must be a p4l_data object.")
  if (!identical(newdata$state.names, object$state.names)) {
    stop_arg("`newdata` must have the simulator's states (", paste(object$state.names,
                                                                   collapse = ", "), ").")
  }
  amap <- match(as.character(newdata$action.levels), as.character(object$action.levels))
  if (anyNA(amap)) stop_arg("`newdata` has actions the simulator does not know.")
  k <- match_ids(newdata$ids, object$ids)
  if (anyNA(k)) {
    stop_arg("`newdata` has individual(s) the simulator was not fitted on: ",
             paste(utils::head(format(newdata$ids[is.na(k)]), 5), collapse = ", "), ".")
  }
  state <- matrix(NA_real_, nrow(newdata$S), ncol(newdata$S),
                  dimnames = list(NULL, object$state.names))
  reward <- rep(NA_real_, nrow(newdata$S))
  pack <- persim_params(object)
  for (j in seq_along(newdata$ids)) {
    rows <- which(newdata$individual == j)
    if (length(rows) == 0L) next
    res <- persim_mean_step_cpp(pack(k[j]), newdata$S[rows, , drop = FALSE],
                                amap[newdata$A[rows]] - 1L)
    state[rows, ] <- res$state
    reward[rows] <- res$reward
  }
  list(state = state, reward = reward)
}
