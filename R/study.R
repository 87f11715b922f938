# Simulation studies: a grid of data-generating settings x replications x
# methods, run through p4l_map() (future.apply when installed), resumable from
# one file per finished cell, summarised and plotted like the paper's Figure 1.

#' Run a simulation study
#'
#' Runs every cell of a simulation study: for each setting (row of `design`)
#' and each replication, one data set is simulated, every method is fitted
#' to it and every fitted policy is evaluated (by default in each
#' individual's own simulated environment, averaged per true subgroup). This
#' is the design of the paper's Figure 1 (Sec 6.1.1) and Table 2 (Sec 6.2),
#' and of any study of the same shape.
#'
#' @section Cells, seeds and reproducibility:
#' A *cell* is one (setting, replication): one simulated data set and all the
#' methods on it, so that the methods are compared on the same data.
#' Replication `r` of every setting uses the seed `seed + r - 1` for
#' `simulate()`, for every method and for `evaluate()` (common random
#' numbers: all methods are evaluated on the same Monte Carlo episodes); R's
#' random number generator is also set from it before each call and restored
#' afterwards. A cell can therefore be re-run by hand, and adding settings or
#' replications (`replications = 11:50`) leaves the finished cells unchanged.
#'
#' The cells run through `future.apply::future_lapply()` when 'future.apply'
#' is installed, so `future::plan()` decides where they run (sequentially,
#' on local workers with `plan(multisession)`, on a cluster with a
#' 'future.batchtools' plan); the results are identical for any plan and any
#' number of workers. Progress is reported through 'progressr' (wrap the call
#' in `progressr::with_progress()` or set `progressr::handlers(global =
#' TRUE)`).
#'
#' **Threads.** While a cell runs, `options(p4l.num.threads = )` is set to
#' `num.threads`, which every estimator of the package uses when its own
#' `num.threads` is not given. The default is one thread per cell when the
#' plan has several workers (`future::nbrOfWorkers() > 1`), so that workers
#' and threads do not oversubscribe the machine, and the package default
#' otherwise. Results do not depend on the number of threads.
#'
#' @section Errors and resuming:
#' An error in `simulate()` or in a method is recorded in the `error` column
#' of its rows (value `NA`); it does not stop the study. Warnings (for example
#' a fit that did not converge) are recorded in `warnings`.
#'
#' With `dir`, every finished cell is saved at once as
#' `dir/cell-<setting>-<replication>.rds`. Running the same call again skips
#' the cells found there, so a stopped study resumes where it stopped, and a
#' finished study is re-read at no cost. A saved cell records its setting,
#' seed and method names; a cell file that disagrees with the call is an
#' error (use a new `dir`). Changing the body of a method without renaming
#' it is not detected: use a new `dir` then.
#'
#' @param design A data frame with one row per data-generating setting (any
#'   columns, for example `expand.grid(per.group = c(10, 20), T = c(50, 100,
#'   200))`). A single setting can be a one-row data frame.
#' @param methods A named list of functions `function(sim, seed)`, each
#'   returning a fitted policy (class `p4l_policy`) from the simulation `sim`
#'   (what `simulate()` returned). The names label the methods.
#' @param simulate A function `function(setting, seed)` returning a list
#'   with at least `data` (a [p4l_data()] object) and, for the default
#'   `evaluate`, `env` (a `p4l_env` or a list of them named by id, such as
#'   the `env` of [sim_linear2d()]) and `groups` (the true subgroup of each
#'   id, named by id; optional). `setting` is the design row as a list. Add
#'   anything the methods share, such as a basis.
#' @param evaluate A function `function(policy, sim, seed)` returning a data
#'   frame with columns `subgroup` and `value` (and optionally `se`), or a
#'   named numeric vector of values per subgroup. Default:
#'   [study_evaluate()] with its defaults.
#' @param replications The number of replications, or the replication
#'   numbers to run (for example `11:50` to extend a study).
#' @param seed Whole number; replication `r` uses `seed + r - 1`.
#' @param dir `NULL` (keep results in memory only) or a directory for the
#'   cell files (created if needed).
#' @param num.threads Threads per cell (see Details); `NULL` chooses.
#' @param verbose Print a line when a cell is read from `dir`? (Counts only.)
#'
#' @return A data frame of class `p4l_study`, one row per setting,
#'   replication, method and subgroup: the design columns, `setting` (row of
#'   `design`), `replication`, `seed`, `method` (a factor in the order of
#'   `methods`), `subgroup`, `value`, `se` (Monte Carlo standard error of the
#'   value, when the evaluation gives one), `seconds` (elapsed time of the
#'   fit), `converged` (`NA` when the fit does not say), `clusters` (number
#'   of distinct policies of the fit), `warnings` and `error` (`NA` when
#'   none). Methods: [summary.p4l_study()], [plot.p4l_study()].
#' @seealso [study_evaluate()], [compare_policies()] for one data set;
#'   `vignette("figure1", package = "p4l")` for the paper's Figure 1.
#' @examples
#' design <- data.frame(per.group = 3, T = 20)
#' simulate <- function(setting, seed) {
#'   sim <- sim_linear2d(num.per.group = setting$per.group, T = setting$T, seed = seed)
#'   d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#'   list(data = d, env = sim$env, groups = sim$group, basis = rbf_basis(d, 8, seed = seed))
#' }
#' methods <- list(
#'   "P4L (K = 3)" = function(sim, seed) p4l(sim$data, K = 3, basis = sim$basis, seed = seed),
#'   FQI = function(sim, seed) fqi(sim$data, basis = sim$basis, seed = seed))
#' st <- run_study(design, methods, simulate, replications = 2, seed = 1,
#'                 evaluate = study_evaluate(num.episodes = 60, horizon = 20))
#' summary(st)
#' plot(st)
#' @export
run_study <- function(design, methods, simulate, evaluate = study_evaluate(),
                      replications = 1, seed = 1, dir = NULL, num.threads = NULL,
                      verbose = TRUE) {
  design <- check_design(design)
  methods <- check_study_methods(methods)
  if (!is.function(simulate)) stop_arg("`simulate` must be a function(setting, seed).")
  if (!is.function(evaluate)) stop_arg("`evaluate` must be a function(policy, sim, seed).")
  reps <- check_replications(replications)
  seed <- check_number(seed, "seed", 0, .Machine$integer.max / 2)
  if (seed != round(seed)) stop_arg("`seed` must be a whole number.")
  if (!is.null(num.threads)) num.threads <- check_count(num.threads, "num.threads", upper = 1024L)
  if (!is.null(dir)) {
    if (!is.character(dir) || length(dir) != 1L || is.na(dir) || !nzchar(dir)) {
      stop_arg("`dir` must be NULL or one directory name.")
    }
    if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, showWarnings = FALSE)) {
      stop_arg("Could not create the directory `dir` (", dir, ").")
    }
  }
  threads <- if (!is.null(num.threads)) num.threads else study_threads()
  cells <- expand.grid(replication = reps, setting = seq_len(nrow(design)))
  tasks <- lapply(seq_len(nrow(cells)), function(k) {
    j <- cells$setting[k]
    r <- cells$replication[k]
    list(setting = j, replication = r, seed = seed + r - 1,
         values = as.list(design[j, , drop = FALSE]),
         file = if (is.null(dir)) NULL else study_cell_file(dir, j, r))
  })
  done <- vapply(tasks, function(t) !is.null(t$file) && file.exists(t$file), logical(1))
  saved <- lapply(tasks[done], function(t) study_read_cell(t, names(methods)))
  if (verbose && any(done)) {
    message("run_study: ", sum(done), " of ", length(tasks), " cells read from ", dir)
  }
  run <- p4l_map(tasks[!done], study_cell, methods = methods, simulate = simulate,
                 evaluate = evaluate, threads = threads, label = "cells")
  rows <- vector("list", length(tasks))
  rows[done] <- saved
  rows[!done] <- run
  out <- do.call(rbind, rows)
  out <- cbind(design[out$setting, , drop = FALSE], out)
  rownames(out) <- NULL
  out$method <- factor(out$method, levels = names(methods))
  out <- out[order(out$setting, out$replication, as.integer(out$method)), , drop = FALSE]
  rownames(out) <- NULL
  attr(out, "design") <- design
  attr(out, "study") <- list(methods = names(methods), replications = reps, seed = seed,
                             dir = dir)
  class(out) <- c("p4l_study", "data.frame")
  out
}

check_design <- function(design) {
  if (!is.data.frame(design) || nrow(design) < 1L) {
    stop_arg("`design` must be a data frame with one row per setting.")
  }
  bad <- intersect(names(design), study_columns())
  if (length(bad) > 0L) {
    stop_arg("`design` has a column named ", paste0("\"", bad, "\"", collapse = ", "),
             ", which run_study() uses for its results; rename it.")
  }
  design <- as.data.frame(design, stringsAsFactors = FALSE)
  rownames(design) <- NULL
  design
}

study_columns <- function() {
  c("setting", "replication", "seed", "method", "subgroup", "value", "se", "seconds",
    "converged", "clusters", "warnings", "error")
}

check_study_methods <- function(methods) {
  if (is.function(methods)) stop_arg("`methods` must be a named list of functions, not one function.")
  if (!is.list(methods) || length(methods) == 0L) {
    stop_arg("`methods` must be a named list of functions(sim, seed).")
  }
  nm <- names(methods)
  if (is.null(nm) || anyNA(nm) || any(!nzchar(nm)) || anyDuplicated(nm)) {
    stop_arg("`methods` must be named, with distinct names.")
  }
  ok <- vapply(methods, is.function, logical(1))
  if (!all(ok)) stop_arg("`methods$", nm[!ok][1], "` is not a function(sim, seed).")
  methods
}

check_replications <- function(replications) {
  if (!is.numeric(replications) || length(replications) < 1L || anyNA(replications) ||
      any(replications < 1) || any(replications != round(replications)) ||
      anyDuplicated(replications)) {
    stop_arg("`replications` must be a count or distinct replication numbers (1, 2, ...).")
  }
  if (length(replications) == 1L) seq_len(replications) else as.integer(replications)
}

study_threads <- function() {
  workers <- if (requireNamespace("future", quietly = TRUE)) future::nbrOfWorkers() else 1
  if (is.finite(workers) && workers > 1) 1L else NULL
}

study_cell_file <- function(dir, setting, replication) {
  file.path(dir, sprintf("cell-%03d-%04d.rds", setting, replication))
}

study_key <- function(task, method.names) {
  list(values = task$values, setting = task$setting, replication = task$replication,
       seed = task$seed, methods = method.names)
}

study_read_cell <- function(task, method.names) {
  cell <- tryCatch(readRDS(task$file), error = function(e) NULL)
  if (!is.list(cell) || is.null(cell$rows) || is.null(cell$key)) {
    stop_arg("The cell file ", task$file, " is not a run_study() result; remove it or use a new `dir`.")
  }
  if (!identical(cell$key, study_key(task, method.names))) {
    stop_arg("The cell file ", task$file, " was written by a different study (setting ",
             task$setting, ", replication ", task$replication, ": its setting, seed or ",
             "methods differ). Use a new `dir`, or remove the old cell files.")
  }
  cell$rows
}

# One (setting, replication): simulate, fit every method, evaluate. Runs on a
# future worker; draws no random numbers from the caller's stream.
study_cell <- function(task, methods, simulate, evaluate, threads) {
  if (!is.null(threads)) {
    old <- options(p4l.num.threads = threads)
    on.exit(options(old), add = TRUE)
  }
  seed <- task$seed
  sim <- study_try(simulate(task$values, seed), seed)
  subs <- study_subgroups(sim$value)
  rows <- lapply(names(methods), function(m) {
    if (!is.null(sim$error)) {
      return(study_rows(task, m, NA_character_, error = paste("simulate:", sim$error)))
    }
    fit <- study_try(methods[[m]](sim$value, seed), seed)
    if (!is.null(fit$error)) {
      return(study_rows(task, m, subs, warnings = fit$warnings,
                        seconds = fit$seconds, error = fit$error))
    }
    if (!inherits(fit$value, "p4l_policy")) {
      return(study_rows(task, m, subs, seconds = fit$seconds,
                        error = "the method did not return a fitted policy (p4l_policy)"))
    }
    ev <- study_try(study_values(evaluate(fit$value, sim$value, seed)), seed)
    if (!is.null(ev$error)) {
      return(study_rows(task, m, subs, warnings = fit$warnings,
                        seconds = fit$seconds, converged = fit_converged(fit$value),
                        clusters = fit_clusters(fit$value), error = paste("evaluate:", ev$error)))
    }
    study_rows(task, m, ev$value$subgroup, value = ev$value$value, se = ev$value$se,
               seconds = fit$seconds, converged = fit_converged(fit$value),
               clusters = fit_clusters(fit$value),
               warnings = c(fit$warnings, ev$warnings))
  })
  rows <- do.call(rbind, rows)
  if (!is.null(task$file)) {
    tmp <- paste0(task$file, ".tmp", Sys.getpid())
    saveRDS(list(key = study_key(task, names(methods)), rows = rows), tmp)
    file.rename(tmp, task$file)
  }
  rows
}

# Evaluates `expr` with R's generator set from `seed` (restored afterwards),
# recording its error, its warnings and its elapsed time.
study_try <- function(expr, seed) {
  local_seed(seed)
  warns <- character(0)
  t0 <- proc.time()[["elapsed"]]
  value <- tryCatch(withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  }), error = function(e) structure(conditionMessage(e), class = "study_error"))
  secs <- proc.time()[["elapsed"]] - t0
  err <- if (inherits(value, "study_error")) as.character(unclass(value)) else NULL
  list(value = if (is.null(err)) value else NULL, error = err,
       warnings = unique(warns), seconds = secs)
}

study_subgroups <- function(sim) {
  g <- if (is.list(sim)) sim$groups else NULL
  if (is.null(g)) "all" else levels(factor(g))
}

# Coerces an evaluate() result to data.frame(subgroup, value, se).
study_values <- function(x) {
  if (is.numeric(x) && !is.null(names(x))) {
    x <- data.frame(subgroup = names(x), value = unname(x))
  }
  if (!is.data.frame(x) || !all(c("subgroup", "value") %in% names(x)) || nrow(x) < 1L) {
    stop("`evaluate` must return a data frame with columns subgroup and value, ",
         "or a named numeric vector", call. = FALSE)
  }
  data.frame(subgroup = as.character(x$subgroup), value = as.numeric(x$value),
             se = if (is.null(x$se)) NA_real_ else as.numeric(x$se), stringsAsFactors = FALSE)
}

study_rows <- function(task, method, subgroup, value = NA_real_, se = NA_real_,
                       seconds = NA_real_, converged = NA, clusters = NA_integer_,
                       warnings = character(0), error = NA_character_) {
  warnings <- if (length(warnings) == 0L) NA_character_ else paste(warnings, collapse = " | ")
  data.frame(setting = task$setting, replication = task$replication, seed = task$seed,
             method = method, subgroup = subgroup, value = value, se = se,
             seconds = seconds, converged = converged, clusters = clusters,
             warnings = warnings, error = error, stringsAsFactors = FALSE)
}

# Convergence of any fit (NA when the fit does not say); see fit_convergence().
fit_converged <- function(fit) fit_convergence(fit)$converged  # R/estimator.R

fit_clusters <- function(fit) {
  if (!is.null(fit$cluster)) return(length(unique(fit$cluster)))
  if (is.list(fit$policy.coef)) length(unique(fit$policy.coef)) else NA_integer_
}

#' Evaluate a policy in a study's simulated environments
#'
#' The default `evaluate` of [run_study()]: every individual's policy is
#' evaluated in its own environment ([evaluate_policy()]), and the values are
#' averaged per true subgroup, as in the paper's simulation studies. About
#' `num.episodes` Monte Carlo episodes are run per subgroup (the paper used
#' 1,000), split evenly over the subgroup's individuals.
#'
#' @param num.episodes Episodes per subgroup (at least 2 per individual).
#' @param horizon Largest number of steps per episode.
#' @param gamma Discount factor of the value (`NULL`: the policy's).
#' @param measure `"value"` (discounted return) or `"steps"` (mean episode
#'   length, the CartPole score).
#' @return A function `function(policy, sim, seed)` for [run_study()]. It
#'   returns a data frame with `subgroup`, `value` (mean over the subgroup's
#'   individuals) and `se` (Monte Carlo standard error of that mean).
#' @seealso [run_study()], [evaluate_policy()], [compare_policies()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' ev <- study_evaluate(num.episodes = 100, horizon = 20)
#' ev(fqi(d, seed = 1), list(data = d, env = sim$env, groups = sim$group), seed = 1)
#' @export
study_evaluate <- function(num.episodes = 1000, horizon = 50, gamma = NULL,
                           measure = c("value", "steps")) {
  num.episodes <- check_count(num.episodes, "num.episodes", lower = 2L)
  horizon <- check_count(horizon, "horizon")
  if (!is.null(gamma)) gamma <- check_number(gamma, "gamma", 0, 1)
  measure <- match.arg(measure)
  function(policy, sim, seed) {
    env <- sim$env
    if (is.null(env)) stop("the simulation has no `env` to evaluate in", call. = FALSE)
    ids <- if (inherits(env, "p4l_env")) {
      if (length(policy$ids) > 0L) policy$ids else sim$data$ids
    } else names(env)
    groups <- sim$groups
    g <- if (is.null(groups)) rep("all", length(ids)) else
      as.character(groups[match(as.character(ids), names(groups))])
    if (anyNA(g)) stop("`groups` of the simulation does not name every id", call. = FALSE)
    lev <- if (is.factor(groups)) intersect(levels(groups), g) else unique(g)
    rows <- lapply(lev, function(k) {
      members <- ids[g == k]
      per <- max(2L, as.integer(ceiling(num.episodes / length(members))))
      ev <- evaluate_policy(policy, env, ids = members, num.episodes = per, horizon = horizon,
                            gamma = gamma, seed = seed)
      v <- if (measure == "steps") ev$steps else ev$value
      s <- if (measure == "steps") ev$steps.se else ev$se
      data.frame(subgroup = k, value = mean(v), se = sqrt(sum(s^2)) / length(s),
                 stringsAsFactors = FALSE)
    })
    do.call(rbind, rows)
  }
}

#' @export
print.p4l_study <- function(x, n = 12, ...) {
  st <- attr(x, "study")
  design <- attr(x, "design")
  # a subset (x[rows, cols]) has lost the study's attributes: print the rows
  if (is.null(st) || is.null(design) || !all(c("method", "value", "error") %in% names(x))) {
    return(invisible(print(as.data.frame(unclass(x), stringsAsFactors = FALSE), ...)))
  }
  n.err <- sum(!is.na(x$error))
  cat("Simulation study: ", nrow(design), " setting", if (nrow(design) != 1L) "s",
      " x ", length(st$replications), " replication", if (length(st$replications) != 1L) "s",
      " x ", length(st$methods), " method", if (length(st$methods) != 1L) "s", "\n", sep = "")
  cat("Methods: ", paste(st$methods, collapse = ", "), "\n", sep = "")
  cat("Seeds: ", st$seed + min(st$replications) - 1, " to ", st$seed + max(st$replications) - 1,
      if (!is.null(st$dir)) paste0("; cells saved in ", st$dir), "\n", sep = "")
  nc <- sum(x$converged %in% FALSE & !duplicated(x[c("setting", "replication", "method")]))
  cat("Rows with an error: ", n.err, "; fits not converged: ", nc, "\n", sep = "")
  cat("\n")
  sm <- summary(x)
  if (nrow(sm) > n) {
    print(sm[seq_len(n), ], ...)
    cat("... ", nrow(sm) - n, " more rows: summary() has them all\n", sep = "")
  } else {
    print(sm, ...)
  }
  invisible(x)
}

#' Summarise a simulation study
#'
#' @param object A [run_study()] result.
#' @param ... Unused.
#' @return A data frame (class `summary.p4l_study`) with one row per setting,
#'   method and subgroup: the design columns, `method`, `subgroup`, `n`
#'   (replications with a value), `mean`, `se` (standard error of the mean
#'   over replications), `sd`, `median`, `errors` (replications that failed)
#'   and `not.converged` (fits that said they did not converge), and
#'   `seconds` (median fit time).
#' @export
summary.p4l_study <- function(object, ...) {
  design <- attr(object, "design")
  x <- as.data.frame(unclass(object), stringsAsFactors = FALSE)
  x$method <- factor(x$method, levels = attr(object, "study")$methods)
  key <- interaction(x$setting, x$method, x$subgroup, drop = TRUE, lex.order = TRUE)
  parts <- split(x, key)
  rows <- lapply(parts, function(p) {
    v <- p$value[is.finite(p$value)]
    n <- length(v)
    data.frame(setting = p$setting[1], method = p$method[1], subgroup = p$subgroup[1], n = n,
               mean = if (n > 0L) mean(v) else NA_real_,
               se = if (n > 1L) stats::sd(v) / sqrt(n) else NA_real_,
               sd = if (n > 1L) stats::sd(v) else NA_real_,
               median = if (n > 0L) stats::median(v) else NA_real_,
               errors = sum(!is.na(p$error)), not.converged = sum(p$converged %in% FALSE),
               seconds = stats::median(p$seconds, na.rm = TRUE), stringsAsFactors = FALSE)
  })
  out <- do.call(rbind, rows)
  # subgroups in their order of appearance within each setting
  # (study_evaluate(): the levels of the simulation's groups)
  seen <- lapply(split(x$subgroup, x$setting), function(g) unique(g[!is.na(g)]))
  sub.order <- mapply(match, out$subgroup, seen[as.character(out$setting)])
  out <- out[order(out$setting, sub.order, as.integer(out$method)), ]
  out <- cbind(design[out$setting, , drop = FALSE], out[names(out) != "setting"])
  rownames(out) <- NULL
  class(out) <- c("summary.p4l_study", "data.frame")
  out
}

#' @export
print.summary.p4l_study <- function(x, digits = 3, ...) {
  y <- as.data.frame(unclass(x))
  y$sd <- NULL
  for (col in c("mean", "se", "median")) y[[col]] <- signif(y[[col]], digits)
  y$seconds <- round(y$seconds, 2)
  print(y, row.names = FALSE, ...)
  invisible(x)
}

#' Boxplots of a simulation study
#'
#' One panel per setting, like the paper's Figure 1: within a panel the
#' subgroups are separated by dashed lines, and each subgroup has one box per
#' method (the values of the replications).
#'
#' @param x A [run_study()] result.
#' @param settings Which settings (rows of the design) to plot; default all.
#' @param reference `NULL`, or a named numeric vector of reference values per
#'   subgroup (for example the optimum, [linear2d_optimum()]), drawn as
#'   dotted lines.
#' @param col Box colours, recycled over the methods.
#' @param ylab Label of the value axis.
#' @param ... Passed to [graphics::boxplot()].
#' @return `x`, invisibly.
#' @export
plot.p4l_study <- function(x, settings = NULL, reference = NULL, col = NULL,
                           ylab = "value", ...) {
  design <- attr(x, "design")
  methods <- attr(x, "study")$methods
  if (is.null(settings)) settings <- sort(unique(x$setting))
  if (!is.numeric(settings) || !all(settings %in% x$setting)) {
    stop_arg("`settings` must be rows of the design that the study has.")
  }
  if (!is.null(reference) && (!is.numeric(reference) || is.null(names(reference)))) {
    stop_arg("`reference` must be a numeric vector named by subgroup.")
  }
  if (is.null(col)) col <- grDevices::hcl.colors(max(3L, length(methods)), "Dark 3")
  col <- rep_len(col, length(methods))
  n <- length(settings)
  nc <- min(n, 3L)
  nrow.legend <- ceiling(length(methods) / 4)
  old <- graphics::par(mfrow = c(ceiling(n / nc), nc), mar = c(1.5, 4, 3.2, 0.5),
                       oma = c(1 + 1.2 * nrow.legend, 0, 0, 0))
  on.exit(graphics::par(old), add = TRUE)
  m <- length(methods)
  for (j in settings) {
    xs <- x[x$setting == j & is.finite(x$value), , drop = FALSE]
    groups <- unique(as.character(x$subgroup[x$setting == j & !is.na(x$subgroup)]))
    at <- unlist(lapply(seq_along(groups), function(k) (k - 1) * (m + 1) + seq_len(m)))
    vals <- unlist(lapply(groups, function(k) lapply(methods, function(meth)
      xs$value[xs$subgroup == k & xs$method == meth])), recursive = FALSE)
    ylim <- range(c(unlist(vals), reference[groups]), na.rm = TRUE, finite = TRUE)
    if (!all(is.finite(ylim))) ylim <- c(0, 1)
    title <- paste(vapply(names(design), function(nm) {
      v <- format(design[j, nm])
      if (is.numeric(design[[nm]])) paste0(nm, " ", v) else v
    }, ""), collapse = ", ")
    graphics::boxplot(vals, at = at, xaxt = "n", col = rep(col, length(groups)), ylim = ylim,
                      xlim = c(0.5, max(at) + 0.5), ylab = ylab, cex.axis = 0.8,
                      outcex = 0.5, ...)
    graphics::title(main = title, cex.main = 0.9, line = 1.6)
    if (length(groups) > 1L) {
      graphics::abline(v = (seq_len(length(groups) - 1L)) * (m + 1), lty = 2, col = "red")
    }
    graphics::mtext(groups, side = 3, line = 0.2, at = (seq_along(groups) - 1) * (m + 1) + (m + 1) / 2,
                    cex = 0.8)
    if (!is.null(reference)) {
      for (k in seq_along(groups)) {
        r <- reference[groups[k]]
        if (is.finite(r)) {
          graphics::segments((k - 1) * (m + 1) + 0.5, r, (k - 1) * (m + 1) + m + 0.5, r,
                             lty = 3, col = "blue")
        }
      }
    }
  }
  # one legend for all panels, in the outer margin
  graphics::par(fig = c(0, 1, 0, 1), oma = c(0, 0, 0, 0), mar = c(0, 0, 0, 0), new = TRUE)
  graphics::plot.new()
  graphics::legend("bottom", legend = methods, fill = col, ncol = min(4L, m), bty = "n",
                   cex = 0.8, xpd = NA)
  invisible(x)
}

#' The paper's Figure 1 study, ready for run_study()
#'
#' The pieces of the simulation study of the paper's Sec 6.1.1 (Figure 1):
#' the 2-D environment of [sim_linear2d()] with three subgroups of
#' `per.group` individuals each, `T` decisions per individual, uniformly
#' random behaviour, gamma = 0.8, one 16-centre RBF basis
#' ([rbf_basis()]) shared by every method, and the methods P4L with `K` =
#' 2, 3, 4, 5 and K chosen by the paper's heuristic ([select_groups()]),
#' ACPI, FQI and V-learning. Every policy is evaluated with about 1,000
#' Monte Carlo episodes per subgroup of at most 50 steps, each individual in
#' its own environment ([study_evaluate()]).
#'
#' `variant = "reversed"` rewards subgroup (c) for the opposite action
#' (`linear2d_groups()` with `reward.sign = -1` for c): the subgroups then
#' need different policies and the pooled methods (FQI, V-learning) must fail
#' on (c). With the paper's rewards the three subgroups differ in their
#' dynamics only and share nearly the same optimal policy.
#'
#' @param per.group Individuals per subgroup (the paper: 10 and 20).
#' @param T Decisions per individual (the paper: 50, 100, 200).
#' @param variant `"paper"` and/or `"reversed"`.
#' @param K The numbers of clusters of the P4L fits; `"auto"` adds P4L with
#'   K chosen by [select_groups()].
#' @param baselines Which of `"ACPI"`, `"FQI"`, `"VL"` to include.
#' @param num.centers Number of RBF centres of the shared basis.
#' @param num.episodes,horizon Evaluation: episodes per subgroup and their
#'   largest length ([study_evaluate()]).
#' @return A list with `design` (the grid of `per.group`, `T` and
#'   `variant`), `simulate`, `methods` and `evaluate`, the arguments of
#'   [run_study()]; and `optimum`, a function of the variant giving the
#'   optimal value per subgroup ([linear2d_optimum()]).
#' @seealso [run_study()]; `vignette("figure1", package = "p4l")`.
#' @examples
#' fig <- linear2d_study(per.group = 3, T = 20, K = 3, baselines = "FQI",
#'                       num.episodes = 60, horizon = 20)
#' st <- run_study(fig$design, fig$methods, fig$simulate, fig$evaluate,
#'                 replications = 1, seed = 1)
#' summary(st)
#' @export
linear2d_study <- function(per.group = c(10, 20), T = c(50, 100, 200),
                           variant = c("paper", "reversed"), K = c(2:5, "auto"),
                           baselines = c("ACPI", "FQI", "VL"), num.centers = 16,
                           num.episodes = 1000, horizon = 50) {
  variant <- match.arg(variant, several.ok = TRUE)
  baselines <- match.arg(baselines, c("ACPI", "FQI", "VL"), several.ok = TRUE)
  for (x in per.group) check_count(x, "per.group")
  for (x in T) check_count(x, "T")
  num.centers <- check_count(num.centers, "num.centers")
  K <- study_K(K)
  evaluate <- study_evaluate(num.episodes = num.episodes, horizon = horizon)
  design <- expand.grid(per.group = per.group, T = T, variant = variant,
                        stringsAsFactors = FALSE)
  simulate <- function(setting, seed) {
    groups <- linear2d_groups()
    if (identical(setting$variant, "reversed")) groups["c", "reward.sign"] <- -1
    sim <- sim_linear2d(num.per.group = setting$per.group, T = setting$T, groups = groups,
                        seed = seed)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    list(data = d, env = sim$env, groups = sim$group,
         basis = rbf_basis(d, num.centers = num.centers, seed = seed))
  }
  p4l_method <- function(k) {
    force(k)
    function(sim, seed) p4l(sim$data, K = k, gamma = 0.8, basis = sim$basis, seed = seed)
  }
  methods <- lapply(K, p4l_method)
  names(methods) <- paste0("P4L (K = ", K, ")")
  base <- list(
    ACPI = function(sim, seed) acpi(sim$data, gamma = 0.8, basis = sim$basis, seed = seed),
    FQI = function(sim, seed) fqi(sim$data, gamma = 0.8, basis = sim$basis, seed = seed),
    VL = function(sim, seed) vlearning(sim$data, gamma = 0.8, basis = sim$basis, seed = seed))
  methods <- c(methods, base[baselines])
  optimum <- function(variant = "paper") {
    groups <- linear2d_groups()
    if (identical(variant, "reversed")) groups["c", "reward.sign"] <- -1
    o <- linear2d_optimum(groups, gamma = 0.8, horizon = horizon)
    stats::setNames(o$value, rownames(o))
  }
  list(design = design, simulate = simulate, methods = methods, evaluate = evaluate,
       optimum = optimum)
}

#' A simulation study from a saved table
#'
#' Rebuilds a [run_study()] result from its rows as a plain data frame (for
#' example after `write.csv()` and `read.csv()`), so that [summary()] and
#' [plot()] work on it again. The design columns are the columns before
#' `setting`.
#'
#' @param x A data frame with the columns of a [run_study()] result.
#' @param methods The method names in their order (default: order of first
#'   appearance).
#' @return A `p4l_study` data frame.
#' @examples
#' path <- system.file("extdata", "figure1.csv.gz", package = "p4l")
#' if (nzchar(path)) {
#'   st <- as_study(utils::read.csv(path))
#'   summary(st)[1:8, ]
#' }
#' @export
as_study <- function(x, methods = NULL) {
  if (!is.data.frame(x)) stop_arg("`x` must be a data frame.")
  need <- c("setting", "replication", "seed", "method", "subgroup", "value")
  miss <- setdiff(need, names(x))
  if (length(miss) > 0L) stop_arg("`x` lacks the column(s) ", paste(miss, collapse = ", "), ".")
  for (col in setdiff(study_columns(), names(x))) {
    x[[col]] <- switch(col, converged = NA, clusters = NA_integer_,
                       warnings = , error = NA_character_, NA_real_)
  }
  pos <- match("setting", names(x))
  dcols <- names(x)[seq_len(pos - 1L)]
  settings <- sort(unique(x$setting))
  design <- x[match(settings, x$setting), dcols, drop = FALSE]
  if (any(settings != seq_along(settings))) {
    x$setting <- match(x$setting, settings)
  }
  rownames(design) <- NULL
  if (is.null(methods)) methods <- unique(as.character(x$method))
  if (!all(x$method %in% methods)) stop_arg("`methods` does not name every method of `x`.")
  x$method <- factor(as.character(x$method), levels = methods)
  x$subgroup <- as.character(x$subgroup)
  x <- x[c(dcols, study_columns())]
  reps <- sort(unique(x$replication))
  attr(x, "design") <- design
  attr(x, "study") <- list(methods = methods, replications = reps,
                           seed = min(x$seed - x$replication) + 1, dir = NULL)
  class(x) <- c("p4l_study", "data.frame")
  x
}

#' The paper's CartPole study (Table 2), ready for run_study()
#'
#' The pieces of the study of the paper's Sec 6.2 (Table 2) on the
#' heterogeneous CartPole of [sim_cartpole()]: settings A, B, C of
#' [cartpole_settings()] (three environments each, `num.traj` trajectories
#' per environment from the epsilon-greedy sign(theta) behaviour policy, at
#' most `max.steps` steps), gamma = 0.9, one RBF basis of `num.centers`
#' centres shared by every method, P4L with `K` = 2, 3, 4, 5 and `"auto"`
#' ([select_groups()]), ACPI, FQI, V-learning and the behaviour policy. Every
#' trajectory's policy is evaluated in its own environment with
#' `eval.episodes` episodes of at most `max.steps` steps; the score of an
#' environment is the mean number of steps (as in the paper).
#'
#' The defaults are those of the package's Table 2 benchmark
#' (`bench/cartpole-table2.R`, whose header gives the reasons): 32 centres
#' (CartPole's state is 4-D and its value surface sharp), P4L with
#' `p4l_control(max.iter = 1000, init.policy = "fqi")`.
#'
#' @param settings Any of `"A"`, `"B"`, `"C"`.
#' @param K,baselines As in [linear2d_study()]; `baselines` may also hold
#'   `"Behaviour"`.
#' @param num.traj Trajectories per environment.
#' @param epsilon Random-action probability of the behaviour policy.
#' @param max.steps Largest number of steps of a trajectory and of an
#'   evaluation episode.
#' @param gamma Discount factor of every method.
#' @param num.centers Number of RBF centres of the shared basis.
#' @param control [p4l_control()] settings of the P4L fits.
#' @param eval.episodes Evaluation episodes per trajectory.
#' @return A list with `design` (one row per setting, column `cartpole`),
#'   `simulate`, `methods` and `evaluate`, the arguments of [run_study()].
#' @seealso [run_study()], [linear2d_study()], `vignette("cartpole", package = "p4l")`.
#' @examples
#' \donttest{
#' cp <- cartpole_study("C", K = 3, baselines = "FQI", num.traj = 5, num.centers = 8,
#'                      control = p4l_control(max.iter = 50))
#' st <- run_study(cp$design, cp$methods, cp$simulate, cp$evaluate, seed = 1)
#' summary(st)
#' }
#' @export
cartpole_study <- function(settings = c("A", "B", "C"), K = c(2:5, "auto"),
                           baselines = c("ACPI", "FQI", "VL", "Behaviour"), num.traj = 100,
                           epsilon = 0.3, max.steps = 300, gamma = 0.9, num.centers = 32,
                           control = p4l_control(max.iter = 1000, init.policy = "fqi"),
                           eval.episodes = 10) {
  settings <- match.arg(settings, c("A", "B", "C"), several.ok = TRUE)
  baselines <- match.arg(baselines, c("ACPI", "FQI", "VL", "Behaviour"), several.ok = TRUE)
  num.traj <- check_count(num.traj, "num.traj")
  epsilon <- check_number(epsilon, "epsilon", 0, 1)
  max.steps <- check_count(max.steps, "max.steps")
  gamma <- check_number(gamma, "gamma", 0, 1, upper.open = TRUE)
  num.centers <- check_count(num.centers, "num.centers")
  eval.episodes <- check_count(eval.episodes, "eval.episodes", lower = 2L)
  K <- study_K(K)
  state.names <- c("x", "x_dot", "theta", "theta_dot")
  simulate <- function(setting, seed) {
    sim <- sim_cartpole(cartpole_settings(setting$cartpole), num.traj = num.traj,
                        epsilon = epsilon, max.steps = max.steps, seed = seed)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", state.names,
                  terminal = "terminal")
    list(data = d, env = sim$env, groups = sim$group,
         basis = rbf_basis(d, num.centers = num.centers, seed = seed))
  }
  p4l_method <- function(k) {
    force(k)
    function(sim, seed) p4l(sim$data, K = k, gamma = gamma, basis = sim$basis,
                            control = control, seed = seed)
  }
  methods <- lapply(K, p4l_method)
  names(methods) <- paste0("P4L (K = ", K, ")")
  base <- list(
    ACPI = function(sim, seed) acpi(sim$data, gamma = gamma, basis = sim$basis, seed = seed),
    FQI = function(sim, seed) fqi(sim$data, gamma = gamma, basis = sim$basis, seed = seed),
    VL = function(sim, seed) vlearning(sim$data, gamma = gamma, basis = sim$basis, seed = seed),
    Behaviour = function(sim, seed) cartpole_behaviour_policy(epsilon = epsilon, gamma = gamma))
  methods <- c(methods, base[baselines])
  evaluate <- study_evaluate(num.episodes = eval.episodes * num.traj, horizon = max.steps,
                             gamma = gamma, measure = "steps")
  list(design = data.frame(cartpole = settings, stringsAsFactors = FALSE),
       simulate = simulate, methods = methods, evaluate = evaluate)
}

# K of the study helpers: whole numbers and/or "auto", as p4l() takes them.
study_K <- function(K) {
  K <- as.character(K)
  Kn <- suppressWarnings(as.numeric(K[K != "auto"]))
  if (length(K) == 0L || anyNA(Kn) || any(Kn < 1) || any(Kn != round(Kn))) {
    stop_arg("`K` must hold whole numbers of clusters and/or \"auto\".")
  }
  lapply(K, function(k) if (k == "auto") "auto" else as.integer(k))
}

#' Read the finished cells of a study
#'
#' Reads the cell files that [run_study()] saved in `dir`, for example to
#' look at a study that is still running (on other workers or a cluster) or
#' that was stopped. The result is a study like the one [run_study()] returns,
#' restricted to the finished cells.
#'
#' @param dir The directory given to [run_study()].
#' @return A `p4l_study` data frame (see [run_study()]); its design holds
#'   the settings that have at least one finished cell.
#' @examples
#' design <- data.frame(T = c(10, 15))
#' simulate <- function(setting, seed) {
#'   sim <- sim_linear2d(num.per.group = 2, T = setting$T, seed = seed)
#'   list(data = p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2")),
#'        env = sim$env, groups = sim$group)
#' }
#' dir <- tempfile("study")
#' st <- run_study(design, list(FQI = function(sim, seed) fqi(sim$data, seed = seed)),
#'                 simulate, study_evaluate(num.episodes = 40, horizon = 10),
#'                 replications = 2, dir = dir)
#' nrow(read_study(dir)) == nrow(st)
#' @export
read_study <- function(dir) {
  if (!is.character(dir) || length(dir) != 1L || !dir.exists(dir)) {
    stop_arg("`dir` must be the directory of a run_study() call.")
  }
  files <- sort(list.files(dir, pattern = "^cell-[0-9]+-[0-9]+\\.rds$", full.names = TRUE))
  if (length(files) == 0L) stop_arg("`dir` (", dir, ") holds no finished cells.")
  cells <- lapply(files, function(f) {
    cell <- tryCatch(readRDS(f), error = function(e) NULL)
    if (!is.list(cell) || is.null(cell$key) || is.null(cell$rows)) {
      stop_arg("The file ", f, " is not a run_study() cell.")
    }
    cell
  })
  methods <- cells[[1]]$key$methods
  same <- vapply(cells, function(cl) identical(cl$key$methods, methods), logical(1))
  if (!all(same)) stop_arg("The cells in `dir` come from studies with different methods.")
  settings <- vapply(cells, function(cl) cl$key$setting, numeric(1))
  first <- !duplicated(settings)
  design <- do.call(rbind, lapply(cells[first], function(cl) as.data.frame(cl$key$values,
                                                                           stringsAsFactors = FALSE)))
  design <- design[order(settings[first]), , drop = FALSE]
  rows <- do.call(rbind, lapply(cells, `[[`, "rows"))
  x <- cbind(design[match(rows$setting, sort(settings[first])), , drop = FALSE], rows)
  rownames(x) <- NULL
  x <- x[order(x$setting, x$replication, match(x$method, methods)), , drop = FALSE]
  st <- as_study(x, methods = methods)
  attr(st, "study")$dir <- dir
  st
}
