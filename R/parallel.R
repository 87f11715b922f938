# Replications, folds, bootstraps and grids: one map function for all of them.
#
# p4l_map() runs FUN over X with future.apply::future_lapply() when
# 'future.apply' is installed (any future::plan(), local or remote), and with
# lapply() otherwise; progress is reported through 'progressr' when it is
# installed (the user chooses the handler with progressr::handlers(), and
# wraps the call in progressr::with_progress() or sets
# progressr::handlers(global = TRUE)).
#
# Reproducibility: FUN must not draw random numbers from R's generator.
# Callers draw everything random (bootstrap resamples, fold assignments,
# per-task seeds) on the calling side from their own `seed` (local_seed())
# and pass it in X, so the result is identical for any plan, any number of
# workers, and with or without 'future.apply'. A FUN that needs a generator
# receives a seed in its element of X and calls local_seed() itself.

p4l_map <- function(X, FUN, ..., label = "tasks") {
  n <- length(X)
  if (n == 0L) return(list())
  p <- NULL
  if (requireNamespace("progressr", quietly = TRUE)) {
    p <- progressr::progressor(steps = n)
  }
  task <- function(x, ...) {
    out <- FUN(x, ...)
    if (!is.null(p)) p(message = label)
    out
  }
  if (requireNamespace("future.apply", quietly = TRUE)) {
    future.apply::future_lapply(X, task, ..., future.seed = NULL,
                                future.packages = "p4l")
  } else {
    lapply(X, task, ...)
  }
}

# Independent per-task seeds drawn from `seed` (whole numbers in [0, 2^31)).
task_seeds <- function(seed, n) {
  local_seed(seed)
  as.numeric(sample.int(.Machine$integer.max, n))
}
