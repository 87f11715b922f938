# The steps of p4l_data(), in the order it runs them: the roles of the
# columns, reading the key columns, sorting the rows, the state and baseline
# columns (constancy, missing values, coding), the rows that start a
# transition, the action coding and the assembly of the transitions. The
# small checks they use (check_choice(), role_columns(), handle_missing(), ...)
# are in R/data.R.

# The data frame and the names of the id, time, action and reward columns.
check_key_names <- function(data, id, time, action, reward) {
  if (!is.data.frame(data)) {
    stop_arg("`data` must be a data frame; got an object of class '", class(data)[1], "'.")
  }
  keys <- list(id = id, time = time, action = action, reward = reward)
  for (arg in names(keys)) {
    val <- keys[[arg]]
    if (!is.character(val) || length(val) != 1L || is.na(val) || !nzchar(val)) {
      stop_arg("`", arg, "` must be the name of one column of `data`.")
    }
  }
  invisible()
}

# The column names by role: state and baseline resolved (character vector or
# formula), each column in at most one role and present in `data`. Returns
# list(state, baseline, term.col) (term.col NULL unless `terminal` names a
# column).
data_roles <- function(data, id, time, action, reward, state, baseline, terminal) {
  state <- role_columns(state, "state")
  baseline <- if (is.null(baseline)) character(0) else role_columns(baseline, "baseline")
  if (length(state) == 0L) stop_arg("`state` is empty: name at least one state column.")
  sets <- list(state = state, baseline = baseline)
  for (arg in names(sets)) {
    val <- sets[[arg]]
    if (anyDuplicated(val)) {
      stop_arg("`", arg, "` names column '", val[duplicated(val)][1], "' more than once.")
    }
  }
  term.col <- terminal_column(data, terminal, c(id, time, action, reward, state, baseline))
  roles <- c(id = id, time = time, action = action, reward = reward,
             stats::setNames(state, rep("state", length(state))),
             stats::setNames(baseline, rep("baseline", length(baseline))))
  dup <- roles[duplicated(roles)]
  if (length(dup) > 0L) {
    used <- names(roles)[roles == dup[1]]
    stop_arg("Column '", dup[1], "' is used twice: as `", used[1], "` and as `", used[2], "`.")
  }
  for (arg in c("id", "time", "action", "reward")) {
    if (!(roles[[arg]] %in% names(data))) {
      stop_arg("Column '", roles[[arg]], "' named in `", arg, "` is not in `data`.")
    }
  }
  for (arg in names(sets)) {
    miss <- setdiff(sets[[arg]], names(data))
    if (length(miss) > 0L) {
      stop_arg("Column(s) ", paste0("'", miss, "'", collapse = ", "),
               " named in `", arg, "` not in `data`.")
    }
  }
  if (nrow(data) == 0L) stop_arg("`data` has no rows.")
  list(state = state, baseline = baseline, term.col = term.col)
}

# `terminal`: TRUE/FALSE (returns NULL) or the name of a logical column not
# used in another role (returns the name).
terminal_column <- function(data, terminal, used) {
  if (is.character(terminal) && length(terminal) == 1L && !is.na(terminal)) {
    term.col <- terminal
    if (!(term.col %in% names(data))) {
      stop_arg("Column '", term.col, "' named in `terminal` is not in `data`.")
    }
    if (term.col %in% used) {
      stop_arg("Column '", term.col, "' named in `terminal` is also used in another role.")
    }
    if (!(is.logical(data[[term.col]]) || is.numeric(data[[term.col]])) ||
        !all(data[[term.col]] %in% c(0, 1, NA))) {
      stop_arg("Column '", term.col, "' (`terminal`) must be logical (TRUE, FALSE or NA).")
    }
    return(term.col)
  }
  if (!is.logical(terminal) || length(terminal) != 1L || is.na(terminal)) {
    stop_arg("`terminal` must be TRUE, FALSE or the name of a logical column of `data`.")
  }
  NULL
}

# The id, time, action and reward columns, checked (and the types of the
# covariate columns, in between, as the error order has always been).
# Returns list(ids, tm (numeric), time.class, time.tz, act, rew).
read_key_columns <- function(data, id, time, action, reward, covariates, role.of) {
  ids <- data[[id]]
  if (is.list(ids)) stop_arg("Column '", id, "' (`id`) must be an atomic vector.")
  if (anyNA(ids)) {
    stop_arg("Column '", id, "' (`id`) is missing at row ", which(is.na(ids))[1], ".")
  }
  tm <- parse_time(data[[time]], time)
  for (j in seq_along(covariates)) check_covariate(data[[covariates[j]]], covariates[j], role.of[j])
  rew <- data[[reward]]
  if (!is.numeric(rew)) {
    stop_arg("Column '", reward, "' (`reward`) must be numeric; it is ", class(rew)[1], ".")
  }
  act <- data[[action]]
  if (!(is.numeric(act) || is.character(act) || is.factor(act) || is.logical(act))) {
    stop_arg("Column '", action, "' (`action`) must be numeric, character or factor.")
  }
  if (is.numeric(act) && any(is.nan(act) | is.infinite(act))) {
    r <- which(is.nan(act) | is.infinite(act))[1]
    stop_arg("Column '", action, "' (`action`) is not finite at row ", r,
             " (individual ", format(ids[r]), ").")
  }
  list(ids = ids, tm = as.numeric(tm), time.class = attr(tm, "time.class"),
       time.tz = attr(tm, "time.tz"), act = act, rew = rew)
}

# Does each sorted row have a next row of the same individual?
has_next_row <- function(ids.s) {
  n <- length(ids.s)
  c(ids.s[-1L] == ids.s[-n], FALSE)
}

# Row order by individual and time; (id, time) must be unique.
sort_rows <- function(ids, tm, time.values) {
  ord <- order(ids, tm)
  ids.s <- ids[ord]
  tm.s <- tm[ord]
  n <- length(ord)
  dup.rows <- which(has_next_row(ids.s) & c(tm.s[-1L] == tm.s[-n], FALSE))
  if (length(dup.rows) > 0L) {
    r <- dup.rows[1]
    stop_arg("Individual ", format(ids.s[r]), " has two rows at time ", format(time.values[ord[r]]),
             " (rows ", ord[r], " and ", ord[r + 1L], "): (`id`, `time`) must be unique.")
  }
  ord
}

# The state and baseline columns in sorted order: baseline constancy (and
# the lossless fill of a baseline column), then missing values by
# `na.action`. Returns list(X, ord) with the rows kept.
covariate_rows <- function(data, ord, ids, covariates, baseline, role.of, na.action) {
  X <- data[ord, covariates, drop = FALSE]
  rownames(X) <- NULL
  ids.s <- ids[ord]
  ind.s <- match(ids.s, unique(ids.s))
  for (b in baseline) {
    check_constant(X[[b]], b, ind.s, ids.s)
    X[[b]] <- fill_constant(X[[b]], ind.s)
  }
  keep <- handle_missing(X, role.of, na.action, ind.s, ids.s, ord)
  if (!is.null(attr(keep, "filled"))) X <- attr(keep, "filled")
  if (!all(keep)) {
    ord <- ord[keep]
    X <- X[keep, , drop = FALSE]
  }
  list(X = X, ord = ord)
}

# Coding of the state and baseline columns (numbers, indicators of levels).
# Returns list(coding, state.names, baseline.names, discrete, S.all) with
# S.all the coded states of every row of X.
code_covariates <- function(X, state, baseline) {
  coding <- list(state = lapply(state, function(s) column_coding(X[[s]], s, "State")),
                 baseline = lapply(baseline, function(b) column_coding(X[[b]], b, "Baseline")))
  names(coding$state) <- state
  names(coding$baseline) <- baseline
  state.names <- unlist(lapply(coding$state, `[[`, "names"), use.names = FALSE)
  baseline.names <- unlist(lapply(coding$baseline, `[[`, "names"), use.names = FALSE)
  if (is.null(baseline.names)) baseline.names <- character(0)
  width.state <- lengths(lapply(coding$state, `[[`, "names"))   # coded columns per raw column
  coded <- c(state.names, baseline.names)
  if (anyDuplicated(coded)) {
    nm <- coded[duplicated(coded)][1]
    from <- c(rep(state, width.state),
              rep(baseline, lengths(lapply(coding$baseline, `[[`, "names"))))[coded == nm]
    stop_arg("The coded column name '", nm, "' arises twice (from columns ",
             paste0("'", from, "'", collapse = " and "), "); rename one of them.")
  }
  discrete <- stats::setNames(rep(vapply(coding$state, function(cd) cd$type != "numeric",
                                         logical(1)),
                                  width.state), state.names)
  list(coding = coding, state.names = state.names, baseline.names = baseline.names,
       discrete = discrete, S.all = encode_columns(X, coding$state, arg = "data"))
}

# Which sorted rows start a transition, by the rules `terminal` and `last`.
# `rows` holds the sorted rows: ord, ids.s, act.s, rew.s, same.next. Returns
# list(flag, ends, trans, is.last, terminal) with `terminal` TRUE when a
# terminal column is given.
transition_starts <- function(rows, data, term.col, terminal, last.rule) {
  n <- length(rows$ord)
  is.last <- !rows$same.next
  has.ar <- !is.na(rows$act.s) & !is.na(rows$rew.s)
  # flag: the row may end in an absorbing state (every row when terminal = TRUE).
  if (is.null(term.col)) {
    flag <- rep(terminal, n)
  } else {
    flag <- as.logical(data[[term.col]])[rows$ord]
    flag[is.na(flag)] <- FALSE
    terminal <- TRUE
  }
  # last = "end": a last row with an action and a reward ends its episode.
  ends <- if (last.rule == "end") !flag & is.last & has.ar else rep(FALSE, n)
  # Rows that start a transition: rows with a next row, and (terminal) last rows with A and R.
  trans <- rows$same.next | (flag & is.last & has.ar) | ends
  list(flag = flag, ends = ends, trans = trans, is.last = is.last, has.ar = has.ar,
       terminal = terminal)
}

# Every row with a next state needs an action and a finite reward; a last row
# that ends an episode needs a finite reward.
check_transition_values <- function(rows, st, action, reward, last.rule) {
  ord <- rows$ord
  need <- which(rows$same.next)
  bad.a <- need[is.na(rows$act.s[need])]
  if (length(bad.a) > 0L) {
    r <- bad.a[which.min(ord[bad.a])]
    stop_arg("Column '", action, "' (`action`) is missing at row ", ord[r], " (individual ",
             format(rows$ids.s[r]), "), which has a next state.")
  }
  bad.r <- need[!is.finite(rows$rew.s[need])]
  if (length(bad.r) > 0L) {
    r <- bad.r[which.min(ord[bad.r])]
    stop_arg("Column '", reward, "' (`reward`) is missing or not finite at row ", ord[r],
             " (individual ", format(rows$ids.s[r]), "), which has a next state.")
  }
  if (st$terminal || last.rule == "end") {
    bad.last <- which((st$flag | st$ends) & st$is.last & st$has.ar & !is.finite(rows$rew.s))
    if (length(bad.last) > 0L) {
      r <- bad.last[1]
      stop_arg("Column '", reward, "' (`reward`) is not finite at row ", ord[r],
               " (individual ", format(rows$ids.s[r]), ").")
    }
  }
  invisible()
}

# Warnings about last rows whose action or reward is not used.
warn_unused_last <- function(rows, st, last.given) {
  ord <- rows$ord
  act.s <- rows$act.s
  rew.s <- rows$rew.s
  unused <- !st$flag & !st$ends & st$is.last & (!is.na(act.s) | !is.na(rew.s))
  # A last row with only one of action and reward cannot be a transition under
  # any rule: it is dropped with a warning (terminal = TRUE included).
  partial <- st$is.last & !st$trans & xor(!is.na(act.s), !is.na(rew.s)) & !unused
  if (any(partial)) {
    r <- which(partial)[which.min(ord[partial])]
    warning(sum(partial), " individual(s) have an action without a reward or a reward without ",
            "an action on their last row (first: row ", ord[r], ", individual ",
            format(rows$ids.s[r]), "); that row's action and reward are not used.", call. = FALSE)
  }
  if (any(unused) && !last.given) {
    warning(sum(unused), " individual(s) have an action or reward on their last row but no ",
            "next state; those are not used. Set `last = \"drop\"` to confirm (right when the ",
            "process goes on after follow-up), `last = \"end\"` if the course ends there, or ",
            "`terminal = TRUE` if the trajectories end in an absorbing state (see ?p4l_data, ",
            "The last row).", call. = FALSE)
  }
  invisible()
}

# Action coding: list(levels, index (of each transition), type).
code_actions <- function(act, act.t, action) {
  if (is.factor(act)) {
    action.type <- "factor"
    levs <- levels(droplevels(act.t))
    a.idx <- match(as.character(act.t), levs)
  } else {
    action.type <- if (is.logical(act)) "logical" else if (is.integer(act)) "integer" else
      if (is.numeric(act)) "numeric" else "character"
    # Text keeps its order of first appearance; numbers and logicals are sorted.
    levs <- if (action.type == "character") unique(act.t) else sort(unique(act.t))
    a.idx <- match(act.t, levs)
  }
  if (length(levs) < 2L) {
    stop_arg("Column '", action, "' (`action`) takes fewer than two distinct values (",
             paste(as.character(levs), collapse = ", "), "); a policy needs at least two actions.")
  }
  list(levels = levs, index = a.idx, type = action.type)
}

# Is each transition (rows `trans.rows` of the sorted data, next rows `nxt`)
# absorbing? With a terminal column, the column says so (and may be TRUE only
# on an individual's last transition).
transition_terminal <- function(rows, st, trans.rows, nxt, term.col) {
  same.next <- rows$same.next
  trans <- st$trans
  is.last <- st$is.last
  # A transition is absorbing when it is an individual's last (terminal = TRUE only).
  term <- !same.next[trans.rows] | (st$terminal & is.last[nxt] & !trans[nxt])
  if (is.null(term.col)) return(term)
  bad.flag <- which(st$flag & !(trans & c(!same.next | (c(is.last[-1L], FALSE) &
                                                         !c(trans[-1L], FALSE)))))
  if (length(bad.flag) > 0L) {
    r <- bad.flag[which.min(rows$ord[bad.flag])]
    stop_arg("Column '", term.col, "' (`terminal`) is TRUE at row ", rows$ord[r], " (individual ",
             format(rows$ids.s[r]), "), which is not the individual's last transition.")
  }
  st$flag[trans.rows] | st$ends[trans.rows]
}

# Row offsets of the individuals (N + 1 integers from 0): a p4l_data keeps
# each individual's rows together, in the order of `ids`.
row_starts <- function(data) as.integer(c(0L, cumsum(data$num.transitions)))
