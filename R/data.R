#' Validate and index long-format trajectory data
#'
#' `p4l_data()` turns a long data frame, one row per individual and decision
#' time, into the transitions \eqn{(S, A, R, S')} that every estimator in the
#' package uses. It takes clinical data as they come: time-varying and
#' baseline covariates, factors and text, missing values and follow-up that
#' simply ends.
#'
#' @section Rows and transitions:
#' Each individual's rows are sorted by `time` (rows may come in any order).
#' Row \eqn{t} of an individual gives the transition from its state to the
#' state of the next row. The last row of an individual may carry only the
#' final state, with `NA` action and reward. Individuals may have different
#' numbers of rows.
#'
#' @section The last row:
#' When an individual's last row has an action and a reward, there is no next
#' state to close the transition. With `last = "drop"` (the default) its
#' action and reward are not used and a warning says how many individuals
#' this affects. With `last = "end"` the row becomes a transition that ends
#' the episode: it is marked `terminal`, so no value is carried beyond it in
#' the Bellman equation (its `S_next` repeats `S` and `next.observed` is
#' `FALSE`). Only these final rows are affected: transitions into a
#' final-state row (`NA` action and reward) stay non-terminal, and no
#' absorbing state is claimed elsewhere. For last rows this is exactly what
#' `terminal = TRUE` does; `terminal = TRUE` in addition marks transitions
#' into a final-state row as absorbing. With a `terminal` column, last rows
#' with an action and a reward whose flag is not `TRUE` also become
#' episode-ending transitions under `last = "end"`.
#'
#' Which to choose: `"end"` says that nothing follows the last visit, which is
#' right when the course of treatment ends there (the value then counts no
#' reward after it). When the process goes on after follow-up (the patient
#' still lives with the condition), `"end"` teaches the Q-function that some
#' states have no future, at the same states where other transitions do
#' have one, and biases the fit; `"drop"` loses one reward per individual but
#' keeps the Bellman equation right. On [sim_dose_study()] data (a continuing
#' process, 40 patients x 15 visits, gamma 0.9, seeds 501 to 506), P4L gave
#' the right dose to 96% of patients with `"drop"` and to 82% with `"end"`.
#' Giving `last` explicitly silences the warning of `"drop"`.
#'
#' @section Absorbing states:
#' With `terminal = TRUE` every trajectory ends in an absorbing state (an
#' episode, as in CartPole): the last transition of each individual is marked
#' terminal, so no value is carried beyond it. Its last row may then be either
#' a final-state row (`NA` action and reward) or a row with an action and a
#' reward and no next state. When some trajectories end in an absorbing
#' state and others are cut short (e.g. CartPole episodes truncated at a
#' step limit), give `terminal` as the name of a logical column instead:
#' `TRUE` on the row whose transition ends in the absorbing state (an
#' individual's last transition), `FALSE` or `NA` elsewhere; trajectories
#' without a `TRUE` end without absorption.
#'
#' @section State and baseline covariates:
#' `state` names the time-varying covariates, `baseline` the time-invariant
#' ones (age, sex, ...). A baseline column must be constant within each
#' individual (missing values aside); otherwise the error names the column
#' and the individual. Both may be given as a character vector of column
#' names or as a one-sided formula listing them (`~ crp + lactate`); the
#' formula may only list names, without transformations or interactions.
#'
#' Columns may be numeric, integer, logical, factor or character. Numeric and
#' integer columns are used as they are. The others are dummy-coded with
#' treatment contrasts, as [stats::model.matrix()] does: a logical column
#' `x` gives one 0/1 column `xTRUE`; a factor or character column `x` gives
#' one 0/1 column `x<level>` for every level but the first, which is the
#' reference. The levels of a factor are its levels in their order (levels
#' that never occur are dropped); the levels of a character column are its
#' distinct values sorted in C-locale order (`sort(method = "radix")`, so
#' the result does not depend on the locale); make it a factor to choose the
#' reference. A factor or character column with a single value is an error,
#' and so is a character column that holds only numbers (convert it with
#' [as.numeric()]).
#'
#' The estimators see the coded columns: `S`, `S_next`, `S0` and `baseline`
#' are numeric matrices whose columns are the coded columns, and
#' `state.names`, `baseline.names` name them. The coding itself (`coding`)
#' travels with every fitted policy, so `predict()` accepts new data with
#' the raw columns and codes them the same way; a level not seen here is
#' then an error.
#'
#' @section Missing values:
#' `na.action` says what happens to missing values (`NA`, `NaN`) in the state
#' and baseline columns. `"fail"` (the default) stops with an error naming
#' the column, the row and the individual. `"locf"` fills each missing value
#' with the individual's last observed value of that column (last observation
#' carried forward) and, before the first observation, with the individual's
#' first observed value; an individual with no observed value in a column is
#' an error. `"omit"` drops the rows that have a missing state or baseline
#' value. Dropping a row in the middle of a trajectory joins its neighbours:
#' the previous row's action and reward then lead to the next remaining
#' row's state, as one transition. Both `"locf"` and `"omit"` report with a
#' message how many values were filled or rows dropped, per column. Infinite
#' values are always an error. Missing actions and rewards follow the rules
#' above (they may only be missing on an individual's last row). A baseline
#' covariate recorded on only some of an individual's rows (for example at
#' the first visit only) is used on all of them, whatever `na.action`: only an
#' individual with no value at all has a missing baseline covariate.
#'
#' @section Actions:
#' Actions may be numeric, integer, logical, character or factor. Their
#' coding is kept (`action.levels`) and predictions are returned in it.
#' Factor levels keep their order (levels that never occur are dropped);
#' character actions keep their order of first appearance in the data sorted
#' by individual and time (make the column a factor to choose the order);
#' numeric, integer and logical actions are sorted.
#'
#' @param data A data frame in long format.
#' @param id,time,action,reward Names of the columns holding the individual's
#'   identifier, the decision time (numeric, integer, `Date` or `POSIXct`, or
#'   text that parses as one of them), the action and the reward.
#' @param state The time-varying state columns (one or more): a character
#'   vector of column names or a one-sided formula such as `~ crp + lactate`.
#' @param terminal `TRUE` when each trajectory ends in an absorbing state,
#'   `FALSE` when none does, or the name of a logical column of `data` that
#'   marks the transitions into an absorbing state.
#' @param baseline `NULL` (none), or the time-invariant per-individual columns
#'   (character vector or one-sided formula, as for `state`).
#' @param na.action What to do with missing state and baseline values:
#'   `"fail"`, `"locf"` or `"omit"` (see the section Missing values).
#' @param last What to do with a last row that has an action and a reward:
#'   `"drop"` its action and reward (with a warning), or `"end"` the episode
#'   with it (see the section The last row).
#'
#' @return An object of class `p4l_data`, a list with
#'   \describe{
#'   \item{`S`, `S_next`}{n x d matrices of (coded) states and next states
#'     (for terminal transitions without a recorded next state, `S_next`
#'     repeats `S`; it is never used).}
#'   \item{`A`}{integer action index in `1:length(action.levels)`.}
#'   \item{`R`}{rewards.}
#'   \item{`terminal`}{logical, no value is carried beyond the transition.}
#'   \item{`next.observed`}{logical, `S_next` was recorded.}
#'   \item{`individual`}{integer index of the individual in `ids`.}
#'   \item{`time`}{decision time of each transition (numeric; `time.class`
#'     and `time.tz` hold the class and time zone of the input).}
#'   \item{`ids`}{the individuals' identifiers, in sorted order.}
#'   \item{`S0`}{N x d matrix of initial (coded) states, one row per
#'     individual.}
#'   \item{`num.transitions`}{transitions per individual.}
#'   \item{`action.levels`, `action.type`}{the action coding.}
#'   \item{`state.names`}{the coded state column names (the columns of `S`).}
#'   \item{`state.columns`}{the raw state column names of `data`.}
#'   \item{`discrete`}{named logical vector over `state.names`: `TRUE` for
#'     the dummy columns of logical, factor and character columns.}
#'   \item{`baseline`}{N x q numeric matrix of coded baseline covariates, one
#'     row per individual in the order of `ids`, or `NULL` when there are
#'     none.}
#'   \item{`baseline.names`, `baseline.columns`}{the coded and the raw
#'     baseline column names.}
#'   \item{`coding`}{`list(state = , baseline = )`: for each raw column a
#'     list with `column`, `type` (`"numeric"`, `"logical"`, `"factor"` or
#'     `"character"`), `levels` (`NULL` for numeric columns) and `names`
#'     (its coded columns).}
#'   \item{`na.action`, `last`}{the rules used.}
#'   \item{`columns`}{the column names used, by role.}
#'   }
#' @seealso [as.data.frame.p4l_data()], [summary.p4l_data()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 20, seed = 1)
#' d <- p4l_data(sim$data, id = "id", time = "time", action = "action",
#'               reward = "reward", state = c("s1", "s2"))
#' d
#' summary(d)
#' head(as.data.frame(d))
#'
#' # Clinical data as they come: a factor state, a baseline covariate, text
#' # doses, a missing lactate and follow-up that ends with a treated visit.
#' icu <- data.frame(
#'   patient = rep(c("p1", "p2", "p3"), each = 3),
#'   day = as.Date("2024-03-01") + rep(0:2, 3),
#'   lactate = c(2.1, NA, 1.4, 3.0, 2.2, 2.0, 1.1, 1.0, NA),
#'   ventilated = factor(c("no", "yes", "yes", "no", "no", "no", "yes", "yes", "no")),
#'   age = rep(c(64, 71, 58), each = 3),
#'   dose = c("low", "high", "low", "none", "low", "high", "none", "none", "low"),
#'   outcome = c(0, 1, 0.5, 0, 0, 1, 1, 0.5, 1)
#' )
#' d2 <- p4l_data(icu, id = "patient", time = "day", action = "dose",
#'                reward = "outcome", state = ~ lactate + ventilated,
#'                baseline = ~ age, na.action = "locf", last = "end")
#' d2
#' d2$state.names
#' d2$baseline
#' as.data.frame(d2)
#' @export
p4l_data <- function(data, id, time, action, reward, state, terminal = FALSE,
                     baseline = NULL, na.action = c("fail", "locf", "omit"),
                     last = c("drop", "end")) {
  check_key_names(data, id, time, action, reward)   # the steps are in R/data_helpers.R
  na.action <- check_choice(na.action, c("fail", "locf", "omit"), "na.action")
  last.given <- !missing(last)
  last.rule <- check_choice(last, c("drop", "end"), "last")
  roles <- data_roles(data, id, time, action, reward, state, baseline, terminal)
  state <- roles$state
  baseline <- roles$baseline
  covariates <- c(state, baseline)
  role.of <- c(rep("State", length(state)), rep("Baseline", length(baseline)))
  key <- read_key_columns(data, id, time, action, reward, covariates, role.of)
  ord <- sort_rows(key$ids, key$tm, data[[time]])

  # State and baseline columns: constancy, missing values, coding.
  cov <- covariate_rows(data, ord, key$ids, covariates, baseline, role.of, na.action)
  X <- cov$X
  ord <- cov$ord
  cod <- code_covariates(X, state, baseline)
  ids.s <- key$ids[ord]
  rows <- list(ord = ord, ids.s = ids.s, act.s = key$act[ord], rew.s = as.numeric(key$rew[ord]),
               same.next = has_next_row(ids.s))
  st <- transition_starts(rows, data, roles$term.col, terminal, last.rule)
  check_transition_values(rows, st, action, reward, last.rule)
  uid <- unique(ids.s)
  ind.all <- match(ids.s, uid)
  counts <- tabulate(ind.all[st$trans], nbins = length(uid))
  if (any(counts == 0L)) {
    who <- uid[which(counts == 0L)[1]]
    stop_arg("Individual ", format(who), " has no transition (a single row, or no row with ",
             "an action, a reward and a next state).")
  }
  warn_unused_last(rows, st, last.given)
  acts <- code_actions(key$act, rows$act.s[st$trans], action)

  trans.rows <- which(st$trans)
  nxt <- ifelse(rows$same.next[trans.rows], trans.rows + 1L, trans.rows)
  term <- transition_terminal(rows, st, trans.rows, nxt, roles$term.col)
  S <- cod$S.all[trans.rows, , drop = FALSE]
  S.next <- cod$S.all[nxt, , drop = FALSE]
  rownames(S) <- rownames(S.next) <- NULL
  first <- !duplicated(ind.all)
  S0 <- cod$S.all[first, , drop = FALSE]
  rownames(S0) <- NULL
  B <- NULL
  if (length(baseline) > 0L) {
    B <- encode_columns(X[first, baseline, drop = FALSE], cod$coding$baseline, arg = "data")
    rownames(B) <- NULL
  }
  out <- list(
    S = S, S_next = S.next, A = as.integer(acts$index), R = rows$rew.s[trans.rows],
    terminal = as.logical(term), next.observed = rows$same.next[trans.rows],
    individual = as.integer(ind.all[trans.rows]), time = key$tm[ord][trans.rows],
    ids = uid, S0 = S0, num.transitions = counts,
    action.levels = acts$levels, action.type = acts$type,
    state.names = cod$state.names, is.terminal = st$terminal,
    columns = list(id = id, time = time, action = action, reward = reward, state = state,
                   baseline = baseline),
    state.columns = state, discrete = cod$discrete,
    baseline = B, baseline.names = cod$baseline.names, baseline.columns = baseline,
    coding = cod$coding, na.action = na.action, last = last.rule,
    time.class = key$time.class, time.tz = key$time.tz
  )
  class(out) <- "p4l_data"
  out
}

# Column names of a role: a character vector, or a one-sided formula whose
# right-hand side lists variable names (`~ crp + lactate`).
role_columns <- function(x, name) {
  if (inherits(x, "formula")) {
    if (length(x) != 2L) {
      stop_arg("`", name, "` must be a one-sided formula such as `~ a + b` (no left-hand side).")
    }
    vars <- all.vars(x)
    if ("." %in% vars) stop_arg("`", name, "` may not use `.`: list the columns by name.")
    tt <- stats::terms(x)
    labs <- gsub("^`|`$", "", attr(tt, "term.labels"))
    if (!identical(labs, vars) || attr(tt, "intercept") != 1L || !is.null(attr(tt, "offset"))) {
      bad <- setdiff(attr(tt, "term.labels"), vars)
      stop_arg("`", name, "` must list column names only, as in `~ a + b` (no transformations, ",
               "interactions or `-`)", if (length(bad) > 0L) paste0("; got '", bad[1], "'"), ".")
    }
    return(vars)
  }
  if (!is.character(x) || anyNA(x)) {
    stop_arg("`", name, "` must be a character vector of column names or a one-sided formula.")
  }
  x
}

# Type check of a state or baseline column.
check_covariate <- function(x, column, role) {
  if (is.numeric(x) || is.logical(x) || is.factor(x)) return(invisible())
  if (!is.character(x)) {
    stop_arg(role, " column '", column, "' must be numeric, logical, factor or character; it is ",
             class(x)[1], ".")
  }
  v <- x[!is.na(x)]
  if (length(v) > 0L && !anyNA(suppressWarnings(as.numeric(v)))) {
    stop_arg(role, " column '", column, "' must be numeric: it is text that holds only ",
             "numbers. Convert it with as.numeric(), or make it a factor to code it as ",
             "categories.")
  }
  invisible()
}

# A baseline column must be constant within each individual (NA ignored).
check_constant <- function(x, column, ind, ids.s) {
  if (is.factor(x)) x <- as.character(x)
  ok <- !is.na(x)
  ref <- x[ok][match(ind, ind[ok])]
  bad <- which(ok & x != ref)
  if (length(bad) > 0L) {
    r <- bad[1]
    stop_arg("Baseline column '", column, "' is not constant within individual ",
             format(ids.s[r]), " (values ", format(ref[r]), " and ", format(x[r]), ").")
  }
  invisible()
}

# A baseline column is constant within an individual: rows where it is
# missing take the value recorded on the individual's other rows (a lossless
# fill, not an imputation); individuals without any value stay NA.
fill_constant <- function(x, ind) {
  ok <- !is.na(x)
  if (all(ok)) return(x)
  src <- which(ok)[match(ind, ind[ok])]
  x[!ok] <- x[src[!ok]]
  x
}

# Missing values of the state and baseline columns (X, sorted by id and time).
# Returns the rows to keep; for "locf" the filled X as attribute "filled".
handle_missing <- function(X, role.of, na.action, ind, ids.s, ord) {
  n <- nrow(X)
  cols <- names(X)
  nonfinite <- lapply(X, function(x) if (is.numeric(x)) !is.na(x) & !is.finite(x) else
    rep(FALSE, n))
  miss <- lapply(X, is.na)
  if (na.action == "fail") {
    bad <- which(do.call(cbind, miss) | do.call(cbind, nonfinite), arr.ind = TRUE)
    if (length(bad) > 0L) {
      r <- bad[which.min(ord[bad[, 1]]), ]
      stop_arg(role.of[r[2]], " column '", cols[r[2]], "' is missing or not finite at row ",
               ord[r[1]], " (individual ", format(ids.s[r[1]]), ").",
               if (anyNA(X[[r[2]]][r[1]])) " Set `na.action` to \"locf\" or \"omit\" to fill or drop missing values.")
    }
    return(rep(TRUE, n))
  }
  bad <- which(do.call(cbind, nonfinite), arr.ind = TRUE)
  if (length(bad) > 0L) {
    r <- bad[which.min(ord[bad[, 1]]), ]
    stop_arg(role.of[r[2]], " column '", cols[r[2]], "' is not finite at row ", ord[r[1]],
             " (individual ", format(ids.s[r[1]]), ").")
  }
  num.miss <- vapply(miss, sum, numeric(1))
  if (all(num.miss == 0)) return(rep(TRUE, n))
  detail <- paste0("'", cols[num.miss > 0], "': ", num.miss[num.miss > 0], collapse = ", ")
  if (na.action == "omit") {
    keep <- !Reduce(`|`, miss)
    lost <- setdiff(unique(ids.s), unique(ids.s[keep]))
    message("na.action = \"omit\": dropped ", sum(!keep), " row(s) with missing values (",
            detail, ")",
            if (length(lost) > 0L) paste0("; individual(s) ", paste(format(lost), collapse = ", "),
                                          " lost every row"), ".")
    return(keep)
  }
  idx <- seq_len(n)
  for (j in which(num.miss > 0)) {
    x <- X[[j]]
    na <- is.na(x)
    prev <- cummax(ifelse(na, 0L, idx))
    nextobs <- rev(cummin(rev(ifelse(na, n + 1L, idx))))
    prev.ok <- prev > 0L & ind[pmax(prev, 1L)] == ind
    next.ok <- nextobs <= n & ind[pmin(nextobs, n)] == ind
    empty <- which(na & !prev.ok & !next.ok)
    if (length(empty) > 0L) {
      stop_arg(role.of[j], " column '", cols[j], "' is missing on every row of individual ",
               format(ids.s[empty[1]]), "; na.action = \"locf\" has no value to carry.")
    }
    src <- ifelse(prev.ok, prev, nextobs)
    x[na] <- x[src[na]]
    X[[j]] <- x
  }
  message("na.action = \"locf\": filled ", sum(num.miss), " missing value(s) (", detail, ").")
  structure(rep(TRUE, n), filled = X)
}

# Numeric times, with attributes time.class ("numeric", "Date" or "POSIXct")
# and time.tz (the time zone of POSIXct input; "UTC" for parsed text).
parse_time <- function(x, name) {
  cls <- "numeric"
  tz <- NULL
  if (inherits(x, "Date")) {
    v <- as.numeric(x)
    cls <- "Date"
  } else if (inherits(x, "POSIXt")) {
    x <- as.POSIXct(x)
    v <- as.numeric(x)
    cls <- "POSIXct"
    tz <- attr(x, "tzone")
    if (is.null(tz)) tz <- ""
  } else if (is.numeric(x)) {
    v <- as.numeric(x)
  } else if (is.character(x) || is.factor(x)) {
    ch <- as.character(x)
    v <- suppressWarnings(as.numeric(ch))
    if (anyNA(v[!is.na(ch)])) {
      p <- parse_text_times(ch)
      bad <- which(is.na(p) & !is.na(ch))
      if (length(bad) > 0L) {
        r <- bad[1]
        stop_arg("Column '", name, "' (`time`) could not be parsed as a number or a date-time ",
                 "at row ", r, " ('", ch[r], "').")
      }
      v <- p
      cls <- "POSIXct"
      tz <- "UTC"
    }
  } else {
    stop_arg("Column '", name, "' (`time`) must be numeric, Date, POSIXct or text; it is ",
             class(x)[1], ".")
  }
  bad <- which(!is.finite(v))
  if (length(bad) > 0L) {
    stop_arg("Column '", name, "' (`time`) is missing or not finite at row ", bad[1], ".")
  }
  structure(v, time.class = cls, time.tz = tz)
}

# Text date-times (UTC) as numbers, each element parsed with the format it
# has (a column may mix dates and date-times): "YYYY-MM-DD" or "YYYY/MM/DD",
# optionally followed by " HH:MM" or " HH:MM:SS(.fff)" (or "T" as the
# separator). Elements in no such format, or not a valid date, give NA.
parse_text_times <- function(ch) {
  ch <- trimws(ch)
  out <- rep(NA_real_, length(ch))
  date <- "^[0-9]{4}([-/])[0-9]{1,2}\\1[0-9]{1,2}"
  forms <- list(
    list(pattern = paste0(date, "[ T][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]*)?$"),
         format = "%Y-%m-%d %H:%M:%OS"),
    list(pattern = paste0(date, "[ T][0-9]{1,2}:[0-9]{2}$"), format = "%Y-%m-%d %H:%M"),
    list(pattern = paste0(date, "$"), format = "%Y-%m-%d"))
  for (f in forms) {
    sel <- which(is.na(out) & !is.na(ch) & grepl(f$pattern, ch, perl = TRUE))
    if (length(sel) == 0L) next
    txt <- gsub("/", "-", sub("T", " ", ch[sel], fixed = TRUE), fixed = TRUE)
    out[sel] <- as.numeric(as.POSIXct(txt, format = f$format, tz = "UTC"))
  }
  out
}

# Numeric times back in the class of the input.
restore_time <- function(v, cls, tz) {
  if (identical(cls, "Date")) return(structure(v, class = "Date"))
  if (identical(cls, "POSIXct")) return(.POSIXct(v, tz = if (is.null(tz)) "" else tz))
  v
}

# "crp, dose (factor: 2 dummy columns)" from a list of column codings.
describe_coding <- function(coding, fallback) {
  if (is.null(coding)) return(paste(fallback, collapse = ", "))
  paste(vapply(coding, function(cd) {
    if (cd$type == "numeric") return(cd$column)
    k <- length(cd$names)
    paste0(cd$column, " (", cd$type, ": ", k, " dummy column", if (k != 1L) "s", ")")
  }, character(1)), collapse = ", ")
}

# All distinct observed states: every transition's state plus final states.
observed_states <- function(data) {
  last <- !c(data$individual[-1L] == data$individual[-length(data$individual)], FALSE)
  keep.next <- last & data$next.observed
  rbind(data$S, data$S_next[keep.next, , drop = FALSE])
}

#' @export
print.p4l_data <- function(x, ...) {
  n <- length(x$R)
  cat("<p4l_data> ", length(x$ids), " individuals, ", n, " transitions",
      if (x$is.terminal) " (episodic)" else "", "\n", sep = "")
  cat("  states  : ", describe_coding(x$coding$state, x$state.names), "\n", sep = "")
  if (length(x$baseline.names) > 0L) {
    cat("  baseline: ", describe_coding(x$coding$baseline, x$baseline.names), "\n", sep = "")
  }
  cat("  actions : ", paste(as.character(x$action.levels), collapse = ", "),
      " (", x$action.type, ")\n", sep = "")
  if (identical(x$last, "end") && !x$is.terminal) {
    cat("  last visits with an action and a reward end the episode (last = \"end\")\n")
  }
  rng <- range(x$num.transitions)
  cat("  transitions per individual: ", if (rng[1] == rng[2]) rng[1] else
    paste0(rng[1], " to ", rng[2]), "\n", sep = "")
  invisible(x)
}

#' Summarise a p4l_data object
#'
#' @param object A `p4l_data` object.
#' @param x A `summary.p4l_data` object.
#' @param ... Unused.
#' @return `summary()` returns a `summary.p4l_data` list: counts, transitions
#'   per individual, action frequencies, reward and state summaries.
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 10, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' s <- summary(d)
#' s
#' s$actions
#' @export
summary.p4l_data <- function(object, ...) {
  counts <- table(factor(object$A, levels = seq_along(object$action.levels),
                         labels = as.character(object$action.levels)))
  out <- list(
    num.individuals = length(object$ids),
    num.transitions = length(object$R),
    num.terminal = sum(object$terminal),
    transitions.per.individual = summary(object$num.transitions),
    actions = counts,
    reward = summary(object$R),
    states = t(apply(object$S, 2, describe_values)),
    baseline = if (!is.null(object$baseline)) t(apply(object$baseline, 2, describe_values)),
    state.coding = describe_coding(object$coding$state, object$state.names),
    baseline.coding = if (length(object$baseline.names) > 0L)
      describe_coding(object$coding$baseline, object$baseline.names)
  )
  class(out) <- "summary.p4l_data"
  out
}

describe_values <- function(v) c(mean = mean(v), sd = stats::sd(v), min = min(v), max = max(v))

#' @rdname summary.p4l_data
#' @export
print.summary.p4l_data <- function(x, ...) {
  cat(x$num.individuals, " individuals, ", x$num.transitions, " transitions (",
      x$num.terminal, " terminal)\n\n", sep = "")
  cat("Transitions per individual:\n")
  print(x$transitions.per.individual)
  cat("\nActions:\n")
  print(x$actions)
  cat("\nReward:\n")
  print(x$reward)
  cat("\nStates: ", x$state.coding, "\n", sep = "")
  print(round(x$states, 4))
  if (!is.null(x$baseline)) {
    cat("\nBaseline covariates (one row per individual): ", x$baseline.coding, "\n", sep = "")
    print(round(x$baseline, 4))
  }
  invisible(x)
}

#' One row per transition
#'
#' @param x A `p4l_data` object.
#' @param row.names,optional Unused, for compatibility with the generic.
#' @param ... Unused.
#' @return A data frame with columns id, time, action (in the original
#'   coding), reward, the (coded) state columns, the (coded) baseline
#'   columns when there are any, `next_<state>` columns and `terminal`,
#'   named after the columns used to build `x`. When a state or baseline
#'   column already has the name `terminal` or `next_<state>`, the added
#'   column gets `_` appended (`terminal_`), so no column is overwritten. Time has the class of the
#'   input: numeric, `Date`, or `POSIXct` in the input's time zone (text
#'   parsed as a date-time gives `POSIXct` in UTC).
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 5, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' head(as.data.frame(d))
#' @export
as.data.frame.p4l_data <- function(x, row.names = NULL, optional = FALSE, ...) {
  cols <- x$columns
  out <- data.frame(x$ids[x$individual], restore_time(x$time, x$time.class, x$time.tz),
                    stringsAsFactors = FALSE)
  names(out) <- c(cols$id, cols$time)
  out[[cols$action]] <- decode_actions(x$A, x$action.levels, x$action.type)
  out[[cols$reward]] <- x$R
  for (j in seq_along(x$state.names)) out[[x$state.names[j]]] <- x$S[, j]
  for (j in seq_along(x$baseline.names)) {
    out[[x$baseline.names[j]]] <- x$baseline[x$individual, j]
  }
  for (j in seq_along(x$state.names)) {
    out[[free_name(paste0("next_", x$state.names[j]), names(out))]] <- x$S_next[, j]
  }
  out[[free_name("terminal", names(out))]] <- x$terminal
  out
}

# `name`, or `name` with "_" appended until it is not among `taken` (so that
# an added column never overwrites a column of the data).
free_name <- function(name, taken) {
  while (name %in% taken) name <- paste0(name, "_")
  name
}
