#' Gaussian radial basis features of the state
#'
#' Builds the default feature map of continuous states used by every
#' estimator in the package (paper, Sec 6.1): \eqn{J} Gaussian radial basis functions
#' \deqn{\psi_j(s) = \exp(-\|z(s) - c_j\|^2 / (2 h^2)),}{psi_j(s) = exp(-||z(s) - c_j||^2 / (2 h^2)),}
#' plus an intercept column first, where \eqn{z(s)} is the (optionally
#' standardised) state, the centres \eqn{c_j} come from K-means on the observed
#' states and the bandwidth \eqn{h} is the median pairwise Euclidean distance.
#'
#' **Centres.** K-means++ seeding (Arthur and Vassilvitskii, 2007) followed by
#' Lloyd iterations, repeated `num.starts` times; the start with the smallest
#' within-cluster sum of squares is kept. When there are more than
#' `sample.size` states, the restarts run on a seeded random subsample of that
#' size and the best one is then refined by Lloyd iterations on all states;
#' when there are more than `refine.size` states, the refinement runs on a
#' seeded random subsample of that size instead, and all states are then
#' assigned to their nearest centre once (`withinss` is always the
#' within-cluster sum of squares of all states). Lloyd's iterations skip the
#' distance computations that cannot change a label (Hamerly, 2010), so they
#' are exact but cost little once the centres move little.
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
#' @param refine.size Largest number of states the Lloyd refinement of the
#'   best restart runs on (see Details). On 10^6 standard normal states in 4
#'   dimensions with 64 centres, the default gives a within-cluster sum of
#'   squares 0.4% above that of Lloyd's algorithm run to convergence on all
#'   states, in a tenth of the time (`bench/README.md`).
#' @param bandwidth.sample Largest number of states used for the median distance.
#' @param seed Random seed (`NULL` draws one from R's generator).
#' @param num.threads Number of threads (see [p4l-package]).
#' @param columns The state columns the basis uses (names or positions);
#'   `NULL` (the default) uses all of them. The other columns are ignored,
#'   so the basis can be one part of a composition ([basis_product()],
#'   [basis_sum()]).
#'
#' @return An object of class `c("rbf_basis", "p4l_basis")`: `centers`
#'   (J x d, on the scaled space of the `columns`), `bandwidth`, `shift`,
#'   `scale`, `columns`, `state.names` (all state columns it was built on),
#'   `state.range` (2 x d, the observed range of every state column),
#'   `withinss` (the K-means objective on the scaled states), `seed`. The
#'   feature names ([basis_names()]) are `"(Intercept)"`, `"rbf1"`, ...,
#'   `"rbfJ"`.
#' @seealso [predict.p4l_basis()], [basis_names()], [default_basis()] and the
#'   other bases: [indicator_basis()], [linear_basis()], [basis_product()].
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' basis <- rbf_basis(d, num.centers = 8, seed = 1)
#' basis
#' dim(predict(basis, d$S))
#' @export
rbf_basis <- function(x, num.centers = 16, bandwidth = "median", scale = TRUE,
                      num.starts = 10, max.iter = 100, sample.size = 2e4, refine.size = 2e5,
                      bandwidth.sample = 2000, seed = NULL, num.threads = NULL,
                      columns = NULL) {
  inp <- basis_input(x, columns)
  states <- if (identical(inp$columns, colnames(inp$states))) inp$states else
    inp$states[, inp$columns, drop = FALSE]
  state.names <- inp$columns
  num.centers <- check_count(num.centers, "num.centers")
  if (num.centers > nrow(states)) {
    stop_arg("`num.centers` (", num.centers, ") exceeds the number of states (", nrow(states), ").")
  }
  if (nrow(states) < 2L) stop_arg("`x` needs at least two states.")
  check_flag(scale, "scale")
  num.starts <- check_count(num.starts, "num.starts")
  max.iter <- check_count(max.iter, "max.iter")
  sample.size <- check_count(sample.size, "sample.size", lower = 2L)
  refine.size <- check_count(refine.size, "refine.size", lower = 2L)
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
    cs <- column_scales(states, num.threads = num.threads)
    shift <- cs$shift
    sc <- cs$scale
    sc[sc <= 0] <- 1
  } else {
    shift <- rep(0, d)
    sc <- rep(1, d)
  }
  z <- standardise_columns(states, shift, sc, squares = TRUE, num.threads = num.threads)
  km <- rbf_kmeans_cpp(z, num.centers, num.starts, max.iter, sample.size, refine.size, seed,
                       num.threads)
  if (identical(bandwidth, "median")) {
    bandwidth <- rbf_median_distance_cpp(z, bandwidth.sample, seed, num.threads)
    if (!(bandwidth > 0)) stop_arg("The median pairwise distance of the states is 0; give `bandwidth`.")
    if (!is.finite(bandwidth)) {
      stop_arg("The median pairwise distance of the states is not finite; rescale the states ",
               "or use `scale = TRUE`.")
    }
  }
  centers <- km$centers
  colnames(centers) <- state.names
  structure(list(centers = centers, bandwidth = bandwidth,
                 shift = stats::setNames(shift, state.names),
                 scale = stats::setNames(sc, state.names), state.names = inp$state.names,
                 columns = inp$columns, state.range = inp$state.range,
                 withinss = km$withinss, num.states = nrow(states), seed = seed),
            class = c("rbf_basis", "p4l_basis"))
}

#' @export
basis_names.rbf_basis <- function(basis) {
  c("(Intercept)", paste0("rbf", seq_len(nrow(basis$centers))))
}

#' @export
basis_dim.rbf_basis <- function(basis) nrow(basis$centers) + 1L

#' @exportS3Method
basis_spec.rbf_basis <- function(basis) {
  list(kind = "rbf", columns = basis_column_index(basis), centers = basis$centers,
       bandwidth = as.numeric(basis$bandwidth), shift = as.numeric(basis$shift),
       scale = as.numeric(basis$scale))
}

#' @export
format.rbf_basis <- function(x, ...) {
  cols <- basis_columns(x)
  c(paste0("<rbf_basis> ", nrow(x$centers), " Gaussian centres + intercept on ",
           length(cols), " state dimension(s) (", paste(cols, collapse = ", "), ")"),
    paste0("  bandwidth: ", format(x$bandwidth, digits = 4), " (on the ",
           if (all(x$scale == 1) && all(x$shift == 0)) "raw" else "standardised",
           " state scale)"),
    paste0("  K-means within-cluster sum of squares: ", format(x$withinss, digits = 6)))
}

# RBF-only ranges for plots: the centres widened by one bandwidth (state scale).
rbf_plot_range <- function(b, dims) {
  cen <- sweep(sweep(b$centers, 2, b$scale, "*"), 2, b$shift, "+")
  t(vapply(dims, function(j) base::range(cen[, j]) + c(-1, 1) * b$bandwidth * b$scale[j],
           numeric(2)))
}
