#' The default basis of the estimators
#'
#' The basis that [p4l()], [fqi()], [vlearning()] and [acpi()] build when
#' `basis = NULL`, exported so it can be inspected or modified.
#'
#' * When no state column is discrete: `rbf_basis(data, num.centers =
#'   min(num.centers, n))` (n transitions), the paper's basis, exactly as in
#'   earlier versions.
#' * When every column is discrete: `indicator_basis(data, interactions =
#'   interactions)` on all of them.
#' * When some are discrete and some continuous: the RBF basis on the
#'   continuous columns combined with the indicator basis on the discrete ones,
#'   by `combine` ([basis_sum()] or [basis_product()]).
#'
#' If the indicator part with `"pairwise"` interactions would have more than
#' `max.dim` features, `"none"` is used instead, so that [p4l()] stays
#' feasible (its inner problem has |A| x `basis_dim()` x rank unknowns).
#'
#' **Which columns are discrete** ([discrete_columns()]). With `discrete =
#' "marked"` (the default) the columns that `data$discrete` marks (the
#' dummy-coded factor columns of [p4l_data()]; a missing field counts as all
#' `FALSE`). With `discrete = "auto"` also every column whose observed values
#' are whole numbers with at most `max.levels` distinct values (scores,
#' counts, flags).
#'
#' **How the defaults were chosen** (`bench/bases-icu.R`, `bench/README.md`,
#' section "Bases for discrete states"): pooled [fqi()] at \eqn{\gamma =
#' 0.99}{gamma = 0.99} on [sim_icu()] data (1000 patients, six whole-number columns, 8
#' actions; seeds 401 to 405). Every indicator basis and composition tried
#' (indicators without or with pairwise interactions, RBF on the scores plus
#' or times indicators of the flags, scores times the joint table of the
#' flags) gave a worse greedy policy than the RBF basis on all six columns
#' (on 4 of 5 seeds; the compositions were run on one seed),
#' and none of them converged in 1000 iterations, while the RBF basis did.
#' Whole-number columns are therefore left to the RBF basis unless
#' `discrete = "auto"`. Among the indicator bases `"pairwise"` was better than
#' `"none"` on most seeds; sum and product did equally
#' (sum is smaller). None reached the behaviour policy's value, the RBF basis
#' included: pooled FQI is not pessimistic, see [p4l()].
#'
#' **P4L's default differs.** [p4l()] and [tune_p4l()] with `basis = NULL`
#' build `default_basis(data, discrete = "auto", interactions = "none")`:
#' whole-number columns with at most 10 values also get indicators, one per
#' value and column, without interactions (continuous columns keep the RBF
#' basis, added to the indicators). This was chosen on [sim_icu()] data
#' (development seeds 302, 401, 402; `bench/README.md`, section "P4L on S3
#' with an additive indicator basis"): with it P4L was above the behaviour
#' policy in both subgroups on all three seeds and within 0.001 of the typical
#' patients' optimum, while with the RBF basis it was below the behaviour
#' policy for the typical patients on two of them. The pessimistic estimator
#' does not chase the unsupported state-action pairs that make the same basis
#' the worst for pooled FQI. On data without such columns the two defaults
#' are the same basis.
#'
#' @param data A `p4l_data` object.
#' @param discrete `"marked"` or `"auto"`: which columns count as discrete
#'   (see Details).
#' @param max.levels Largest number of distinct whole-number values of a
#'   column that `discrete = "auto"` treats as discrete.
#' @param interactions Interactions of the indicator part (see
#'   [indicator_basis()]).
#' @param combine `"sum"` or `"product"`: how the RBF part (continuous
#'   columns) and the indicator part (discrete columns) are combined.
#' @param num.centers Number of RBF centres (at most the number of
#'   transitions).
#' @param max.dim Largest dimension of the indicator part with pairwise
#'   interactions (see Details).
#' @param seed Random seed for the RBF centres (`NULL` draws one).
#' @param num.threads Number of threads (see [p4l-package]).
#' @return A basis (class `p4l_basis`).
#' @seealso [discrete_columns()], [rbf_basis()], [indicator_basis()]
#' @examples
#' sim <- sim_icu(num.patients = 50, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               env_icu()$state.names, terminal = "terminal")
#' default_basis(d, seed = 1)                       # the RBF basis
#' b <- default_basis(d, discrete = "auto")         # indicators
#' b
#' basis_dim(b)
#' @export
default_basis <- function(data, discrete = c("marked", "auto"), max.levels = 10,
                          interactions = c("pairwise", "none", "joint"),
                          combine = c("sum", "product"), num.centers = 16, max.dim = 120,
                          seed = NULL, num.threads = NULL) {
  check_p4l_data_arg(data)
  discrete <- match.arg(discrete)
  interactions <- match.arg(interactions)
  combine <- match.arg(combine)
  num.centers <- check_count(num.centers, "num.centers")
  max.dim <- check_count(max.dim, "max.dim")
  disc <- discrete_columns(data, max.levels, auto = discrete == "auto")
  sn <- data$state.names
  if (!any(disc)) {
    return(rbf_basis(data, num.centers = min(num.centers, nrow(data$S)), seed = seed,
                     num.threads = num.threads))
  }
  lv <- max(max.levels, max(levels_count(data, sn[disc])))
  ind <- indicator_basis(data, columns = sn[disc], interactions = interactions, max.levels = lv)
  if (interactions == "pairwise" && basis_dim(ind) > max.dim) {
    ind <- indicator_basis(data, columns = sn[disc], interactions = "none", max.levels = lv)
  }
  if (all(disc)) return(ind)
  rbf <- rbf_basis(data, num.centers = min(num.centers, nrow(data$S)), seed = seed,
                   num.threads = num.threads, columns = sn[!disc])
  if (combine == "sum") basis_sum(rbf, ind) else basis_product(rbf, ind)
}

# The basis of p4l() and tune_p4l(): given, or for `basis = NULL` P4L's own
# default (documented in ?default_basis, "P4L's default differs").
resolve_p4l_basis <- function(basis, data, seed, num.threads) {
  resolve_basis(basis, data, seed, num.threads, discrete = "auto", interactions = "none")
}

#' Which state columns are discrete
#'
#' A column is discrete when `data$discrete` marks it (dummy-coded factor
#' columns; a missing field counts as all `FALSE`) or, with `auto = TRUE`,
#' when all its observed values are whole numbers and it takes at most
#' `max.levels` distinct values.
#'
#' @inheritParams default_basis
#' @param auto Apply the whole-number rule.
#' @return A logical vector named by the state columns.
#' @examples
#' sim <- sim_icu(num.patients = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               env_icu()$state.names, terminal = "terminal")
#' discrete_columns(d)
#' @export
discrete_columns <- function(data, max.levels = 10, auto = TRUE) {
  check_p4l_data_arg(data)
  max.levels <- check_count(max.levels, "max.levels", lower = 2L)
  check_flag(auto, "auto")
  sn <- data$state.names
  marked <- rep(FALSE, length(sn))
  if (!is.null(data$discrete)) {
    dd <- data$discrete
    if (!is.null(names(dd))) dd <- dd[sn]
    if (length(dd) == length(sn)) marked <- !is.na(dd) & as.logical(dd)
  }
  if (!auto) return(stats::setNames(marked, sn))
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
