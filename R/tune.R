#' Choose K and alpha of P4L by cross-validated value
#'
#' Splits the individuals into `folds` folds; for every setting of the grid
#' and every fold, fits [p4l()] on the other folds, gives each held-out
#' individual a policy from their own transitions as for any new individual
#' ([p4l_assign()]), and so builds one cross-fitted policy for every
#' individual, from a fit that never saw them. Each setting's cross-fitted
#' policy is then scored on all the data with [policy_value()] (by default
#' fitted-Q evaluation with a bootstrap over individuals). The chosen setting
#' is refitted on all data.
#'
#' K = 1 is a candidate (one policy for everyone), so the data can decide not
#' to personalise. Every setting's value is estimated on the same bootstrap
#' resamples, so the intervals of the differences between settings
#' (`$differences`) are paired.
#'
#' The basis is built once on all individuals' states (it uses the states
#' only, never actions or rewards) and shared by every fit; the held-out
#' individuals' states therefore influence the basis centres, as in
#' standard practice for unsupervised feature maps.
#'
#' @details
#' **The default choice rule.** Values close to the best attainable do not
#' separate policies: with a reward of 1 per step and gamma = 0.9 (CartPole),
#' a policy that keeps the pole up for 50 steps attains 99.5% of the largest
#' possible value, so every candidate's estimate lies within its standard
#' error of the others', and the largest estimate or lower bound is a draw of
#' noise among settings that may differ a lot in the criterion the user
#' reports (steps up to 300). Among settings the data cannot tell apart,
#' `"simplest"` takes the one with the fewest clusters, whose policy rests
#' on the most data per cluster. Where personalising pays, the paired
#' differences show it and a larger K is chosen (the 2-D study with
#' subgroup c's reward reversed; tested). This rule was chosen from the
#' design of the estimate, after a pilot on CartPole settings C
#' (replications 1 to 5) and A (1 to 3) showed the draws; the CartPole
#' table in `bench/README.md` uses replications 21 to 24 and 26 to 29, which played no
#' part in the choice.
#'
#' @param data A `p4l_data` object.
#' @param K Candidate numbers of clusters (whole numbers; 1 allowed).
#' @param alpha Candidate uncertainty levels; `NULL` (default) uses the
#'   default of [p4l()] for each fit. A numeric vector may include `NA`
#'   for that default.
#' @param gamma Discount factor.
#' @param basis A basis shared by every fit; `NULL` builds the default basis
#'   of [p4l()] on all states.
#' @param folds Number of folds (individuals are split at random, with
#'   sizes differing by at most one).
#' @param method Value estimator of [policy_value()].
#' @param q.groups Groups of individuals that get their own Q-function in
#'   the value estimate (see [policy_value()]). The same groups serve every
#'   setting, so that no setting is scored by a more flexible model than
#'   another: `NULL` (default) takes the subgroups found by
#'   [select_groups()] on `data` (one pooled Q-function when it finds one
#'   subgroup); `"pooled"` one Q-function for all; or one label per
#'   individual. This default was chosen on one data set, the 2-D study with
#'   subgroup c's reward reversed (`sim_linear2d()`, 10 per subgroup, T =
#'   50, seed 8, K = 1 to 4): with it the estimates (2.66, 3.43, 3.33, 3.32)
#'   ranked the settings as their true values did (2.70, 3.57, 3.47, 3.47),
#'   while one pooled Q-function (2.80, 2.54, 2.57, 2.57) preferred K = 1. A
#'   pooled Q-function depends on the state only, so it blurs policies that
#'   differ between individuals (see [policy_value()]). Fitted-Q evaluation
#'   underestimates greedy policies with an RBF basis by a few hundredths on
#'   the 2-D study (`bench/README.md`); every setting here is greedy, so the
#'   comparison between settings is affected less than the level.
#' @param select How to choose. `"simplest"` (default): the fewest clusters
#'   whose value is not significantly below the best: among the settings
#'   whose paired bootstrap interval of the difference to the setting with
#'   the largest estimate reaches 0 (`upper >= 0`), the smallest K (first
#'   in the grid's order among equal K). Personalising is chosen only when
#'   the data show that it pays, the parsimony of the one-standard-error
#'   rule of cross-validation (Breiman et al. 1984), with a paired interval
#'   in place of one standard error. `"lower"`: the largest lower confidence
#'   bound (favours settings whose value is both high and well determined).
#'   `"estimate"`: the largest estimate. See Details for why the default.
#' @param level Confidence level of the intervals.
#' @param num.boot Bootstrap resamples of [policy_value()].
#' @param refit Refit the chosen setting on all data (`$fit`).
#' @param control Settings from [p4l_control()], used by every fit.
#' @param seed Random seed (folds, fits, bootstrap); `NULL` draws one.
#' @param num.threads Threads per fit (see [p4l-package]).
#' @param ... Further arguments to [p4l()] (such as `rank` or `mu`).
#' @return A `p4l_tuning` object: `grid` (one row per setting: `K`,
#'   `alpha`, `estimate`, `se`, `lower`, `upper`, `converged` (the
#'   fraction of the fold fits that converged), `time`, `in.range` (the
#'   estimate lies within the values any policy can attain, see
#'   [policy_value()]; settings outside are chosen only when none is
#'   inside, with a warning)), `best` (the row
#'   chosen), `differences` (every setting minus the chosen one, paired
#'   bootstrap intervals), `fit` (the refit, or `NULL`), `folds` (fold of
#'   each id), `policies` (the cross-fitted policy of each setting) and the
#'   settings used. It has `print()`, `summary()`, `plot()` and
#'   `as.data.frame()` methods.
#' @references Breiman, L., Friedman, J. H., Olshen, R. A. and Stone, C. J.
#'   (1984). Classification and Regression Trees. Wadsworth.
#' @examples
#' \donttest{
#' sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' tn <- tune_p4l(d, K = 1:3, folds = 3, num.boot = 50, seed = 1)
#' tn
#' }
#' @export
tune_p4l <- function(data, K = 1:5, alpha = NULL, gamma = 0.8, basis = NULL, folds = 5,
                     method = c("fqe", "dr", "wis"), q.groups = NULL,
                     select = c("simplest", "lower", "estimate"),
                     level = 0.95, num.boot = 200, refit = TRUE, control = p4l_control(),
                     seed = NULL, num.threads = NULL, ...) {
  cl <- match.call()
  check_p4l_data_arg(data)
  N <- length(data$ids)
  method <- match.arg(method)
  select <- match.arg(select)
  K <- tune_check_K(K)
  folds <- check_count(folds, "folds", lower = 2L, upper = N)
  alpha <- tune_check_alpha(alpha)
  gamma <- check_gamma(gamma)
  level <- check_number(level, "level", 0, 1, lower.open = TRUE, upper.open = TRUE)
  check_flag(refit, "refit")
  control <- check_control(control, "p4l_control", "p4l_control")
  num.threads <- resolve_threads(num.threads)
  seed <- resolve_seed(seed)
  train.size <- N - ceiling(N / folds)
  if (max(K) > train.size) {
    stop_arg("`K` goes up to ", max(K), " but a training part of ", folds, " folds holds only ",
             train.size, " individuals; use smaller `K` or fewer `folds`.")
  }
  extra <- list(...)
  if (any(c("K", "data", "alpha", "gamma", "basis", "seed") %in% names(extra))) {
    stop_arg("Give `K`, `alpha`, `gamma`, `basis` and `seed` as arguments of tune_p4l().")
  }
  seeds <- task_seeds(seed, 3L)
  basis <- resolve_p4l_basis(basis, data, seeds[1], num.threads)
  if (is.null(q.groups)) {
    q.groups <- data_q_groups(data, num.threads)
    if (length(unique(q.groups)) < 2L) q.groups <- "pooled"
  }
  fold.of <- tune_folds(N, folds, seeds[2])
  grid <- expand.grid(K = K, alpha = alpha, KEEP.OUT.ATTRS = FALSE)
  tasks <- expand.grid(setting = seq_len(nrow(grid)), fold = seq_len(folds),
                       KEEP.OUT.ATTRS = FALSE)
  task.seed <- task_seeds(seeds[3], nrow(tasks))
  run <- function(j) {
    g <- grid[tasks$setting[j], ]
    held <- which(fold.of == tasks$fold[j])
    train <- subset(data, ids = seq_len(N)[-held], by = "index")
    test <- subset(data, ids = held, by = "index")
    t0 <- proc.time()[["elapsed"]]
    args <- c(list(data = train, K = g$K, gamma = gamma, basis = basis, control = control,
                   seed = task.seed[j], num.threads = num.threads),
              if (!is.na(g$alpha)) list(alpha = g$alpha), extra)
    fit <- withCallingHandlers(do.call(p4l, args), warning = function(w) {
      invokeRestart("muffleWarning")
    })
    assigned <- suppressMessages(p4l_assign(fit, test))
    list(coef = tune_policy_coefs(assigned, test$ids), converged = isTRUE(fit$converged),
         time = proc.time()[["elapsed"]] - t0, greedy = isTRUE(fit$greedy))
  }
  res <- p4l_map(seq_len(nrow(tasks)), run, label = "tune_p4l fits")
  policies <- vector("list", nrow(grid))
  for (s in seq_len(nrow(grid))) {
    js <- which(tasks$setting == s)
    policies[[s]] <- tune_crossfit_policy(data, basis, gamma, res[js], tasks$fold[js], fold.of,
                                          grid$K[s])
  }
  # Every setting scored on the same resamples (same seed): paired comparisons.
  vals <- lapply(policies, function(pol) {
    suppressWarnings(policy_value(pol, data, method = method, gamma = gamma, basis = basis,
                                  q.groups = q.groups, num.boot = num.boot, level = level,
                                  seed = seeds[3] + 1, num.threads = num.threads))
  })
  grid <- tune_grid_table(grid, vals, res, tasks)
  ok <- tune_in_range(grid, vals, method)
  best <- tune_select(select, grid, vals, ok, level)
  diffs <- tune_differences(vals, best, grid, level)
  fit <- if (refit) tune_refit(data, grid[best, ], gamma, basis, control, seed, num.threads,
                                extra)
  out <- list(grid = grid, best = grid[best, , drop = FALSE], best.index = best,
              differences = diffs, fit = fit,
              folds = stats::setNames(fold.of, as.character(data$ids)), policies = policies,
              method = method, q.groups = q.groups, select = select, level = level, num.boot = num.boot,
              gamma = gamma, basis = basis, seed = seed, call = cl)
  class(out) <- "p4l_tuning"
  out
}

# The P4L fit of the chosen setting (one row of the grid) on all the data.
tune_refit <- function(data, setting, gamma, basis, control, seed, num.threads, extra) {
  args <- c(list(data = data, K = setting$K, gamma = gamma, basis = basis,
                 control = control, seed = seed, num.threads = num.threads),
            if (!is.na(setting$alpha)) list(alpha = setting$alpha), extra)
  do.call(p4l, args)
}

# The checked grid of K: sorted unique whole numbers of at least 1.
tune_check_K <- function(K) {
  if (!is.numeric(K) || length(K) < 1L || anyNA(K) || any(K != round(K)) || any(K < 1)) {
    stop_arg("`K` must be a vector of whole numbers of at least 1.")
  }
  sort(unique(as.integer(K)))
}

# The checked grid of alpha (NA: the default of p4l()).
tune_check_alpha <- function(alpha) {
  if (is.null(alpha)) return(NA_real_)
  if (!is.numeric(alpha) || any(!is.na(alpha) & (!is.finite(alpha) | alpha < 0))) {
    stop_arg("`alpha` must be NULL or a vector of non-negative numbers (NA: the default).")
  }
  unique(alpha)
}

# The grid of settings with each setting's overall value estimate, the share
# of its fold fits that converged, their total time and whether the estimate
# lies within the attainable values.
tune_grid_table <- function(grid, vals, res, tasks) {
  in.range <- vapply(vals, function(v) !any(attr(v, "out.of.range")[v$id == "overall"]),
                     logical(1))
  ov <- do.call(rbind, lapply(vals, function(v) {
    v <- as.data.frame(v)
    v[v$id == "overall", c("estimate", "se", "lower", "upper"), drop = FALSE]
  }))
  grid <- cbind(grid, ov)
  grid$converged <- vapply(seq_len(nrow(grid)), function(s)
    mean(vapply(res[tasks$setting == s], function(r) r$converged, logical(1))), numeric(1))
  grid$time <- vapply(seq_len(nrow(grid)), function(s)
    sum(vapply(res[tasks$setting == s], function(r) r$time, numeric(1))), numeric(1))
  grid$in.range <- in.range
  rownames(grid) <- NULL
  grid
}

# The rows that may be chosen, with a warning about the others. An estimate
# outside the attainable values is extrapolation, not evidence: such settings
# are chosen only when no setting is in range.
tune_in_range <- function(grid, vals, method) {
  in.range <- grid$in.range
  ok <- if (any(in.range)) in.range else rep(TRUE, nrow(grid))
  if (any(in.range)) {
    if (!all(in.range)) {
      warning("tune_p4l(): the ", method, " estimates of ", sum(!in.range), " setting(s) (K = ",
              paste(grid$K[!in.range], collapse = ", "), ") lie outside the values any policy ",
              "can attain; they were not chosen (column `in.range`).", call. = FALSE)
    }
  } else {
    warning("tune_p4l(): every setting's ", method, " estimate lies outside the values any ",
            "policy can attain on these data [", paste(format(attr(vals[[1]], "value.range"),
                                                                digits = 4), collapse = ", "),
            "]: the comparison is not reliable; try method = \"dr\" or a smaller basis.",
            call. = FALSE)
  }
  ok
}

# The chosen row of the grid among the rows `ok` (see the documentation of
# `select`).
tune_select <- function(select, grid, vals, ok, level) {
  crit <- if (select == "lower") grid$lower else grid$estimate
  crit[!ok | !is.finite(crit)] <- -Inf
  if (all(crit == -Inf)) {
    stop_arg("No setting has a finite ", if (select == "lower") "lower bound" else "estimate",
             if (select != "estimate") " (they need `num.boot` of at least 2)",
             "; see the fits' warnings (run p4l() on the data).")
  }
  top <- which.max(crit)
  if (select != "simplest") return(top)
  d <- tune_differences(vals, top, grid, level)
  if (is.null(d)) {
    stop_arg("`select = \"simplest\"` compares settings by their paired bootstrap ",
             "differences: give `num.boot` of at least 2.")
  }
  cand <- which(ok & is.finite(grid$estimate) & d$upper >= 0)
  cand[order(grid$K[cand], cand)][1]
}

# Balanced random folds of N individuals.
tune_folds <- function(N, folds, seed) {
  local_seed(seed)
  sample(rep_len(seq_len(folds), N))
}

# Per-id policy and Q coefficients of an assigned (new-individual) policy.
tune_policy_coefs <- function(policy, ids) {
  pos <- match(ids, policy$ids)
  if (anyNA(pos)) stop("internal: an assigned policy lacks held-out ids", call. = FALSE)
  slots <- policy$slot[pos]
  list(policy = policy$policy.coef[slots],
       q = if (is.null(policy$q.coef)) NULL else policy$q.coef[slots],
       cluster = if (is.null(policy$cluster)) rep(NA_integer_, length(ids)) else
         unname(policy$cluster[pos]))
}

# One per-individual policy for all of `data`: each individual's policy comes
# from the fit of the fold that held them out.
tune_crossfit_policy <- function(data, basis, gamma, parts, part.fold, fold.of, K) {
  N <- length(data$ids)
  pc <- vector("list", N)
  qc <- vector("list", N)
  cl <- integer(N)
  for (j in seq_along(parts)) {
    held <- which(fold.of == part.fold[j])
    pc[held] <- parts[[j]]$coef$policy
    if (!is.null(parts[[j]]$coef$q)) qc[held] <- parts[[j]]$coef$q
    cl[held] <- parts[[j]]$coef$cluster
  }
  if (any(vapply(qc, is.null, logical(1)))) qc <- NULL
  new_p4l_policy("p4l (cross-fitted)", "p4l_crossfit", basis = basis, gamma = gamma,
                 action.levels = data$action.levels, action.type = data$action.type,
                 state.names = data$state.names, id.column = data$columns$id, ids = data$ids,
                 slot = seq_len(N), policy.coef = pc, q.coef = qc,
                 greedy = parts[[1]]$greedy, epsilon = 0, raw.state = FALSE,
                 cluster = stats::setNames(cl, as.character(data$ids)), coding = data$coding,
                 K = K, fold = fold.of)
}

# Paired differences (setting minus chosen) from the bootstrap replicates.
tune_differences <- function(vals, best, grid, level) {
  reps <- lapply(vals, function(v) attr(v, "replicates"))
  if (any(vapply(reps, is.null, logical(1)))) return(NULL)
  ov <- function(v) as.data.frame(v)$estimate[as.data.frame(v)$id == "overall"]
  a <- (1 - level) / 2
  rows <- lapply(seq_along(vals), function(s) {
    d <- reps[[s]] - reps[[best]]
    data.frame(K = grid$K[s], alpha = grid$alpha[s], difference = ov(vals[[s]]) - ov(vals[[best]]),
               se = if (s == best) 0 else stats::sd(d),
               lower = unname(stats::quantile(d, a)), upper = unname(stats::quantile(d, 1 - a)))
  })
  do.call(rbind, rows)
}

#' @export
print.p4l_tuning <- function(x, ...) {
  cat("<p4l_tuning> P4L settings compared by cross-validated ", x$method, " value (",
      length(unique(x$folds)), " folds, ", length(x$folds), " individuals, gamma = ", x$gamma,
      ")\n", sep = "")
  g <- x$grid
  show <- data.frame(K = g$K, alpha = ifelse(is.na(g$alpha), "default", format(g$alpha, digits = 3)),
                     estimate = format(g$estimate, digits = 4), se = format(g$se, digits = 3),
                     interval = paste0("[", format(g$lower, digits = 4), ", ",
                                       format(g$upper, digits = 4), "]"),
                     converged = paste0(round(100 * g$converged), "%"),
                     range = ifelse(g$in.range, "", "outside"))
  show$chosen <- ifelse(seq_len(nrow(g)) == x$best.index, "<-", "")
  names(show)[5] <- paste0(round(100 * x$level), "% interval")
  print(show, row.names = FALSE)
  cat("Chosen by ", switch(x$select, lower = "the largest lower bound",
                           estimate = "the largest estimate",
                           simplest = "the fewest clusters not significantly below the best"),
      ": K = ", x$best$K, if (!is.na(x$best$alpha)) paste0(", alpha = ", format(x$best$alpha, digits = 3)),
      if (is.null(x$fit)) " (not refitted)" else "; refitted on all data (`$fit`)", "\n", sep = "")
  invisible(x)
}

#' @export
summary.p4l_tuning <- function(object, ...) {
  out <- list(grid = object$grid, best = object$best, differences = object$differences,
              method = object$method, select = object$select, level = object$level,
              num.boot = object$num.boot, folds = tabulate(object$folds),
              q.groups = if (identical(object$q.groups, "pooled")) "pooled" else
                length(unique(object$q.groups)),
              fit = if (is.null(object$fit)) NULL else summary(object$fit))
  class(out) <- "summary.p4l_tuning"
  out
}

#' @export
print.summary.p4l_tuning <- function(x, ...) {
  cat("Cross-validated ", x$method, " values (", length(x$folds), " folds of ",
      paste(x$folds, collapse = "/"), " individuals; ", x$num.boot, " bootstrap resamples; ",
      "Q-functions: ", if (identical(x$q.groups, "pooled")) "pooled" else
        paste(x$q.groups, "groups"), ")\n", sep = "")
  print(x$grid, row.names = FALSE, digits = 4)
  if (!is.null(x$differences)) {
    cat("\nDifferences to the chosen setting (paired bootstrap, ", round(100 * x$level),
        "% intervals):\n", sep = "")
    print(x$differences, row.names = FALSE, digits = 4)
  }
  if (!is.null(x$fit)) {
    cat("\nRefit on all data:\n")
    print(x$fit)
  }
  invisible(x)
}

#' @export
as.data.frame.p4l_tuning <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$grid
}

#' @export
plot.p4l_tuning <- function(x, ...) {
  g <- x$grid
  lab <- if (length(unique(g$alpha)) > 1L) paste0("K=", g$K, "\nalpha=", format(g$alpha, digits = 2)) else
    paste0("K = ", g$K)
  at <- seq_len(nrow(g))
  graphics::plot(at, g$estimate, ylim = range(c(g$lower, g$upper), finite = TRUE), pch = 19,
                 xaxt = "n", xlab = "", ylab = paste0("cross-validated value (", x$method, ")"),
                 main = "tune_p4l()", ...)
  graphics::arrows(at, g$lower, at, g$upper, angle = 90, code = 3, length = 0.05)
  graphics::points(x$best.index, g$estimate[x$best.index], pch = 1, cex = 2)
  graphics::axis(1, at = at, labels = lab)
  invisible(x)
}
