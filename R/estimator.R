# The preparation shared by the four estimators p4l(), fqi(), acpi() and
# vlearning(), and the one convergence record every fit can be read through.
#
# What stays in each estimator because it differs: the data check comes first
# everywhere, but p4l() and acpi() check K (and p4l() the rank) right after
# it; each has its own memory guard (R/memory.R) and its own extra inputs
# (clusters, propensities, the settings check of the P4L core).

# The argument checks every estimator makes, in this order: gamma, ridge (when
# the estimator has one: pass it), control, num.threads, verbose, seed.
# Returns the checked values under the arguments' names (gamma, ridge when
# given, control, num.threads, seed); the baselines read them from this list
# (ea$gamma, ...), p4l() assigns back the four it uses throughout (explicit
# assignments, so R CMD check sees the variables).
estimator_args <- function(gamma, ridge, control, control.class, num.threads, verbose, seed) {
  out <- list(gamma = check_gamma(gamma))
  if (!missing(ridge)) out$ridge <- check_ridge(ridge)
  out$control <- check_control(control, control.class, control.class)
  out$num.threads <- resolve_threads(num.threads)
  check_flag(verbose, "verbose")
  out$seed <- resolve_seed(seed)
  out
}

# The basis (given, or default_basis() seeded by `seed`), the estimator's
# memory guard `guard(d)` (d = number of basis functions) and the features of
# S and S'. Returns list(basis, psi, psi.next, basis.time) with basis.time the
# elapsed time when the basis was ready (after the guard).
estimator_features <- function(data, basis, seed, num.threads, guard) {
  basis <- resolve_basis(basis, data, seed, num.threads)
  guard(basis_dim(basis))  # every basis, not only RBF (which has `centers`)
  basis.time <- proc.time()[["elapsed"]]
  feat <- data_features(data, basis, num.threads)
  list(basis = basis, psi = feat$psi, psi.next = feat$psi.next, basis.time = basis.time)
}

# The convergence of any fit in one shape: list(converged = TRUE/FALSE/NA,
# iterations = integer or NA). P4L, FQI and V-learning keep both in
# fit$convergence; ACPI keeps its per-cluster record there (saved fixtures
# compare it whole), so its `converged` is that every cluster's policy
# iteration settled and its `iterations` the number of outer rounds.
fit_convergence <- function(fit) {
  cv <- if (is.list(fit$convergence)) fit$convergence else list()
  conv <- if (!is.null(fit$converged)) fit$converged else cv$converged
  if (is.null(conv)) conv <- cv$pi.converged
  it <- if (!is.null(cv$iterations)) cv$iterations else cv$outer.iterations
  if (is.null(it)) it <- fit$iterations
  list(converged = if (is.null(conv) || length(conv) == 0L) NA else all(as.logical(conv)),
       iterations = if (is.null(it) || length(it) != 1L) NA_integer_ else as.integer(it))
}
