#' Individuals of a p4l_data object
#'
#' Keeps the transitions of some individuals: for train/test splits by
#' individual, cross-validation folds and held-out
#' individuals. The action levels, the coding of the columns, the state
#' names and the other settings of `x` are kept, so a policy fitted on one
#' part applies to the other.
#'
#' @param x A `p4l_data` object.
#' @param ids The individuals to keep (values of the id column, or, when
#'   `ids` is numeric and `by = "index"`, positions in `x$ids`), in any
#'   order; the result keeps the order of `x`.
#' @param by `"id"` (default): `ids` are id values; `"index"`: positions.
#' @param max.transitions Largest number of transitions kept per individual
#'   (its first ones in time): e.g. the first few transitions of new
#'   individuals for [p4l_assign()].
#' @param ... Unused.
#' @return A `p4l_data` object with those individuals only.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' train <- subset(d, ids = d$ids[1:6])
#' test <- subset(d, ids = d$ids[-(1:6)])
#' c(length(train$ids), length(test$ids))
#' subset(d, ids = d$ids[1:2], max.transitions = 3)$num.transitions
#' @export
subset.p4l_data <- function(x, ids, by = c("id", "index"), max.transitions = Inf, ...) {
  by <- match.arg(by)
  if (!identical(max.transitions, Inf)) {
    max.transitions <- check_count(max.transitions, "max.transitions")
  }
  if (missing(ids) || length(ids) == 0L) stop_arg("`ids` must name at least one individual.")
  if (anyNA(ids)) stop_arg("`ids` must not contain NA.")
  if (by == "index") {
    if (!is.numeric(ids) || any(ids != round(ids)) || any(ids < 1 | ids > length(x$ids))) {
      stop_arg("`ids` must be positions between 1 and ", length(x$ids), " when `by = \"index\"`.")
    }
    keep <- sort(unique(as.integer(ids)))
  } else {
    pos <- match(ids, x$ids)  # by value (100000L matches 1e5)
    if (anyNA(pos)) {
      bad <- ids[is.na(pos)]
      stop_arg("Individual(s) ", paste(utils::head(format(bad), 5), collapse = ", "),
               if (length(bad) > 5) ", ..." else "", " of `ids` are not in `x`.")
    }
    keep <- sort(unique(pos))
  }
  rows <- which(x$individual %in% keep)
  if (is.finite(max.transitions)) {
    pos.in <- stats::ave(seq_along(rows), x$individual[rows], FUN = seq_along)
    rows <- rows[pos.in <= max.transitions]
  }
  new.index <- match(x$individual[rows], keep)
  out <- x
  for (f in c("S", "S_next")) out[[f]] <- x[[f]][rows, , drop = FALSE]
  for (f in c("A", "R", "terminal", "next.observed", "time")) {
    if (!is.null(x[[f]])) out[[f]] <- x[[f]][rows]
  }
  out$individual <- as.integer(new.index)
  out$ids <- x$ids[keep]
  out$S0 <- x$S0[keep, , drop = FALSE]
  out$num.transitions <- tabulate(new.index, length(keep))
  if (!is.null(x$baseline)) out$baseline <- x$baseline[keep, , drop = FALSE]
  out
}
