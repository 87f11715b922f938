# Argument checking and small shared helpers. Every exported function
# validates its arguments here before the C++ core sees them.

stop_arg <- function(...) stop(..., call. = FALSE)

check_flag <- function(x, name) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    stop_arg("`", name, "` must be TRUE or FALSE.")
  }
  x
}

check_number <- function(x, name, lower = -Inf, upper = Inf, lower.open = FALSE,
                         upper.open = FALSE) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x)) {
    stop_arg("`", name, "` must be a single finite number.")
  }
  bad.low <- if (lower.open) x <= lower else x < lower
  bad.up <- if (upper.open) x >= upper else x > upper
  if (bad.low || bad.up) {
    stop_arg("`", name, "` must be in ", if (lower.open) "(" else "[", lower, ", ",
             upper, if (upper.open) ")" else "]", "; got ", format(x), ".")
  }
  as.numeric(x)
}

check_count <- function(x, name, lower = 1L, upper = .Machine$integer.max) {
  if (!is.numeric(x) || length(x) != 1L || !is.finite(x) || x != round(x)) {
    stop_arg("`", name, "` must be a single whole number.")
  }
  if (x < lower || x > upper) {
    stop_arg("`", name, "` must be between ", lower, " and ", upper, "; got ", x, ".")
  }
  as.integer(x)
}

# Thread count: argument, option p4l.num.threads, env var P4L_NUM_THREADS, then 2.
resolve_threads <- function(num.threads) {
  if (is.null(num.threads)) {
    num.threads <- getOption("p4l.num.threads", NULL)
  }
  if (is.null(num.threads)) {
    env <- Sys.getenv("P4L_NUM_THREADS", "")
    num.threads <- if (nzchar(env)) suppressWarnings(as.numeric(env)) else 2L
    if (is.na(num.threads)) {
      stop_arg("The environment variable P4L_NUM_THREADS must be a whole number.")
    }
  }
  check_count(num.threads, "num.threads", lower = 1L, upper = 1024L)
}

# A seed as a whole number in [0, 2^31); NULL draws one from R's generator.
resolve_seed <- function(seed) {
  if (is.null(seed)) {
    return(as.numeric(sample.int(.Machine$integer.max, 1L)))
  }
  if (!is.numeric(seed) || length(seed) != 1L || !is.finite(seed) || seed != round(seed) ||
      seed < 0 || seed > 2^53) {
    stop_arg("`seed` must be NULL or a single non-negative whole number.")
  }
  as.numeric(seed)
}

# Converts action indices (1-based) back to the training coding.
decode_actions <- function(index, levels, type) {
  out <- levels[index]
  if (identical(type, "factor")) factor(out, levels = levels) else out
}

# Numeric state matrix from a data frame or matrix, columns by name.
state_matrix <- function(newdata, state.names, arg = "newdata") {
  if (is.data.frame(newdata) || (is.matrix(newdata) && !is.null(colnames(newdata)))) {
    missing <- setdiff(state.names, colnames(newdata))
    if (length(missing) > 0L) {
      stop_arg("`", arg, "` lacks the state column(s) ",
               paste0("'", missing, "'", collapse = ", "), ".")
    }
    x <- newdata[, state.names, drop = FALSE]
    if (is.data.frame(x)) {
      bad <- !vapply(x, is.numeric, logical(1))
      if (any(bad)) {
        stop_arg("State column '", state.names[bad][1], "' of `", arg, "` must be numeric.")
      }
      x <- as.matrix(x)
    }
  } else if (is.matrix(newdata) || (is.numeric(newdata) && is.null(dim(newdata)))) {
    x <- if (is.matrix(newdata)) newdata else matrix(newdata, nrow = 1L)
    if (ncol(x) != length(state.names)) {
      stop_arg("`", arg, "` must have ", length(state.names), " state columns (",
               paste(state.names, collapse = ", "), "); got ", ncol(x), ".")
    }
  } else {
    stop_arg("`", arg, "` must be a data frame or a numeric matrix.")
  }
  storage.mode(x) <- "double"
  if (!is.numeric(x)) stop_arg("The states in `", arg, "` must be numeric.")
  bad <- which(!is.finite(x), arr.ind = TRUE)
  if (length(bad) > 0L) {
    stop_arg("`", arg, "` has a missing or non-finite state in column '",
             state.names[bad[1, 2]], "' at row ", bad[1, 1], ".")
  }
  colnames(x) <- state.names
  x
}
