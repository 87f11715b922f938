# The basis interface. A basis maps a state s (all state columns of the data
# it was built on, `state.names`) to a feature vector psi(s) whose first
# entry is the constant 1 ("(Intercept)"): the P4L solver relies on it. Every
# basis has class c("<kind>_basis", "p4l_basis") and provides
#   basis_names(b)  feature names, "(Intercept)" first
#   basis_dim(b)    number of features
#   basis_spec(b)   (internal) the plain list the C++ core turns into its
#                   feature map (src/basis_convert.h); 0-based column indices
#   format(b)       lines for print()
# and the fields state.names (all state columns it was fitted on), columns
# (the ones it uses) and state.range (2 x d observed ranges, for plots).
# Features are always computed in C++ (basis_features()), for any basis.

#' The basis interface: feature names, dimension and features of new states
#'
#' Every basis of the package ([rbf_basis()], [indicator_basis()],
#' [linear_basis()], and their compositions [basis_product()] and
#' [basis_sum()]) has class `c("<kind>_basis", "p4l_basis")` and maps the
#' state to a feature vector whose first entry is the constant 1, named
#' `"(Intercept)"`. Every estimator ([p4l()], [fqi()], [vlearning()],
#' [acpi()]) accepts any of them as `basis`, and the fitted policies carry it
#' into [predict.p4l_policy()], [evaluate_policy()] and [plot.p4l_policy()].
#'
#' `basis_names()` gives the feature names (the row names of the fitted
#' coefficients), `basis_dim()` their number, and `predict()` the features
#' of new states, computed in C++ in parallel over rows (identical for any
#' number of threads). The basis reads its `columns` from the state columns
#' it was built on (`basis$state.names`), matched by name when `newdata` has
#' names.
#'
#' @param basis,object A basis (class `p4l_basis`).
#' @param newdata A numeric matrix or data frame of states (all the basis's
#'   `state.names`, matched by name when it has names) or a `p4l_data` object
#'   (its transitions' states).
#' @param num.threads Number of threads (see [p4l-package]).
#' @param ... Unused.
#' @return `basis_names()`: a character vector, `"(Intercept)"` first.
#'   `basis_dim()`: an integer. `predict()`: an n x `basis_dim()` matrix with
#'   those column names.
#' @examples
#' x <- data.frame(score = c(0, 1, 2, 2, 1), flag = c(0, 0, 1, 1, 0))
#' b <- indicator_basis(x)
#' basis_names(b)
#' basis_dim(b)
#' predict(b, data.frame(score = c(2, 0), flag = c(1, 0)))
#' summary(b)
#' # an RBF basis (class c("rbf_basis", "p4l_basis")) on the 2-D simulator
#' sim <- sim_linear2d(num.per.group = 2, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' rb <- rbf_basis(d, num.centers = 4, seed = 1)
#' predict(rb, data.frame(s1 = c(0, 1), s2 = c(0, -1)))
#' dim(predict(rb, d))
#' @export
basis_names <- function(basis) UseMethod("basis_names")

#' @rdname basis_names
#' @export
basis_dim <- function(basis) UseMethod("basis_dim")

#' @export
basis_dim.default <- function(basis) length(basis_names(basis))

#' @export
basis_names.default <- function(basis) {
  stop_arg("`basis` must be a basis (class p4l_basis); got an object of class '",
           class(basis)[1], "'.")
}

basis_spec <- function(basis) UseMethod("basis_spec")

#' @exportS3Method
basis_spec.default <- function(basis) {
  stop_arg("`basis` must be a basis (class p4l_basis); got an object of class '",
           class(basis)[1], "'.")
}

#' @rdname basis_names
#' @export
predict.p4l_basis <- function(object, newdata, num.threads = NULL, ...) {
  x <- match_states(newdata, object$state.names, owner = "the basis")
  basis_features(object, x, resolve_threads(num.threads))
}

# Old rbf_basis objects (without the p4l_basis class) work alike.
#' @rdname basis_names
#' @export
predict.rbf_basis <- function(object, newdata, num.threads = NULL, ...) {
  predict.p4l_basis(object, newdata, num.threads = num.threads, ...)
}

# Features of the rows of x (all state columns, in state.names order), in C++.
basis_features <- function(basis, x, num.threads) {
  out <- basis_features_cpp(x, basis_spec(basis), num.threads)
  colnames(out) <- basis_names(basis)
  check_finite_rows(out, "The basis features", "states")
  out
}

is_basis <- function(x) inherits(x, c("p4l_basis", "rbf_basis"))

# Columns a basis uses (old rbf_basis objects: all state columns).
basis_columns <- function(basis) {
  if (is.null(basis$columns)) basis$state.names else basis$columns
}

# 0-based positions of the basis's columns among its state.names.
basis_column_index <- function(basis) {
  as.integer(match(basis_columns(basis), basis$state.names) - 1L)
}

# Kind of a basis from its class ("rbf", "indicator", ...).
basis_kind <- function(basis) sub("_basis$", "", class(basis)[1])

#' @export
print.p4l_basis <- function(x, ...) {
  cat(paste0(format(x, ...), "\n"), sep = "")
  invisible(x)
}

#' @export
print.rbf_basis <- function(x, ...) {
  cat(paste0(format.rbf_basis(x, ...), "\n"), sep = "")
  invisible(x)
}

#' @rdname basis_names
#' @export
summary.p4l_basis <- function(object, ...) {
  parts <- if (!is.null(object$parts)) lapply(object$parts, summary) else NULL
  out <- list(kind = basis_kind(object), dim = basis_dim(object),
              state.names = object$state.names, columns = basis_columns(object),
              names = basis_names(object), parts = parts, text = format(object))
  class(out) <- "summary.p4l_basis"
  out
}

#' @export
print.summary.p4l_basis <- function(x, ...) {
  cat(paste0(x$text, "\n"), sep = "")
  cat("  ", x$dim, " features: ", paste(utils::head(x$names, 8), collapse = ", "),
      if (x$dim > 8) ", ..." else "", "\n", sep = "")
  cat("  fitted on the states: ", paste(x$state.names, collapse = ", "), "\n", sep = "")
  invisible(x)
}

# The inputs of a basis constructor: x (p4l_data, matrix or data frame) ->
# all observed states, their names, the chosen columns and observed ranges.
basis_input <- function(x, columns, arg = "x") {
  if (inherits(x, "p4l_data")) {
    validate_p4l_data(x, arg)
    states <- observed_states(x)
    state.names <- x$state.names
    colnames(states) <- state.names
  } else if (is.data.frame(x) || is.matrix(x)) {
    state.names <- colnames(x)
    if (is.null(state.names)) state.names <- paste0("s", seq_len(ncol(x)))
    states <- state_matrix(x, state.names, arg = arg)
  } else {
    stop_arg("`", arg, "` must be a p4l_data object, a numeric matrix or a data frame.")
  }
  columns <- resolve_columns(columns, state.names)
  rng <- if (nrow(states) > 0L && is.double(states)) {
    s <- column_summary_cpp(states, FALSE, 1L)  # range() of each column, without copies
    rbind(s$min, s$max)
  } else if (nrow(states) > 0L) {
    vapply(seq_len(ncol(states)), function(j) range(states[, j]), numeric(2))
  } else {
    matrix(NA_real_, 2, ncol(states))
  }
  rng <- matrix(rng, 2L, length(state.names), dimnames = list(c("min", "max"), state.names))
  list(states = states, state.names = state.names, columns = columns, state.range = rng,
       data = if (inherits(x, "p4l_data")) x else NULL)
}

resolve_columns <- function(columns, state.names, arg = "columns") {
  if (is.null(columns)) return(state.names)
  if (is.numeric(columns)) {
    if (anyNA(columns) || any(columns != round(columns)) || any(columns < 1) ||
        any(columns > length(state.names))) {
      stop_arg("`", arg, "` must be positions in 1..", length(state.names), " or names of ",
               "state columns.")
    }
    columns <- state.names[columns]
  }
  if (!is.character(columns) || length(columns) == 0L || anyNA(columns)) {
    stop_arg("`", arg, "` must be NULL, or names or positions of state columns.")
  }
  bad <- setdiff(columns, state.names)
  if (length(bad) > 0L) {
    stop_arg("`", arg, "` names column(s) ", paste0("'", bad, "'", collapse = ", "),
             " that are not state columns (", paste(state.names, collapse = ", "), ").")
  }
  if (anyDuplicated(columns)) stop_arg("`", arg, "` has duplicated columns.")
  columns
}

# The basis used by a fitted policy must read the fit's states.
check_basis_states <- function(basis, state.names, what = "`data`") {
  if (!identical(as.character(basis$state.names), as.character(state.names))) {
    stop_arg("`basis` was built on the states (", paste(basis$state.names, collapse = ", "),
             ") but ", what, " has the states (", paste(state.names, collapse = ", "), ").")
  }
  invisible(basis)
}

# Plot ranges of two state dimensions: RBF centres for a pure RBF basis on
# all columns (as before), else the observed ranges stored in the basis.
basis_plot_range <- function(basis, dims) {
  if (inherits(basis, "rbf_basis") && identical(basis_columns(basis), basis$state.names)) {
    return(rbf_plot_range(basis, dims))
  }
  r <- basis$state.range
  if (is.null(r) || anyNA(r[, dims])) return(matrix(c(-3, -3, 3, 3), 2))
  out <- t(r[, dims, drop = FALSE])
  wide <- out[, 2] - out[, 1]
  pad <- ifelse(wide > 0, 0.05 * wide, 0.5)
  cbind(out[, 1] - pad, out[, 2] + pad)
}
