#' Indicator features of discrete state columns
#'
#' A basis for discrete (categorical or integer-coded) state columns, such as
#' scores, flags or dummy-coded factors. The levels of a column are its sorted
#' distinct observed values.
#'
#' **Interactions.**
#' * `"none"`: the intercept, then for each column the treatment-coded
#'   dummies of its levels 2 to L (level 1 is the reference), named
#'   `"column=level"`. Dimension \eqn{1 + \sum_j (L_j - 1)}{1 + sum_j (L_j - 1)}.
#' * `"pairwise"`: the same, then for every pair of columns (in column order)
#'   the products of their dummies, named `"a=1:b=2"`. Every product is kept,
#'   also those never observed (their feature is 0 on the data; the ridge
#'   of the estimators handles them), so the dimension is
#'   \eqn{1 + \sum_j (L_j - 1) + \sum_{j < k} (L_j - 1)(L_k - 1)}{1 + sum_j (L_j - 1) + sum_(j < k) (L_j - 1)(L_k - 1)}.
#' * `"joint"`: the full joint table: the intercept, then one indicator per
#'   observed combination of levels (cell) except the reference cell (the
#'   first observed cell in lexicographic order of the level indices, columns
#'   in order), named `"a=1,b=2"`. An error when there are more than
#'   `max.cells` observed cells.
#'
#' **Values not seen at fit time.** A value that is not a level of its column
#' is mapped to the nearest level (smallest absolute difference; a tie goes to
#' the lower level), so a code just outside the observed range is treated as
#' the end level. With `"joint"`, a combination of levels that was not
#' observed is mapped to the nearest observed cell: the one with the smallest
#' sum of absolute differences of the level indices (a tie goes to the first
#' cell in lexicographic order). The same rule is applied in R
#' ([predict.p4l_basis()], the estimators) and in the C++ simulations of
#' [evaluate_policy()], since both call the same C++ code.
#'
#' @param x A `p4l_data` object (all observed states are used), a numeric
#'   matrix or a data frame of numeric state columns.
#' @param columns The state columns to use (names or positions); `NULL` uses
#'   all of them.
#' @param interactions `"none"`, `"pairwise"` or `"joint"` (see Details).
#' @param max.levels Largest number of distinct values a column may take (a
#'   column with more is probably continuous: use [rbf_basis()] or
#'   [linear_basis()] for it).
#' @param max.cells Largest number of observed cells for `"joint"`.
#' @return An object of class `c("indicator_basis", "p4l_basis")`: `levels`
#'   (list of the sorted levels per column), `interactions`, `cells` (for
#'   `"joint"`: the matrix of observed cells as 1-based level indices, one row
#'   per cell, the reference first), `columns`, `state.names`, `state.range`.
#' @seealso [basis_names()], [default_basis()], [basis_product()]
#' @examples
#' x <- data.frame(score = c(0, 1, 2, 2, 1, 0), flag = c(0, 0, 1, 1, 0, 1))
#' predict(indicator_basis(x), x)
#' predict(indicator_basis(x, interactions = "pairwise"), x)
#' predict(indicator_basis(x, interactions = "joint"), x)
#' # an unseen code maps to the nearest level: 7 -> 2, 0.4 -> 0
#' predict(indicator_basis(x), data.frame(score = c(7, 0.4), flag = 0))
#' @export
indicator_basis <- function(x, columns = NULL, interactions = c("none", "pairwise", "joint"),
                            max.levels = 20, max.cells = 1000) {
  inp <- basis_input(x, columns)
  interactions <- match.arg(interactions)
  max.levels <- check_count(max.levels, "max.levels", lower = 2L)
  max.cells <- check_count(max.cells, "max.cells")
  states <- inp$states[, inp$columns, drop = FALSE]
  if (nrow(states) < 1L) stop_arg("`x` has no states.")
  levels <- lapply(seq_len(ncol(states)), function(j) sort(unique(states[, j])))
  names(levels) <- inp$columns
  many <- vapply(levels, length, integer(1)) > max.levels
  if (any(many)) {
    stop_arg("Column '", inp$columns[many][1], "' takes ", length(levels[[which(many)[1]]]),
             " distinct values, more than `max.levels` (", max.levels, "); use rbf_basis() or ",
             "linear_basis() for continuous columns, or raise `max.levels`.")
  }
  cells <- NULL
  if (interactions == "joint") {
    idx <- vapply(seq_along(levels), function(j) match(states[, j], levels[[j]]),
                  integer(nrow(states)))
    idx <- matrix(idx, nrow(states))
    cells <- unique(idx)
    cells <- cells[do.call(order, as.data.frame(cells)), , drop = FALSE]
    if (nrow(cells) > max.cells) {
      stop_arg("The joint table of the columns ", paste(inp$columns, collapse = ", "), " has ",
               nrow(cells), " observed cells, more than `max.cells` (", max.cells, "); use ",
               "interactions = \"pairwise\" or \"none\", or raise `max.cells`.")
    }
    dimnames(cells) <- list(NULL, inp$columns)
  }
  structure(list(levels = levels, interactions = interactions, cells = cells,
                 max.levels = max.levels, columns = inp$columns, state.names = inp$state.names,
                 state.range = inp$state.range, num.states = nrow(states)),
            class = c("indicator_basis", "p4l_basis"))
}

#' @export
basis_names.indicator_basis <- function(basis) {
  lv <- basis$levels
  cols <- names(lv)
  if (basis$interactions == "joint") {
    cells <- basis$cells[-1L, , drop = FALSE]
    lab <- vapply(seq_len(ncol(cells)), function(j) paste0(cols[j], "=", format_level(lv[[j]])[cells[, j]]),
                  character(nrow(cells)))
    lab <- matrix(lab, nrow(cells))
    return(c("(Intercept)", if (nrow(cells) > 0L) apply(lab, 1, paste, collapse = ",")))
  }
  dummies <- lapply(seq_along(lv), function(j) {
    if (length(lv[[j]]) < 2L) character(0) else paste0(cols[j], "=", format_level(lv[[j]])[-1L])
  })
  out <- c("(Intercept)", unlist(dummies))
  if (basis$interactions == "pairwise" && length(lv) >= 2L) {
    for (j in seq_len(length(lv) - 1L)) for (k in (j + 1L):length(lv)) {
      # column-major over (dummy of j, dummy of k): j's dummy varies slowest
      out <- c(out, as.vector(t(outer(dummies[[j]], dummies[[k]], paste, sep = ":"))))
    }
  }
  out
}

format_level <- function(v) format(v, trim = TRUE, digits = 10)

#' @export
basis_dim.indicator_basis <- function(basis) {
  if (basis$interactions == "joint") return(nrow(basis$cells))
  L1 <- vapply(basis$levels, length, integer(1)) - 1L
  pair <- if (basis$interactions == "pairwise") (sum(L1)^2 - sum(L1^2)) / 2 else 0
  as.integer(1L + sum(L1) + pair)
}

#' @exportS3Method
basis_spec.indicator_basis <- function(basis) {
  list(kind = "indicator", columns = basis_column_index(basis),
       levels = unname(lapply(basis$levels, as.numeric)),
       interactions = match(basis$interactions, c("none", "pairwise", "joint")) - 1L,
       cells = if (is.null(basis$cells)) matrix(0L, 0, length(basis$levels)) else
         unname(basis$cells - 1L))
}

#' @export
format.indicator_basis <- function(x, ...) {
  L <- vapply(x$levels, length, integer(1))
  c(paste0("<indicator_basis> ", basis_dim(x), " features (intercept + ",
           switch(x$interactions, none = "dummies", pairwise = "dummies and pairwise products",
                  joint = "one indicator per observed joint cell but the reference"),
           ") of ", length(L), " discrete column(s)"),
    paste0("  levels: ", paste0(names(L), " (", L, ")", collapse = ", ")),
    if (x$interactions == "joint") paste0("  observed cells: ", nrow(x$cells)))
}
