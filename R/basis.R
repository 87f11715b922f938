#' Gaussian radial basis features of the state
#'
#' Builds the shared feature map used by every estimator in the package
#' (paper, Sec 6.1): \eqn{J} Gaussian radial basis functions
#' \deqn{\psi_j(s) = \exp(-\|z(s) - c_j\|^2 / (2 h^2)),}
#' plus an intercept column first, where \eqn{z(s)} is the (optionally
#' standardised) state, the centres \eqn{c_j} come from K-means on the observed
#' states and the bandwidth \eqn{h} is the median pairwise Euclidean distance.
#'
#' **Centres.** K-means++ seeding (Arthur and Vassilvitskii, 2007) followed by
#' Lloyd iterations, repeated `num.starts` times; the start with the smallest
#' within-cluster sum of squares is kept. When there are more than
#' `sample.size` states, the restarts run on a seeded random subsample of that
#' size and the best one is then refined by Lloyd iterations on all states.
#'
#' **Bandwidth.** `"median"` takes the median of the pairwise Euclidean
#' distances between states (after scaling), computed on a seeded random
#' subsample of `bandwidth.sample` states when there are more. A positive
#' number is used as it is (on the scaled state space).
#'
#' **Scaling.** With `scale = TRUE` (the default) each state dimension is
#' centred by its mean and divided by its standard deviation before anything
#' else, so dimensions measured in different units weigh alike. The shift and
#' scale are stored in the object and applied by `predict()`. With
#' `scale = FALSE` the states are used as they are (shift 0, scale 1).
#'
#' @param x A `p4l_data` object (all observed states are used, including the
#'   final ones), a numeric matrix or a data frame of numeric state columns.
#' @param num.centers Number of centres \eqn{J}.
#' @param bandwidth `"median"` or a positive number.
#' @param scale Standardise the state dimensions first (see Details).
#' @param num.starts Number of K-means++ restarts.
#' @param max.iter Maximum Lloyd iterations per start.
#' @param sample.size Largest number of states the restarts run on.
#' @param bandwidth.sample Largest number of states used for the median distance.
#' @param seed Random seed (`NULL` draws one from R's generator).
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return An object of class `rbf_basis`: `centers` (J x d, on the scaled
#'   space), `bandwidth`, `shift`, `scale`, `state.names`, `withinss` (the
#'   K-means objective on the scaled states), `seed`.
#' @seealso [predict.rbf_basis()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' basis <- rbf_basis(d, num.centers = 8, seed = 1)
#' basis
#' dim(predict(basis, d$S))
#' @export
rbf_basis <- function(x, num.centers = 16, bandwidth = "median", scale = TRUE,
                      num.starts = 10, max.iter = 100, sample.size = 2e4,
                      bandwidth.sample = 2000, seed = NULL, num.threads = NULL) {
  if (inherits(x, "p4l_data")) {
    states <- observed_states(x)
    state.names <- x$state.names
  } else if (is.data.frame(x) || is.matrix(x)) {
    state.names <- colnames(x)
    if (is.null(state.names)) state.names <- paste0("s", seq_len(ncol(x)))
    states <- state_matrix(x, state.names, arg = "x")
  } else {
    stop_arg("`x` must be a p4l_data object, a numeric matrix or a data frame.")
  }
  num.centers <- check_count(num.centers, "num.centers")
  if (num.centers > nrow(states)) {
    stop_arg("`num.centers` (", num.centers, ") exceeds the number of states (", nrow(states), ").")
  }
  if (nrow(states) < 2L) stop_arg("`x` needs at least two states.")
  check_flag(scale, "scale")
  num.starts <- check_count(num.starts, "num.starts")
  max.iter <- check_count(max.iter, "max.iter")
  sample.size <- check_count(sample.size, "sample.size", lower = 2L)
  bandwidth.sample <- check_count(bandwidth.sample, "bandwidth.sample", lower = 2L)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  if (is.character(bandwidth)) {
    if (!identical(bandwidth, "median")) stop_arg("`bandwidth` must be \"median\" or a positive number.")
  } else {
    bandwidth <- check_number(bandwidth, "bandwidth", lower = 0, lower.open = TRUE)
  }

  d <- ncol(states)
  if (scale) {
    shift <- colMeans(states)
    sc <- apply(states, 2, stats::sd)
    sc[!is.finite(sc) | sc <= 0] <- 1
  } else {
    shift <- rep(0, d)
    sc <- rep(1, d)
  }
  z <- sweep(sweep(states, 2, shift, "-"), 2, sc, "/")
  km <- rbf_kmeans_cpp(z, num.centers, num.starts, max.iter, sample.size, seed, num.threads)
  if (identical(bandwidth, "median")) {
    bandwidth <- rbf_median_distance_cpp(z, bandwidth.sample, seed, num.threads)
    if (!(bandwidth > 0)) stop_arg("The median pairwise distance of the states is 0; give `bandwidth`.")
  }
  centers <- km$centers
  colnames(centers) <- state.names
  structure(list(centers = centers, bandwidth = bandwidth,
                 shift = stats::setNames(shift, state.names),
                 scale = stats::setNames(sc, state.names), state.names = state.names,
                 withinss = km$withinss, num.states = nrow(states), seed = seed),
            class = "rbf_basis")
}

#' RBF features of new states
#'
#' @param object An `rbf_basis` object.
#' @param newdata A numeric matrix or data frame of states (columns matched
#'   by name when it has names) or a `p4l_data` object (its transitions'
#'   states).
#' @param num.threads Number of threads (see [p4l-package]).
#' @param ... Unused.
#' @return An n x (J + 1) matrix: an intercept column, then one column per centre.
#' @export
predict.rbf_basis <- function(object, newdata, num.threads = NULL, ...) {
  x <- if (inherits(newdata, "p4l_data")) newdata$S else
    state_matrix(newdata, object$state.names)
  out <- basis_features(object, x, resolve_threads(num.threads))
  out
}

basis_features <- function(basis, x, num.threads) {
  out <- rbf_features_cpp(x, basis$centers, basis$bandwidth, as.numeric(basis$shift),
                          as.numeric(basis$scale), num.threads)
  colnames(out) <- c("(Intercept)", paste0("rbf", seq_len(nrow(basis$centers))))
  out
}

#' @export
print.rbf_basis <- function(x, ...) {
  cat("<rbf_basis> ", nrow(x$centers), " Gaussian centres + intercept on ",
      length(x$state.names), " state dimension(s) (", paste(x$state.names, collapse = ", "),
      ")\n", sep = "")
  cat("  bandwidth: ", format(x$bandwidth, digits = 4), " (on the ",
      if (all(x$scale == 1) && all(x$shift == 0)) "raw" else "standardised",
      " state scale)\n", sep = "")
  cat("  K-means within-cluster sum of squares: ", format(x$withinss, digits = 6), "\n", sep = "")
  invisible(x)
}
