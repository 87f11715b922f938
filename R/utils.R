# Small shared helpers: threads, seeds, action decoding and the coding and
# scaling of state columns.

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

# Seeds R's generator for the rest of the calling function and restores the
# user's random state (or its absence) when that function exits.
local_seed <- function(seed, envir = parent.frame()) {
  g <- globalenv()
  old <- if (exists(".Random.seed", g, inherits = FALSE)) get(".Random.seed", g) else NULL
  restore <- function() {
    if (!is.null(old)) assign(".Random.seed", old, g)
    else if (exists(".Random.seed", g, inherits = FALSE)) rm(".Random.seed", envir = g)
  }
  do.call(on.exit, list(as.call(list(restore)), add = TRUE), envir = envir)
  set.seed(seed %% .Machine$integer.max)
}

# Converts action indices (1-based) back to the training coding.
decode_actions <- function(index, levels, type) {
  out <- levels[index]
  if (identical(type, "factor")) factor(out, levels = levels) else out
}

# Numeric state matrix from a data frame or matrix, columns by name. With
# `coding` (a per-column coding list, `p4l_data()$coding$state`), a data frame
# that does not already hold every coded column as a numeric column is taken
# to hold the raw columns and is coded by encode_columns().
state_matrix <- function(newdata, state.names, arg = "newdata", coding = NULL) {
  if (!is.null(coding) && is.data.frame(newdata) &&
      !(all(state.names %in% names(newdata)) &&
        all(vapply(newdata[state.names], is.numeric, logical(1))))) {
    newdata <- encode_columns(newdata, coding, arg = arg)
  }
  if (is.data.frame(newdata) || (is.matrix(newdata) && !is.null(colnames(newdata)))) {
    missing <- setdiff(state.names, colnames(newdata))
    if (length(missing) > 0L) {
      stop_arg("`", arg, "` lacks the state column(s) ",
               paste0("'", missing, "'", collapse = ", "), ".")
    }
    x <- if (is.matrix(newdata) && identical(colnames(newdata), state.names)) newdata else
      newdata[, state.names, drop = FALSE]  # (no copy when the columns are already these)
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
  x <- as_double(x)
  if (!is.numeric(x)) stop_arg("The states in `", arg, "` must be numeric.")
  finite_states(x, state.names, arg)
}

# colMeans(x) and the sd() of each column, named by column: for a double
# matrix with at least two rows in one C++ pass per column (the same values
# to the bit, column_summary_cpp()), else by R's functions.
column_moments <- function(x, num.threads = 1L) {
  if (!(is.double(x) && is.matrix(x) && nrow(x) >= 2L)) {
    return(list(mean = colMeans(x), sd = column_apply(x, stats::sd)))
  }
  cs <- column_summary_cpp(x, TRUE, num.threads)
  list(mean = stats::setNames(cs$mean, colnames(x)), sd = stats::setNames(cs$sd, colnames(x)))
}

# f applied to each column of the matrix x, named by column, as
# apply(x, 2, f) for a scalar f (apply() would first transpose x, which costs
# as much as f at 10^6 rows).
column_apply <- function(x, f, ...) {
  out <- vapply(seq_len(ncol(x)), function(j) f(x[, j], ...), numeric(1))
  names(out) <- colnames(x)
  out
}

# The state matrix x (columns in the order of state.names) named by
# state.names, or an error naming its first missing or non-finite entry.
finite_states <- function(x, state.names, arg) {
  # C++ check for double matrices (no logical copy of x at 10^6 rows)
  ok <- if (is.double(x) && is.matrix(x)) first_nonfinite_row_cpp(x) == 0 else all(is.finite(x))
  if (!ok) {
    bad <- which(!is.finite(x), arr.ind = TRUE)
    stop_arg("`", arg, "` has a missing or non-finite state in column '",
             state.names[bad[1, 2]], "' at row ", bad[1, 1], ".")
  }
  if (!identical(colnames(x), state.names)) colnames(x) <- state.names
  x
}

# The coding of one raw column (see p4l_data()): list(column, type, levels,
# names). `type` is "numeric" (numeric or integer, kept as is), "logical" (one
# 0/1 column "<col>TRUE"), "factor" or "character" (treatment contrasts: one
# 0/1 column "<col><level>" per level but the first). `x` holds the values
# the coding is learned from (no NA).
column_coding <- function(x, column, role) {
  if (is.numeric(x)) {
    return(list(column = column, type = "numeric", levels = NULL, names = column))
  }
  if (is.logical(x)) {
    return(list(column = column, type = "logical", levels = c("FALSE", "TRUE"),
                names = paste0(column, "TRUE")))
  }
  if (is.factor(x)) {
    type <- "factor"
    levs <- levels(droplevels(x))
  } else if (is.character(x)) {
    type <- "character"
    levs <- sort(unique(x), method = "radix")
  } else {
    stop_arg(role, " column '", column, "' must be numeric, logical, factor or character; it is ",
             class(x)[1], ".")
  }
  if (length(levs) < 2L) {
    stop_arg(role, " column '", column, "' takes only one value (",
             paste0("'", levs, "'", collapse = ", "), "); it carries no information.")
  }
  list(column = column, type = type, levels = levs, names = paste0(column, levs[-1L]))
}

# Codes the raw columns of `newdata` with `coding` (a list of column codings,
# as in `p4l_data()$coding$state`): a numeric matrix whose columns are the
# coded columns, in the order of the coding.
encode_columns <- function(newdata, coding, arg = "newdata") {
  if (!is.data.frame(newdata)) stop_arg("`", arg, "` must be a data frame.")
  cols <- vapply(coding, function(cd) cd$column, character(1))
  miss <- setdiff(cols, names(newdata))
  if (length(miss) > 0L) {
    stop_arg("`", arg, "` lacks the column(s) ", paste0("'", miss, "'", collapse = ", "), ".")
  }
  n <- nrow(newdata)
  blocks <- lapply(coding, function(cd) {
    x <- newdata[[cd$column]]
    if (anyNA(x)) {
      stop_arg("Column '", cd$column, "' of `", arg, "` is missing at row ",
               which(is.na(x))[1], ".")
    }
    if (cd$type == "numeric") {
      if (!is.numeric(x)) {
        stop_arg("Column '", cd$column, "' of `", arg, "` must be numeric; it is ",
                 class(x)[1], ".")
      }
      return(matrix(as.double(x), n, 1L))
    }
    if (cd$type == "logical") {
      if (is.numeric(x) && all(x %in% c(0, 1))) x <- as.logical(x)
      if (!is.logical(x)) {
        stop_arg("Column '", cd$column, "' of `", arg, "` must be logical; it is ",
                 class(x)[1], ".")
      }
      return(matrix(as.double(x), n, 1L))
    }
    if (!(is.factor(x) || is.character(x))) {
      stop_arg("Column '", cd$column, "' of `", arg, "` must be a factor or character (",
               "levels ", paste(cd$levels, collapse = ", "), "); it is ", class(x)[1], ".")
    }
    x <- as.character(x)
    unseen <- setdiff(unique(x), cd$levels)
    if (length(unseen) > 0L) {
      stop_arg("Column '", cd$column, "' of `", arg, "` has the level '", unseen[1],
               "', which the training data did not have (levels: ",
               paste(cd$levels, collapse = ", "), ").")
    }
    out <- outer(x, cd$levels[-1L], "==")
    storage.mode(out) <- "double"
    matrix(out, n, length(cd$levels) - 1L)
  })
  out <- do.call(cbind, blocks)
  if (is.null(out)) out <- matrix(0, n, 0L)
  colnames(out) <- unlist(lapply(coding, function(cd) cd$names), use.names = FALSE)
  out
}

# Overflow-safe column means and standard deviations of a numeric matrix.
# `shift` and `scale` are the caller's usual estimates (colMeans() and sd()
# by default), kept as they are where finite, so ordinary data give exactly
# the usual results. A column where they overflow (states around 1e155 and
# beyond: the squares exceed the largest double) is recomputed after dividing
# it by its largest absolute value; an error names a column that is not
# finite or whose scale still overflows. Columns without spread get scale 0
# (callers decide: scale 1, or drop the column). `shift` and `scale` NULL:
# column_moments().
column_scales <- function(x, what = "State", shift = NULL, scale = NULL, num.threads = 1L) {
  if (is.null(shift) || is.null(scale)) {
    mo <- column_moments(x, num.threads)
    if (is.null(shift)) shift <- mo$mean
    if (is.null(scale)) scale <- mo$sd
  }
  d <- ncol(x)
  nm <- colnames(x)
  if (is.null(nm)) nm <- paste0("column ", seq_len(d))
  shift <- as.numeric(shift)
  scale <- as.numeric(scale)
  if (nrow(x) < 2L) scale[is.na(scale)] <- 0
  for (j in which(!is.finite(shift) | !is.finite(scale))) {
    v <- x[, j]
    if (!all(is.finite(v))) {
      stop_arg(what, " column '", nm[j], "' has a missing or non-finite value at row ",
               which(!is.finite(v))[1], ".")
    }
    big <- max(abs(v))
    u <- v / big
    shift[j] <- mean(u) * big
    scale[j] <- if (length(v) > 1L) stats::sd(u) * big else 0
    if (!is.finite(shift[j]) || !is.finite(scale[j])) {
      stop_arg(what, " column '", nm[j], "' is too large to standardise (values up to ",
               format(big, digits = 3), "); rescale it.")
    }
  }
  list(shift = stats::setNames(shift, colnames(x)), scale = stats::setNames(scale, colnames(x)))
}

# x with storage mode double (a copy only when it is not double already), for
# C++ bindings that read R's memory in place.
as_double <- function(x) {
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

# (x - center) / scale column by column, with no checks: the values of
# sweep(sweep(x, 2, center), 2, scale, "/") (bit for bit) without its
# transposes (aperm()) of x.
center_scale <- function(x, center, scale) {
  for (j in seq_len(ncol(x))) x[, j] <- (x[, j] - center[j]) / scale[j]
  x
}

# (x - shift) / scale by column, with an error naming a column whose
# standardised values overflow (or are too large for squared distances when
# `squares`, as K-means and RBF bandwidths need). The values are those of
# center_scale() (bit for bit); the result keeps x's dimnames.
standardise_columns <- function(x, shift, scale, what = "State", squares = FALSE,
                                num.threads = 1L) {
  shift <- rep_len(as.numeric(shift), ncol(x))
  scale <- rep_len(as.numeric(scale), ncol(x))
  lim <- if (squares) sqrt(.Machine$double.xmax / (4 * max(1, ncol(x)))) else .Machine$double.xmax
  x <- as_double(x)
  # (x - shift) / scale by column in C++, as center_scale() computes it
  z <- standardise_cpp(x, shift, scale, lim, num.threads)
  bad <- attr(z, "bad")
  attr(z, "bad") <- NULL
  if (bad > 0) {
    i <- (bad - 1) %% nrow(x) + 1
    j <- (bad - 1) %/% nrow(x) + 1
    nm <- colnames(x)
    stop_arg(what, " column '", if (is.null(nm)) j else nm[j], "' is too large (",
             format(x[i, j], digits = 3), " at row ", i, ") for its ",
             if (squares) "squared distances" else "standardisation",
             "; rescale it", if (squares) " or use `scale = TRUE`", ".")
  }
  z
}
