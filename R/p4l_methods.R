#' @export
print.p4l_fit <- function(x, ...) {
  N <- length(x$ids)
  cat("<p4l_fit> P4L policies for ", N, " individuals in ", x$K, " cluster",
      if (x$K == 1) "" else "s", " (rank ", x$rank, ")\n", sep = "")
  cat("  cluster sizes: ", paste(tabulate(x$cluster, x$K), collapse = ", "), "\n", sep = "")
  if (!is.null(x$groups)) {
    cat("  K chosen by select_groups(), method \"",
        if (is.null(x$groups$method)) "kde" else x$groups$method, "\" (fit$groups)\n", sep = "")
  }
  p4l_print_values(x, indent = "  ")
  cat("  alpha = ", format(x$alpha, digits = 4), ", mu = ", format(x$mu, digits = 4),
      ", kappa = ", format(if (is.null(x$kappa)) 0 else x$kappa, digits = 3),
      ", gamma = ", x$gamma, "; ", x$iterations, " iterations, ",
      p4l_status_text(x), "\n", sep = "")
  invisible(x)
}

# "converged" / "NOT converged (...)" from the fit's status.
p4l_status_text <- function(x) {
  if (isTRUE(x$converged)) return("converged")
  why <- switch(if (is.null(x$status)) "max.iter" else x$status,
                stalled = "line search stalled", max.iter = "iteration limit reached",
                primal = "ADMM residual large", "")
  paste0("NOT converged (", why, ")")
}

# The value table of a fit: pessimistic and point values of the deployed
# policy and of the learned softmax policy, on both scales.
p4l_print_values <- function(x, indent = "") {
  v <- x$values
  if (is.null(v)) {  # fits made before the table existed
    cat(indent, "pessimistic value ", format(x$value, digits = 5), ", point value ",
        format(x$point.value, digits = 5), "\n", sep = "")
    return(invisible(x))
  }
  dep <- if (isTRUE(x$greedy)) "greedy" else "softmax"
  fmt <- function(pol, sc, col) format(v[[col]][v$policy == pol & v$scale == sc], digits = 4)
  line <- function(pol, label) {
    cat(indent, label, "pessimistic value ", fmt(pol, "normalised", "pessimistic"),
        ", point value ", fmt(pol, "normalised", "point"), " per step (discounted sum ",
        fmt(pol, "discounted", "pessimistic"), ", ", fmt(pol, "discounted", "point"), ")\n",
        sep = "")
  }
  line(dep, if (dep == "greedy") "deployed greedy policy: " else "deployed softmax policy: ")
  if (dep == "greedy") line("softmax", "learned softmax policy: ")
  if (!is.null(x$value.range)) {
    cat(indent, "  per-step values any policy can attain: [",
        format(x$value.range[1], digits = 4), ", ", format(x$value.range[2], digits = 4),
        "]\n", sep = "")
  }
  invisible(x)
}

#' Summarise a P4L fit
#'
#' @param object A `p4l_fit` from [p4l()].
#' @param x A `summary.p4l_fit` object.
#' @param ... Unused.
#' @return `summary()` returns a `summary.p4l_fit` list: numbers of
#'   individuals, transitions and basis functions, cluster sizes, centroids,
#'   the pessimistic value, point value and Lagrange multiplier (values are
#'   discount-normalised: \eqn{(1-\gamma)}{(1-gamma)} times the expected discounted
#'   return from the initial states), the penalty and objective, the
#'   convergence record with any warnings, the tuning used and timings,
#'   and, when the data have baseline covariates (`p4l_data(baseline = )`),
#'   `cluster.profiles`: each cluster's size and mean of every (dummy-coded)
#'   baseline covariate.
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 40, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' summary(p4l(d, K = 3, seed = 1))
#' @export
summary.p4l_fit <- function(object, ...) {
  warn <- character(0)
  if (!object$converged) warn <- c(warn, sub("^p4l\\(\\) ", "", p4l_convergence_message(object)))
  warn <- c(warn, sub("^p4l\\(\\): ", "", p4l_out_of_range(object)))
  sizes <- tabulate(object$cluster, object$K)
  if (any(sizes == 0)) warn <- c(warn, paste0(sum(sizes == 0), " empty cluster(s)"))
  if (object$value > object$point.value + 1e-8) {
    warn <- c(warn, "pessimistic value exceeds the point value")
  }
  out <- list(num.individuals = length(object$ids), num.transitions = object$num.transitions,
              num.features = nrow(object$policy.coef[[1]]), actions = object$action.levels,
              K = object$K, rank = object$rank,
              cluster.sizes = stats::setNames(sizes, paste0("cluster", seq_len(object$K))),
              centroids = object$centroids, value = object$value,
              point.value = object$point.value, lambda = object$lambda,
              values = object$values, value.range = object$value.range,
              greedy = object$greedy, status = object$status,
              kappa = if (is.null(object$kappa)) 0 else object$kappa,
              penalty = object$penalty, objective = object$objective,
              converged = object$converged, iterations = object$iterations,
              evaluations = object$evaluations, warnings = warn,
              tuning = list(gamma = object$gamma, alpha = object$alpha, mu = object$mu,
                            alpha.default = isTRUE(object$alpha.default),
                            mu.default = isTRUE(object$mu.default), rho = object$control$rho,
                            ridge = object$control$ridge, init = object$init,
                            init.policy = object$init.policy),
              timings = object$timings, seed = object$seed, num.threads = object$num.threads,
              cluster.profiles = p4l_cluster_profiles(object))
  class(out) <- "summary.p4l_fit"
  out
}

#' @rdname summary.p4l_fit
#' @export
print.summary.p4l_fit <- function(x, ...) {
  cat("P4L fit: ", x$num.individuals, " individuals, ", x$num.transitions, " transitions, ",
      x$num.features, " basis functions, actions ", paste(as.character(x$actions), collapse = "/"),
      "\n", sep = "")
  cat("  K = ", x$K, " clusters, rank r = ", x$rank, "; cluster sizes: ",
      paste(x$cluster.sizes, collapse = ", "), "\n", sep = "")
  p4l_print_values(x, indent = "  ")
  cat("  lambda (multiplier of the uncertainty constraint): ", format(x$lambda, digits = 4),
      "\n", sep = "")
  cat("  penalty ", format(x$penalty, digits = 4), ", objective ", format(x$objective, digits = 5),
      "\n", sep = "")
  tn <- x$tuning
  cat("  tuning: gamma = ", tn$gamma, ", alpha = ", format(tn$alpha, digits = 4),
      if (tn$alpha.default) " (default)" else "", ", mu = ", format(tn$mu, digits = 4),
      if (tn$mu.default) " (default)" else "", ", kappa = ", format(x$kappa, digits = 3),
      ", rho = ", tn$rho, ", ridge = ", tn$ridge,
      ", start = ", tn$init,
      if (!is.null(tn$init.policy)) paste0(" (policy: ", tn$init.policy, ")"), "\n", sep = "")
  cat("  convergence: ", p4l_status_text(x), " after ",
      x$iterations, " iterations (", x$evaluations, " dual evaluations), ",
      format(x$timings[["total"]], digits = 3), " s, ", x$num.threads, " thread(s), seed ",
      format(x$seed, scientific = FALSE), "\n", sep = "")
  if (!is.null(x$cluster.profiles)) {
    cat("  clusters by baseline covariates (means; dummy columns are proportions):\n")
    pr <- x$cluster.profiles
    pr[] <- lapply(pr, function(v) if (is.numeric(v)) signif(v, 3) else v)
    print(pr, row.names = FALSE)
  }
  for (w in x$warnings) cat("  warning: ", w, "\n", sep = "")
  invisible(x)
}

# Size and baseline covariate means of each cluster (NULL without baseline
# covariates): what distinguishes the clusters, in the user's covariates.
p4l_cluster_profiles <- function(object) {
  B <- object$baseline
  if (is.null(B) || !length(B)) return(NULL)
  cl <- factor(object$cluster, levels = seq_len(object$K))
  means <- vapply(colnames(B), function(j) as.vector(tapply(B[, j], cl, mean)),
                  numeric(object$K))
  means <- matrix(means, nrow = object$K, dimnames = list(NULL, colnames(B)))
  data.frame(cluster = seq_len(object$K), size = tabulate(object$cluster, object$K),
             means, check.names = FALSE)
}

#' Coefficients of a P4L fit
#'
#' @param object A `p4l_fit`.
#' @param type `"policy"`: the list of each individual's d x |A| logit
#'   coefficients (as for every `p4l_policy`); `"q"`: each individual's
#'   worst-case Q coefficients; `"shared"`: the shared parameters `Theta` and
#'   `W`; `"latent"`: the latent variables `U` and the `centroids`.
#' @param ... Unused.
#' @return A list.
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 40, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- p4l(d, K = 3, seed = 1)
#' coef(fit, "latent")$centroids
#' @export
coef.p4l_fit <- function(object, type = c("policy", "q", "shared", "latent"), ...) {
  type <- match.arg(type)
  switch(type,
         policy = stats::setNames(object$policy.coef, as.character(object$ids)),
         q = stats::setNames(object$q.coef, as.character(object$ids)),
         shared = list(Theta = object$Theta, W = object$W),
         latent = list(U = object$U, centroids = object$centroids))
}

#' Plot a P4L fit
#'
#' `"convergence"`: the penalised objective, the pessimistic and point values,
#' the Lagrange multiplier and the ADMM primal residual per iteration.
#' `"latent"`: the free latent coordinates \eqn{\tilde u_i}{u~_i} coloured by
#' cluster, with the centroids. `"policy"`: the action map of each cluster's
#' centroid policy over two state dimensions (see [plot.p4l_policy()]), by
#' default over the central 96% of the training states.
#'
#' @param x A `p4l_fit`.
#' @param type Which plot.
#' @param dims For `"latent"`: two free latent coordinates (2 = the first free
#'   one); for `"policy"`: two state dimensions.
#' @param ... Passed to [plot.p4l_policy()] for `"policy"` (e.g. `at`,
#'   `range`, `grid.size`).
#' @return `x`, invisibly.
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 40, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- p4l(d, K = 3, seed = 1)
#' plot(fit, "convergence")
#' plot(fit, "latent")
#' plot(fit, "policy", grid.size = 30)
#' @export
plot.p4l_fit <- function(x, type = c("convergence", "latent", "policy"), dims = NULL, ...) {
  type <- match.arg(type)
  if (type == "policy") {
    cen <- x
    m <- length(x$action.levels)
    d <- nrow(x$policy.coef[[1]])
    fn <- rownames(x$policy.coef[[1]])
    cen$policy.coef <- lapply(seq_len(x$K), function(k)
      p4l_policy_coef(x$Theta, x$centroids[k, ], d, m, fn, as.character(x$action.levels)))
    cen$q.coef <- NULL
    cen$method <- "P4L cluster centroid"
    dims <- if (is.null(dims)) 1:2 else dims
    args <- list(...)
    if (is.null(args$range) && !is.null(x$state.range)) {
      dd <- if (is.character(dims)) match(dims, x$state.names) else dims
      if (!anyNA(dd) && all(dd %in% seq_along(x$state.names))) args$range <- t(x$state.range[, dd])
    }
    do.call(plot.p4l_policy, c(list(cen, dims = dims, slots = seq_len(x$K)), args))
    return(invisible(x))
  }
  cols <- grDevices::hcl.colors(max(x$K, 2L), "Dark 3")[seq_len(x$K)]
  if (type == "latent") {
    if (x$rank < 2L) stop_arg("`x` has rank 1: the latent variables are all 1.")
    if (is.null(dims)) dims <- if (x$rank >= 3L) 2:3 else 2L
    if (any(dims < 2 | dims > x$rank) || length(dims) > 2L) {
      stop_arg("`dims` must be one or two of the free latent coordinates 2:", x$rank, ".")
    }
    U <- x$U
    cl <- x$cluster
    if (length(dims) == 1L) {
      graphics::plot(U[, dims], seq_len(nrow(U)), col = cols[cl], pch = 16,
                     xlab = colnames(U)[dims], ylab = "individual",
                     main = "P4L latent variables by cluster")
      graphics::abline(v = x$centroids[, dims], col = cols, lwd = 2, lty = 2)
    } else {
      graphics::plot(U[, dims[1]], U[, dims[2]], col = cols[cl], pch = 16,
                     xlab = colnames(U)[dims[1]], ylab = colnames(U)[dims[2]],
                     main = "P4L latent variables by cluster")
      graphics::points(x$centroids[, dims[1]], x$centroids[, dims[2]], pch = 4, cex = 2.5,
                       lwd = 3, col = cols)
    }
    graphics::legend("topright", legend = c(paste("cluster", seq_len(x$K)), "centroid"),
                     col = c(cols, "black"), pch = c(rep(16, x$K), 4), bg = "white", cex = 0.8)
    return(invisible(x))
  }
  tr <- x$trace
  old <- graphics::par(mfrow = c(2, 2), mar = c(4, 4, 2.5, 1))
  on.exit(graphics::par(old))
  it <- tr$iteration
  graphics::plot(it, tr$objective, type = "l", xlab = "iteration", ylab = "objective",
                 main = "Penalised objective")
  yl <- range(c(tr$value, tr$point.value), finite = TRUE)
  graphics::plot(it, tr$point.value, type = "l", lty = 2, ylim = yl, xlab = "iteration",
                 ylab = "value", main = "Pessimistic and point value")
  graphics::lines(it, tr$value, lwd = 2)
  graphics::legend("bottomright", c("pessimistic", "point"), lty = 1:2, lwd = c(2, 1),
                   bg = "white", cex = 0.8)
  graphics::plot(it, tr$lambda, type = "l", xlab = "iteration", ylab = "lambda",
                 main = "Lagrange multiplier")
  pr <- pmax(tr$primal.residual, 1e-16)
  graphics::plot(it, pr, type = "l", log = "y", xlab = "iteration", ylab = "max ||u - w||",
                 main = "ADMM primal residual")
  graphics::abline(h = x$control$tol.primal, lty = 3)
  invisible(x)
}
