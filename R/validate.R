# Argument validators: every exported function checks its arguments with
# these before the C++ core sees them. Checks specific to one concept (a
# simulator's subgroup, a study's design, memory limits) stay beside it.

stop_arg <- function(...) stop(..., call. = FALSE)

check_flag <- function(x, name) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    stop_arg("`", name, "` must be TRUE or FALSE.")
  }
  x
}

check_number <- function(x, name, lower = -Inf, upper = Inf, lower.open = FALSE,
                         upper.open = FALSE) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x)) {
    stop_arg("`", name, "` must be a single finite number.")
  }
  bad.low <- if (lower.open) x <= lower else x < lower
  bad.up <- if (upper.open) x >= upper else x > upper
  if (bad.low || bad.up) {
    stop_arg("`", name, "` must be in ", if (lower.open) "(" else "[", lower, ", ",
             upper, if (upper.open) ")" else "]", "; got ", format(x), ".")
  }
  as.numeric(x)
}

check_count <- function(x, name, lower = 1L, upper = .Machine$integer.max) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x) || x != round(x)) {
    stop_arg("`", name, "` must be a single whole number.")
  }
  if (x < lower || x > upper) {
    stop_arg("`", name, "` must be between ", lower, " and ", upper, "; got ", x, ".")
  }
  as.integer(x)
}

# One of `choices`; the default (the whole vector) gives the first.
check_choice <- function(x, choices, name) {
  if (identical(x, choices)) return(choices[1])
  if (!is.character(x) || length(x) != 1L || is.na(x) || !(x %in% choices)) {
    stop_arg("`", name, "` must be one of ", paste0("\"", choices, "\"", collapse = ", "), ".")
  }
  x
}

check_ridge <- function(ridge, name = "ridge") {
  check_number(ridge, name, lower = 0)
}

check_gamma <- function(gamma) check_number(gamma, "gamma", 0, 1, upper.open = TRUE)

check_control <- function(control, class, constructor) {
  if (!inherits(control, class)) {
    stop_arg("`control` must be made by ", constructor, "().")
  }
  control
}

check_p4l_data_arg <- function(data) {
  if (!inherits(data, "p4l_data")) {
    stop_arg("`data` must be a p4l_data object (see p4l_data()); got an object of class '",
             class(data)[1], "'.")
  }
  validate_p4l_data(data)
}

# Internal consistency of a p4l_data object (cheap): every index in range,
# every length and shape as p4l_data() builds them, states finite. Catches
# hand-edited or damaged objects before the C++ core sees them.
validate_p4l_data <- function(data, arg = "data") {
  bad <- function(...) {
    stop_arg("`", arg, "` is a damaged p4l_data object: ", ..., " Rebuild it with p4l_data().")
  }
  S <- data$S
  d <- length(data$state.names)
  if (!is.matrix(S) || !is.numeric(S) || ncol(S) != d || d < 1L) {
    bad("`S` must be a numeric matrix with one column per state name (", d, ").")
  }
  n <- nrow(S)
  if (n < 1L) bad("it has no transition.")
  if (!is.matrix(data$S_next) || !is.numeric(data$S_next) || !identical(dim(data$S_next), dim(S))) {
    bad("`S_next` must have the shape of `S` (", n, " x ", d, ").")
  }
  if (!all(is.finite(S)) || !all(is.finite(data$S_next))) bad("its states are not all finite.")
  m <- length(data$action.levels)
  A <- data$A
  if (!is.numeric(A) || length(A) != n || anyNA(A) || any(A != round(A)) || any(A < 1) ||
      any(A > m)) {
    bad("`A` must hold one action index in 1..", m, " per transition.")
  }
  if (!is.numeric(data$R) || length(data$R) != n || !all(is.finite(data$R))) {
    bad("`R` must hold one finite reward per transition.")
  }
  if (!is.logical(data$terminal) || length(data$terminal) != n || anyNA(data$terminal)) {
    bad("`terminal` must hold one TRUE/FALSE per transition.")
  }
  if (!is.logical(data$next.observed) || length(data$next.observed) != n ||
      anyNA(data$next.observed)) {
    bad("`next.observed` must hold one TRUE/FALSE per transition.")
  }
  N <- length(data$ids)
  ind <- data$individual
  if (!is.numeric(ind) || length(ind) != n || anyNA(ind) || any(ind != round(ind)) ||
      any(ind < 1) || any(ind > N)) {
    bad("`individual` must hold one index in 1..", N, " per transition.")
  }
  if (is.unsorted(ind)) bad("its transitions must be grouped by individual, in order.")
  counts <- tabulate(ind, nbins = N)
  if (any(counts == 0L)) bad("an individual has no transition.")
  if (!identical(counts, as.integer(data$num.transitions))) {
    bad("`num.transitions` must count each individual's transitions (`individual`).")
  }
  if (!is.matrix(data$S0) || !is.numeric(data$S0) || ncol(data$S0) != d || nrow(data$S0) != N ||
      !all(is.finite(data$S0))) {
    bad("`S0` must be a finite ", N, " x ", d, " matrix (one initial state per individual).")
  }
  if (!is.null(data$baseline) && (!is.matrix(data$baseline) || nrow(data$baseline) != N ||
                                   ncol(data$baseline) != length(data$baseline.names))) {
    bad("`baseline` must have one row per individual and one column per baseline name.")
  }
  if (m < 2L) bad("it has fewer than two actions.")
  invisible(data)
}

# An error (never a silent NaN/Inf in a result) when a computed matrix has a
# non-finite entry, naming its first row.
check_finite_rows <- function(x, what, rows = "rows") {
  if (is.matrix(x) && is.double(x)) {
    r <- first_nonfinite_row_cpp(x)
    if (r == 0) return(invisible(x))
  } else {
    if (all(is.finite(x))) return(invisible(x))
    r <- which(rowSums(!is.finite(as.matrix(x))) > 0)[1]
  }
  stop_arg(what, " are not finite at row ", r, " of the ", rows, " (a state far outside the ",
           "range the fit was made on, or values too large to compute with); rescale the ",
           "states.")
}
