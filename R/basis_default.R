#' The default basis of the estimators
#'
#' The basis that [p4l()], [fqi()], [vlearning()] and [acpi()] build when
#' `basis = NULL`, exported so it can be inspected or modified.
#'
#' * When every state column is continuous: `rbf_basis(data, num.centers =
#'   min(num.centers, n))` (n transitions), the paper's basis, exactly as in
#'   earlier versions.
#' * When every column is discrete: `indicator_basis(data, interactions =
#'   interactions)` on all of them.
#' * When some are discrete and some continuous: the RBF basis on the
#'   continuous columns combined with the indicator basis on the discrete ones,
#'   by `combine` ([basis_sum()] or [basis_product()]).
#'
#' A column is **discrete** when `data$discrete` marks it (the dummy-coded
#' factor columns of [p4l_data()]; a missing field counts as all `FALSE`) or
#' when all its observed values are whole numbers and it takes at most
#' `max.levels` distinct values (scores, counts, flags).
#'
#' The defaults `interactions = "pairwise"` and `combine = "sum"` were chosen
#' with pooled [fqi()] at \eqn{\gamma = 0.99} on [sim_icu()] data (six
#' discrete columns, 8 actions; `bench/bases-icu.R`, `bench/README.md`,
#' section "Bases for discrete states"): pairwise indicators (103 features)
#' reach the behaviour policy's exact value in both subgroups where the RBF
#' basis does not, and stay small enough for [p4l()] (|A| x 103 x rank
#' unknowns in its inner problem). A sum keeps the dimension additive.
#'
#' @param data A `p4l_data` object.
#' @param max.levels Largest number of distinct whole-number values of a
#'   column that is treated as discrete.
#' @param interactions Interactions of the indicator part (see
#'   [indicator_basis()]).
#' @param combine `"sum"` or `"product"`: how the RBF part (continuous
#'   columns) and the indicator part (discrete columns) are combined.
#' @param num.centers Number of RBF centres (at most the number of
#'   transitions).
#' @param seed Random seed for the RBF centres (`NULL` draws one).
#' @param num.threads Number of threads (see [p4l-package]).
#' @return A basis (class `p4l_basis`). The discrete columns found are in
#'   `attr(, "discrete")`.
#' @seealso [discrete_columns()], [rbf_basis()], [indicator_basis()]
#' @examples
#' sim <- sim_icu(num.patients = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               env_icu()$state.names, terminal = "terminal")
#' b <- default_basis(d)
#' b
#' basis_dim(b)
#' @export
default_basis <- function(data, max.levels = 10, interactions = c("pairwise", "none", "joint"),
                          combine = c("sum", "product"), num.centers = 16, seed = NULL,
                          num.threads = NULL) {
  check_p4l_data_arg(data)
  interactions <- match.arg(interactions)
  combine <- match.arg(combine)
  num.centers <- check_count(num.centers, "num.centers")
  disc <- discrete_columns(data, max.levels)
  sn <- data$state.names
  if (!any(disc)) {
    return(rbf_basis(data, num.centers = min(num.centers, nrow(data$S)), seed = seed,
                     num.threads = num.threads))
  }
  ind <- indicator_basis(data, columns = sn[disc], interactions = interactions,
                         max.levels = max(max.levels, max(levels_count(data, sn[disc]))))
  out <- if (all(disc)) ind else {
    rbf <- rbf_basis(data, num.centers = min(num.centers, nrow(data$S)), seed = seed,
                     num.threads = num.threads, columns = sn[!disc])
    if (combine == "sum") basis_sum(rbf, ind) else basis_product(rbf, ind)
  }
  attr(out, "discrete") <- stats::setNames(disc, sn)
  out
}

#' Which state columns are discrete
#'
#' A column is discrete when `data$discrete` marks it (dummy-coded factor
#' columns; a missing field counts as all `FALSE`) or when all its observed
#' values are whole numbers and it takes at most `max.levels` distinct values.
#'
#' @inheritParams default_basis
#' @return A logical vector named by the state columns.
#' @examples
#' sim <- sim_icu(num.patients = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               env_icu()$state.names, terminal = "terminal")
#' discrete_columns(d)
#' @export
discrete_columns <- function(data, max.levels = 10) {
  check_p4l_data_arg(data)
  max.levels <- check_count(max.levels, "max.levels", lower = 2L)
  sn <- data$state.names
  marked <- rep(FALSE, length(sn))
  if (!is.null(data$discrete)) {
    dd <- data$discrete
    if (!is.null(names(dd))) dd <- dd[sn]
    if (length(dd) == length(sn)) marked <- !is.na(dd) & as.logical(dd)
  }
  S <- observed_states(data)
  small <- vapply(seq_along(sn), function(j) {
    v <- S[, j]
    all(v == round(v)) && length(unique(v)) <= max.levels
  }, logical(1))
  stats::setNames(marked | small, sn)
}

levels_count <- function(data, columns) {
  S <- observed_states(data)
  colnames(S) <- data$state.names
  vapply(columns, function(j) length(unique(S[, j])), integer(1))
}
