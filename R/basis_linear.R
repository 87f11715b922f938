#' Linear features of state columns
#'
#' The intercept followed by the state columns themselves, standardised
#' (centred by their mean and divided by their standard deviation over the
#' observed states, a constant column by 1) when `scale = TRUE`. Features
#' `(1, (s_j - shift_j) / scale_j)`, named by the columns.
#'
#' @inheritParams indicator_basis
#' @param scale Standardise the columns.
#' @return An object of class `c("linear_basis", "p4l_basis")`: `shift`,
#'   `scale`, `columns`, `state.names`, `state.range`.
#' @seealso [basis_names()], [basis_sum()]
#' @examples
#' x <- data.frame(age = c(50, 60, 70), sofa = c(1, 4, 2))
#' b <- linear_basis(x)
#' predict(b, x)
#' @export
linear_basis <- function(x, columns = NULL, scale = TRUE) {
  inp <- basis_input(x, columns)
  check_flag(scale, "scale")
  states <- inp$states[, inp$columns, drop = FALSE]
  if (scale) {
    if (nrow(states) < 2L) stop_arg("`x` needs at least two states to standardise.")
    cs <- column_scales(states)
    shift <- cs$shift
    sc <- cs$scale
    sc[sc <= 0] <- 1
    standardise_columns(states, shift, sc)
  } else {
    shift <- rep(0, ncol(states))
    sc <- rep(1, ncol(states))
  }
  structure(list(shift = stats::setNames(as.numeric(shift), inp$columns),
                 scale = stats::setNames(as.numeric(sc), inp$columns),
                 columns = inp$columns, state.names = inp$state.names,
                 state.range = inp$state.range, num.states = nrow(states)),
            class = c("linear_basis", "p4l_basis"))
}

#' @export
basis_names.linear_basis <- function(basis) c("(Intercept)", basis$columns)

#' @export
basis_dim.linear_basis <- function(basis) length(basis$columns) + 1L

#' @exportS3Method
basis_spec.linear_basis <- function(basis) {
  list(kind = "linear", columns = basis_column_index(basis), shift = as.numeric(basis$shift),
       scale = as.numeric(basis$scale))
}

#' @export
format.linear_basis <- function(x, ...) {
  paste0("<linear_basis> intercept + ", length(x$columns), " ",
         if (all(x$scale == 1) && all(x$shift == 0)) "raw" else "standardised",
         " column(s) (", paste(x$columns, collapse = ", "), ")")
}
