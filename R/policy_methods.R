#' Summarise a fitted policy
#'
#' Works for every `p4l_policy`; a method (such as `p4l()`) may provide its own.
#'
#' @param object A fitted policy (class `p4l_policy`).
#' @param x A `summary.p4l_policy` object.
#' @param ... Unused.
#' @return `summary()` returns a `summary.p4l_policy` list: method, numbers of
#'   individuals, distinct policies and basis functions, cluster sizes (when
#'   clustered), the convergence record of the fit and method-specific
#'   estimates (V-learning's estimated value; the behaviour weight of a
#'   behaviour-regularised [fqi()]).
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' summary(fqi(d, seed = 1))
#' @export
summary.p4l_policy <- function(object, ...) {
  out <- list(method = object$method, class = class(object)[1],
              num.individuals = length(object$ids),
              num.policies = length(object$policy.coef),
              num.features = nrow(object$policy.coef[[1]]),
              actions = object$action.levels, gamma = object$gamma,
              greedy = isTRUE(object$greedy),
              cluster.sizes = if (is.null(object$cluster)) NULL else table(cluster = object$cluster),
              convergence = object$convergence, value = object$value,
              num.transitions = object$num.transitions,
              behaviour.weight = object$behaviour.weight)
  class(out) <- "summary.p4l_policy"
  out
}

#' @rdname summary.p4l_policy
#' @export
print.summary.p4l_policy <- function(x, ...) {
  cat("Policy fitted by ", x$method, " (", x$class, ")\n", sep = "")
  cat("  ", x$num.individuals, " individual(s)",
      if (!is.null(x$num.transitions)) paste0(", ", x$num.transitions, " transitions") else "",
      "; ", x$num.policies, " distinct polic", if (x$num.policies == 1) "y" else "ies",
      " (", if (x$greedy) "greedy" else "softmax", ") on ", x$num.features, " features\n", sep = "")
  cat("  actions: ", paste(as.character(x$actions), collapse = ", "), "; gamma = ", x$gamma, "\n",
      sep = "")
  if (isTRUE(x$behaviour.weight > 0)) {
    cat("  actions chosen by Q + ", format(x$behaviour.weight, digits = 4),
        " x log(behaviour propensity)\n", sep = "")
  }
  if (!is.null(x$cluster.sizes)) {
    cat("  cluster sizes: ", paste(as.integer(x$cluster.sizes), collapse = ", "), "\n", sep = "")
  }
  if (!is.null(x$value)) cat("  estimated value: ", format(x$value, digits = 5), "\n", sep = "")
  if (!is.null(x$convergence)) {
    cv <- x$convergence
    show <- vapply(cv, function(v) is.atomic(v) && length(v) <= 3, logical(1))
    if (any(show)) {
      cat("  convergence: ", paste(names(cv)[show], vapply(cv[show], function(v)
        paste(format(v, digits = 4), collapse = "/"), character(1)), sep = " = ", collapse = "; "),
        "\n", sep = "")
    }
    if (!is.null(cv$pi.converged) && !all(cv$pi.converged)) {
      cat("  note: policy iteration did not settle in ", sum(!cv$pi.converged),
          " cluster(s) (greedy actions still changing at the iteration limit)\n", sep = "")
    }
  }
  invisible(x)
}

#' Plot a fitted policy
#'
#' Draws the action map of each distinct policy over two state dimensions
#' (the others held at `at`): the colour is the most probable action.
#'
#' @param x A fitted policy (class `p4l_policy`).
#' @param dims The two state dimensions to plot (names or positions).
#' @param slots Which distinct policies to draw (default: up to 6).
#' @param range A 2 x 2 matrix of plotting ranges (rows: the two dims);
#'   defaults, for an RBF basis on all state columns, to the range of the
#'   basis centres widened by one bandwidth (on the state scale); for any
#'   other basis, to the observed range of the states it was built on
#'   (`basis$state.range`) widened by 5%; without a basis, (-3, 3).
#' @param at Values of the other state dimensions (named); default 0.
#' @param grid.size Grid points per axis.
#' @param ... Passed to [graphics::image()].
#' @return `x`, invisibly.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' plot(fqi(d, seed = 1), grid.size = 30)
#' @export
plot.p4l_policy <- function(x, dims = 1:2, slots = NULL, range = NULL, at = NULL,
                            grid.size = 60, ...) {
  sn <- x$state.names
  if (length(sn) < 2L) stop_arg("`x` has one state dimension; an action map needs two.")
  if (is.character(dims)) dims <- match(dims, sn)
  if (length(dims) != 2L || anyNA(dims) || any(dims < 1 | dims > length(sn))) {
    stop_arg("`dims` must name two state dimensions of the policy.")
  }
  grid.size <- check_count(grid.size, "grid.size", lower = 2L)
  nslot <- length(x$policy.coef)
  if (is.null(slots)) slots <- seq_len(min(nslot, 6L))
  if (any(!(slots %in% seq_len(nslot)))) stop_arg("`slots` must be in 1:", nslot, ".")
  if (is.null(range)) {
    if (!is.null(x$basis)) {
      range <- basis_plot_range(x$basis, dims)
    } else {
      range <- matrix(c(-3, -3, 3, 3), 2)
    }
  }
  g1 <- seq(range[1, 1], range[1, 2], length.out = grid.size)
  g2 <- seq(range[2, 1], range[2, 2], length.out = grid.size)
  nd <- as.data.frame(matrix(0, grid.size^2, length(sn), dimnames = list(NULL, sn)))
  for (nm in names(at)) nd[[nm]] <- at[[nm]]
  nd[[sn[dims[1]]]] <- rep(g1, times = grid.size)
  nd[[sn[dims[2]]]] <- rep(g2, each = grid.size)
  m <- length(x$action.levels)
  cols <- grDevices::hcl.colors(max(m, 2L), "Set 2")[seq_len(m)]
  old <- graphics::par(mfrow = grDevices::n2mfrow(length(slots)), mar = c(4, 4, 2.5, 1))
  on.exit(graphics::par(old))
  for (s in slots) {
    one <- x
    one$policy.coef <- x$policy.coef[s]
    one$q.coef <- if (is.null(x$q.coef)) NULL else x$q.coef[s]
    one$ids <- character(0)
    one$slot <- integer(0)
    prob <- predict(one, nd, type = "prob")
    act <- matrix(max.col(prob, ties.method = "first"), grid.size, grid.size)
    title <- if (nslot == 1) x$method else paste0(x$method, ": policy ", s,
                                                   if (!is.null(x$cluster)) paste0(" (", sum(x$cluster == s), " ids)") else "")
    graphics::image(g1, g2, act, col = cols, zlim = c(0.5, m + 0.5), xlab = sn[dims[1]],
                    ylab = sn[dims[2]], main = title, ...)
  }
  graphics::legend("topright", legend = as.character(x$action.levels), fill = cols, bg = "white",
                   title = "action", cex = 0.8)
  invisible(x)
}
