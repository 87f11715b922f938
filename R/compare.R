#' Compare fitted policies by Monte Carlo or on observed data
#'
#' With a simulator (`env`), evaluates several fitted policies, and the
#' behaviour policy, on the same individuals with [evaluate_policy()] and
#' returns one tidy table. Every policy is evaluated with the same `seed`, so
#' individual k's episodes start from the same initial states and use the
#' same random streams for every method (common random numbers), which
#' sharpens the differences.
#'
#' With observed data (`data`, and no `env`), estimates each policy's value
#' with [policy_value()] (same basis, same behaviour model, same bootstrap
#' resamples of individuals for every policy) and reports the difference of
#' each to the `reference` policy, with its bootstrap standard error and
#' interval computed on the same resamples (paired), which is much tighter
#' than comparing two separate intervals.
#'
#' @param fits A named list of fitted policies (`p4l_policy`), e.g.
#'   `list(P4L = fit1, FQI = fit2)`. A single fitted policy is accepted too.
#' @param env A `p4l_env` or a list of them named by id (such as
#'   `sim_linear2d()$env`), or a [persim()] fit; `NULL` when `data` is given.
#' @param ids Individuals to evaluate: by default the names of `env` (or the
#'   training ids of the first individual policy when `env` is a single
#'   environment).
#' @param num.episodes,horizon Episodes per individual and their length.
#' @param seed Random seed (`NULL` draws one from R's generator).
#' @param behaviour `TRUE` (default) adds the behaviour policy as method
#'   `"behaviour"`: with `env` the uniformly random policy (the behaviour of
#'   [sim_linear2d()]), with `data` [behaviour_policy()] fitted on `data`
#'   (also the behaviour model of the `"dr"` and `"wis"` estimates); a
#'   `p4l_policy` adds that policy instead (and, with `data`, is the
#'   behaviour model); `FALSE` adds nothing (with `data`, `"dr"` and `"wis"`
#'   then fit [behaviour_policy()] without reporting it).
#' @param groups The known subgroup of each id (named by id, such as
#'   `sim_linear2d()$group`). By default, when `env` is a list, individuals
#'   whose environments have identical parameters form a subgroup. With
#'   `data`: the groups of individuals that get their own Q-function (the
#'   `q.groups` of [policy_value()], the same for every policy); by default
#'   the subgroups [select_groups()] finds in `data`, computed once.
#' @param num.threads Number of threads (see [p4l-package]).
#' @param data A [p4l_data()] object: compare on observed data with
#'   [policy_value()] instead of a simulator (give `env = NULL`).
#' @param estimator With `data`: one or more of `"fqe"`, `"dr"`, `"wis"`
#'   (the `method` of [policy_value()]).
#' @param reference With `data`: the name of the policy (one of the names of
#'   `fits`, or `"behaviour"`) that differences are taken to; by default the
#'   behaviour policy when it is added, else the first fit.
#' @param gamma,basis,num.boot,level,interval With `data`: passed to
#'   [policy_value()] (one basis and one gamma for every policy; `gamma`
#'   defaults to the first fit's; `basis = NULL` builds the default evaluation
#'   basis of [policy_value()] once, on `data`).
#' @return With `env`: a data frame of class `p4l_comparison` with columns
#'   `method` (factor, in the order of `fits`), `id`, `subgroup` (factor, or
#'   `NA` when unknown), `value` and `se` (Monte Carlo standard error).
#'   With `data`: a data frame of class `p4l_value_comparison` with columns
#'   `method` (the policy, a factor in the order of `fits`), `estimator`,
#'   `estimate`, `se`, `lower`, `upper` (as in [policy_value()]),
#'   `difference` (estimate minus the reference's), `diff.se`, `diff.lower`,
#'   `diff.upper` (paired bootstrap) and `n`.
#' @seealso [plot.p4l_comparison()], [policy_value()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' cmp <- compare_policies(list(FQI = fqi(d, seed = 1)), sim$env, num.episodes = 50,
#'                         seed = 1, groups = sim$group)
#' aggregate(value ~ method + subgroup, data = cmp, FUN = mean)
#'
#' # On the observed data alone (no simulator):
#' compare_policies(list(FQI = fqi(d, seed = 1)), data = d, num.boot = 50, seed = 1)
#' @export
compare_policies <- function(fits, env = NULL, ids = NULL, num.episodes = 1000, horizon = 50,
                             seed = NULL, behaviour = TRUE, groups = NULL, num.threads = NULL,
                             data = NULL, estimator = "fqe", reference = NULL, gamma = NULL,
                             basis = NULL, num.boot = 200, level = 0.95,
                             interval = c("percentile", "bca")) {
  fits <- check_fits(fits)
  if (!is.null(data)) {
    if (!is.null(env)) stop_arg("Give either `env` (a simulator) or `data` (observed data), not both.")
    return(compare_on_data(fits, data, estimator, behaviour, reference, gamma, basis, num.boot,
                           level, interval, seed, num.threads, groups))
  }
  if (is.null(env)) stop_arg("Give `env` (a simulator) or `data` (observed data).")
  if (inherits(env, "p4l_persim")) env <- persim_env(env, ids)
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

check_fits <- function(fits) {
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
  fits
}

# compare_policies() on observed data: policy_value() of every policy on the
# same resamples, and paired differences to the reference.
compare_on_data <- function(fits, data, estimator, behaviour, reference, gamma, basis, num.boot,
                            level, interval, seed, num.threads, groups = NULL) {
  check_p4l_data_arg(data)
  estimator <- check_methods(estimator)
  interval <- check_choice(interval, c("percentile", "bca"), "interval")
  gamma <- resolve_value_gamma(gamma, fits[[1]])
  num.boot <- check_num_boot(num.boot)
  level <- check_number(level, "level", 0, 1, lower.open = TRUE, upper.open = TRUE)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  for (nm in names(fits)) check_policy_data(fits[[nm]], data, paste0("fits$", nm))
  basis <- value_basis(basis, data, seed, num.threads)
  # One set of Q-function groups for every policy (policy_value()'s default,
  # computed once), so that the paired differences compare like with like.
  qgroups <- if (is.null(groups)) data_q_groups(data, num.threads) else groups
  bmodel <- NULL
  if (isTRUE(behaviour)) {
    bmodel <- behaviour_policy(data, basis = basis, gamma = gamma, seed = seed,
                               num.threads = num.threads)
    fits <- c(fits, list(behaviour = bmodel))
  } else if (inherits(behaviour, "p4l_policy")) {
    bmodel <- behaviour
    fits <- c(fits, list(behaviour = behaviour))
  } else if (!identical(behaviour, FALSE)) {
    stop_arg("`behaviour` must be TRUE, FALSE or a p4l_policy.")
  }
  if (anyDuplicated(names(fits))) stop_arg("A fit is named \"behaviour\"; rename it or set `behaviour = FALSE`.")
  if (is.null(reference)) reference <- if (!is.null(bmodel)) "behaviour" else names(fits)[1]
  if (!is.character(reference) || length(reference) != 1L || !(reference %in% names(fits))) {
    stop_arg("`reference` must be one of the policies' names (",
             paste(names(fits), collapse = ", "), ").")
  }
  if (is.null(bmodel) && any(estimator %in% c("dr", "wis"))) {
    bmodel <- behaviour_policy(data, basis = basis, seed = seed, num.threads = num.threads)
  }
  vals <- lapply(fits, function(f) {
    policy_value(f, data, method = estimator, gamma = gamma, basis = basis, behaviour = bmodel,
                 q.groups = qgroups, num.boot = num.boot, level = level, interval = interval, seed = seed,
                 num.threads = num.threads)
  })
  ref <- vals[[reference]]
  rows <- lapply(names(vals), function(nm) {
    v <- vals[[nm]]
    diff <- v$estimate - ref$estimate
    ci <- vapply(seq_len(nrow(v)), function(k) {
      if (num.boot == 0L) return(c(se = NA_real_, lower = NA_real_, upper = NA_real_))
      if (nm == reference) return(c(se = 0, lower = 0, upper = 0))
      bd <- attr(v, "replicates")[, k] - attr(ref, "replicates")[, k]
      jd <- if (interval == "bca") attr(v, "jackknife")[, k] - attr(ref, "jackknife")[, k]
      boot_interval(diff[k], bd, jd, level, interval)
    }, numeric(3))
    data.frame(method = nm, estimator = v$method, estimate = v$estimate, se = v$se,
               lower = v$lower, upper = v$upper, difference = diff, diff.se = ci[1, ],
               diff.lower = ci[2, ], diff.upper = ci[3, ], n = v$n, stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  out$method <- factor(out$method, levels = names(fits))
  attr(out, "settings") <- list(reference = reference, gamma = gamma, num.boot = num.boot,
                                level = level, interval = interval, seed = seed,
                                diagnostics = attr(ref, "diagnostics"))
  class(out) <- c("p4l_value_comparison", "data.frame")
  out
}

#' @export
print.p4l_value_comparison <- function(x, digits = 4, ...) {
  st <- attr(x, "settings")
  cat("<p4l_value_comparison> off-policy values on observed data (gamma = ", st$gamma,
      "); differences to '", st$reference, "'\n", sep = "")
  if (isTRUE(st$num.boot > 0)) {
    cat("  ", format(100 * st$level), "% ", st$interval, " bootstrap intervals, paired over ",
        st$num.boot, " resamples of individuals\n", sep = "")
  }
  df <- x
  class(df) <- "data.frame"
  attr(df, "settings") <- NULL
  num <- vapply(df, is.numeric, logical(1))
  df[num & names(df) != "n"] <- lapply(df[num & names(df) != "n"], signif, digits = digits)
  print(df, row.names = FALSE)
  invisible(x)
}
