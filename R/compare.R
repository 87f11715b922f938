#' Compare fitted policies by Monte Carlo
#'
#' Evaluates several fitted policies, and the behaviour policy, on the same
#' individuals with [evaluate_policy()] and returns one tidy table. Every
#' policy is evaluated with the same `seed`, so individual k's episodes start
#' from the same initial states and use the same random streams for every
#' method (common random numbers), which sharpens the differences.
#'
#' @param fits A named list of fitted policies (`p4l_policy`), e.g.
#'   `list(P4L = fit1, FQI = fit2)`. A single fitted policy is accepted too.
#' @param env A `p4l_env` or a list of them named by id (such as
#'   `sim_linear2d()$env`).
#' @param ids Individuals to evaluate: by default the names of `env` (or the
#'   training ids of the first individual policy when `env` is a single
#'   environment).
#' @param num.episodes,horizon Episodes per individual and their length.
#' @param seed Random seed (`NULL` draws one from R's generator).
#' @param behaviour `TRUE` (default) adds the uniformly random behaviour policy
#'   (the behaviour of [sim_linear2d()]) as method `"behaviour"`; a
#'   `p4l_policy` adds that policy instead; `FALSE` adds nothing.
#' @param groups The known subgroup of each id (named by id, such as
#'   `sim_linear2d()$group`). By default, when `env` is a list, individuals
#'   whose environments have identical parameters form a subgroup.
#' @param num.threads Number of threads (see [p4l-package]).
#' @return A data frame of class `p4l_comparison` with columns `method`
#'   (factor, in the order of `fits`), `id`, `subgroup` (factor, or `NA` when
#'   unknown), `value` and `se` (Monte Carlo standard error).
#' @seealso [plot.p4l_comparison()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' cmp <- compare_policies(list(FQI = fqi(d, seed = 1)), sim$env, num.episodes = 50,
#'                         seed = 1, groups = sim$group)
#' aggregate(value ~ method + subgroup, data = cmp, FUN = mean)
#' @export
compare_policies <- function(fits, env, ids = NULL, num.episodes = 1000, horizon = 50,
                             seed = NULL, behaviour = TRUE, groups = NULL, num.threads = NULL) {
  if (inherits(fits, "p4l_policy")) fits <- list(fits)
  if (!is.list(fits) || length(fits) == 0L ||
      !all(vapply(fits, inherits, logical(1), "p4l_policy"))) {
    stop_arg("`fits` must be a named list of fitted policies (p4l_policy objects).")
  }
  nm <- names(fits)
  if (is.null(nm)) nm <- rep("", length(fits))
  auto <- vapply(fits, function(f) f$method, character(1))
  nm[!nzchar(nm)] <- auto[!nzchar(nm)]
  if (anyDuplicated(nm)) stop_arg("The names of `fits` must be distinct (",
                                  paste(nm[duplicated(nm)], collapse = ", "), " repeats).")
  names(fits) <- nm
  is.env.list <- !inherits(env, "p4l_env")
  if (!inherits(env, "p4l_env") && !(is.list(env) && length(env) > 0L &&
                                     all(vapply(env, inherits, logical(1), "p4l_env")))) {
    stop_arg("`env` must be a p4l_env object or a list of them named by id.")
  }
  if (is.null(ids)) {
    if (is.env.list) {
      ids <- names(env)
    } else {
      ind <- Filter(function(f) length(f$ids) > 0L, fits)
      if (length(ind) == 0L) stop_arg("Give `ids`: `env` is a single environment.")
      ids <- ind[[1]]$ids
    }
  }
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  ref <- if (is.env.list) env[[1]] else env
  if (isTRUE(behaviour)) {
    fits <- c(fits, list(behaviour = uniform_policy(ref$actions, ref$state.names,
                                                      gamma = fits[[1]]$gamma)))
  } else if (inherits(behaviour, "p4l_policy")) {
    fits <- c(fits, list(behaviour = behaviour))
  } else if (!identical(behaviour, FALSE)) {
    stop_arg("`behaviour` must be TRUE, FALSE or a p4l_policy.")
  }
  if (anyDuplicated(names(fits))) stop_arg("A fit is named \"behaviour\"; rename it or set `behaviour = FALSE`.")
  sub <- subgroup_labels(ids, env, groups, is.env.list)
  rows <- lapply(names(fits), function(m) {
    ev <- evaluate_policy(fits[[m]], env, ids = ids, num.episodes = num.episodes,
                          horizon = horizon, seed = seed, num.threads = num.threads)
    data.frame(method = m, id = ev$id, subgroup = sub, value = ev$value, se = ev$se,
               stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  out$method <- factor(out$method, levels = names(fits))
  attr(out, "settings") <- list(num.episodes = num.episodes, horizon = horizon, seed = seed)
  class(out) <- c("p4l_comparison", "data.frame")
  out
}

subgroup_labels <- function(ids, env, groups, is.env.list) {
  key <- as.character(ids)
  if (!is.null(groups)) {
    if (is.null(names(groups))) stop_arg("`groups` must be named by id.")
    g <- groups[key]
    if (anyNA(g)) stop_arg("`groups` has no subgroup for id ", key[which(is.na(g))[1]], ".")
    return(if (is.factor(groups)) droplevels(factor(as.character(g), levels = levels(groups))) else factor(g))
  }
  if (!is.env.list) return(factor(rep(NA_character_, length(ids))))
  lab <- vapply(key, function(k) {
    e <- env[[k]]
    if (is.null(e)) return(NA_character_)
    paste(names(e$params), signif(as.numeric(e$params), 6), sep = "=", collapse = ", ")
  }, character(1))
  factor(lab, levels = unique(lab))
}

#' Boxplots of compared policies
#'
#' One panel per subgroup (as in the paper's Figure 1), one box per method
#' over the individuals' values.
#'
#' @param x A `p4l_comparison` from [compare_policies()].
#' @param optimum Optional optimal values to draw as dashed lines: one number,
#'   or one per subgroup (named by subgroup), e.g. from [linear2d_optimum()].
#' @param ... Passed to [graphics::boxplot()].
#' @return `x`, invisibly.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' cmp <- compare_policies(list(FQI = fqi(d, seed = 1)), sim$env, num.episodes = 50,
#'                         seed = 1, groups = sim$group)
#' plot(cmp)
#' @export
plot.p4l_comparison <- function(x, optimum = NULL, ...) {
  sub <- x$subgroup
  if (all(is.na(sub))) sub <- factor(rep("all", nrow(x)))
  levs <- levels(droplevels(sub))
  old <- graphics::par(mfrow = c(1, length(levs)), mar = c(7, 4, 2.5, 1))
  on.exit(graphics::par(old))
  cols <- grDevices::hcl.colors(nlevels(x$method), "Set 2")
  rng <- range(x$value, optimum, na.rm = TRUE)
  for (g in levs) {
    d <- x[!is.na(sub) & sub == g, , drop = FALSE]
    graphics::boxplot(value ~ method, data = d, col = cols, las = 2, xlab = "", ylab = "value",
                      main = paste("subgroup", g), ylim = rng, ...)
    if (!is.null(optimum)) {
      o <- if (length(optimum) == 1L) optimum else optimum[g]
      if (!is.na(o)) graphics::abline(h = o, lty = 2, col = "red")
    }
  }
  invisible(x)
}
