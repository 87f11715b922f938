# Matching of states and ids between a fitted object and new input: one place
# for every predict(), evaluate_policy(), compare_policies() and basis.
#
# States are matched by name. A fitted policy or basis knows the (coded)
# state columns it was fitted on (`state.names`); new input supplies states
# with names of its own: a data frame or named matrix (extra columns are
# allowed there: ids, times, other covariates), a `p4l_data` object or an
# environment (`p4l_env`), whose state names must be the same set (a
# permutation is reordered; a missing, extra or renamed column is an error).
# Only an unnamed matrix or vector is taken by position.
#
# Ids are matched by value through one canonical key (id_key()).

# Positions of `want` in `have` (so that have[idx] == want), or an error
# naming the missing columns and, with `exact`, the extra ones.
match_state_names <- function(want, have, what = "`newdata`", exact = FALSE,
                              owner = "the policy") {
  want <- as.character(want)
  have <- as.character(have)
  if (anyDuplicated(have)) {
    stop_arg(what, " has the state column '", have[duplicated(have)][1], "' more than once.")
  }
  idx <- match(want, have)
  missing <- want[is.na(idx)]
  extra <- if (exact) setdiff(have, want) else character(0)
  if (length(missing) > 0L || length(extra) > 0L) {
    msg <- paste0(owner, " was fitted on the states (", paste(want, collapse = ", "), ") but ",
                  what, " has the states (", paste(have, collapse = ", "), "): ")
    parts <- c(if (length(missing) > 0L)
                 paste0("missing ", paste0("'", missing, "'", collapse = ", ")),
               if (length(extra) > 0L)
                 paste0("not in the fit ", paste0("'", extra, "'", collapse = ", ")))
    stop_arg(msg, paste(parts, collapse = "; "),
             ". States are matched by name; rename the columns to match.")
  }
  idx
}

# The states of new input as an n x d numeric matrix in the order of
# `state.names`. newdata: a p4l_data object (its transitions' states, matched
# by its state.names), a data frame (raw columns coded with `coding` when
# given) or a matrix (by column name when it has names, else by position).
match_states <- function(newdata, state.names, coding = NULL, arg = "newdata",
                         owner = "the policy") {
  if (inherits(newdata, "p4l_data")) {
    S <- newdata$S
    if (!is.matrix(S) || !is.numeric(S) || ncol(S) != length(newdata$state.names)) {
      stop_arg("`", arg, "` is a damaged p4l_data object: its states `S` do not have one ",
               "column per state name.")
    }
    idx <- match_state_names(state.names, newdata$state.names,
                             what = paste0("the p4l_data `", arg, "`"), exact = TRUE,
                             owner = owner)
    x <- S[, idx, drop = FALSE]
    storage.mode(x) <- "double"
    return(finite_states(x, state.names, arg))
  }
  state_matrix(newdata, state.names, arg = arg, coding = coding)
}

# 0-based positions of the policy's states in the environment's states
# (env$state.names), or an error naming the missing or extra states.
match_env_states <- function(state.names, env) {
  env.names <- env$state.names
  if (is.null(env.names)) return(seq_along(state.names) - 1L)
  as.integer(match_state_names(state.names, env.names, what = "the environment `env`",
                               exact = TRUE) - 1L)
}

# One canonical character key per id value, so that the same id stored as
# integer or double (100000L, 1e5) gives the same key and distinct values
# give distinct keys: whole numbers below 2^53 in plain decimal digits,
# other numbers with 17 significant digits (which round-trip every double),
# -0 as 0; factors by their labels; text and logicals as they are.
id_key <- function(x) {
  if (is.factor(x)) return(as.character(x))
  if (is.numeric(x)) {
    x <- as.double(x)
    out <- character(length(x))
    na <- is.na(x)
    whole <- !na & is.finite(x) & x == round(x) & abs(x) < 2^53
    out[whole] <- sprintf("%.0f", x[whole] + 0)  # + 0 turns -0 into 0
    other <- !na & !whole
    out[other] <- sprintf("%.17g", x[other])
    out[na] <- NA_character_
    return(out)
  }
  as.character(x)
}

# Position of each id of `ids` among `reference` (by value, through id_key()).
# Text ids matched against numeric ones (e.g. the names of a list of
# environments, "1e+05", against ids 100000) are read as numbers first.
match_ids <- function(ids, reference) {
  match(id_key_against(ids, reference), id_key_against(reference, ids))
}

id_key_against <- function(x, other) {
  key <- id_key(x)
  if ((is.character(x) || is.factor(x)) && is.numeric(other)) {
    num <- suppressWarnings(as.numeric(as.character(x)))
    ok <- !is.na(num)
    key[ok] <- id_key(num[ok])
  }
  key
}

# Ids of the rows of new input: a p4l_data object's individuals (checked
# against its ids), the id column of a data frame, or NULL when it has none.
newdata_ids <- function(newdata, id.column, arg = "newdata") {
  if (inherits(newdata, "p4l_data")) {
    ind <- newdata$individual
    n <- NROW(newdata$S)
    if (!is.numeric(ind) || length(ind) != n || anyNA(ind) || any(ind != round(ind)) ||
        any(ind < 1) || any(ind > length(newdata$ids))) {
      stop_arg("`", arg, "` is a damaged p4l_data object: `individual` must hold one index ",
               "in 1..", length(newdata$ids), " per transition.")
    }
    return(newdata$ids[ind])
  }
  if (!(id.column %in% names(newdata))) return(NULL)
  ids <- newdata[[id.column]]
  if (anyNA(ids)) {
    stop_arg("The id column '", id.column, "' of `", arg, "` is missing at row ",
             which(is.na(ids))[1], ".")
  }
  ids
}

# Slot (1-based) of each id for an individual policy, matched by value; an
# error for ids not in the training data and for a damaged slot table.
policy_slot_index <- function(object, ids, arg = "newdata") {
  G <- length(object$policy.coef)
  slot <- object$slot
  if (!is.numeric(slot) || length(slot) != length(object$ids) || anyNA(slot) ||
      any(slot != round(slot)) || any(slot < 1) || any(slot > G)) {
    stop_arg("The policy is damaged: `slot` must hold one index in 1..", G,
             " (its number of coefficient sets) per id in `ids`.")
  }
  pos <- match_ids(ids, object$ids)
  if (anyNA(pos)) {
    bad <- unique(ids[is.na(pos)])
    stop_arg("Individual(s) ",
             paste(utils::head(trimws(format(bad, digits = 17)), 5), collapse = ", "),
             if (length(bad) > 5) ", ..." else "", " of `", arg, "` were not in the training ",
             "data; this policy (", object$method, ") is individual, so it has no policy for ",
             "them. Only P4L fits (p4l()) can place new individuals (see p4l_assign()).")
  }
  as.integer(slot[pos])
}

# The coefficient sets of a policy: a non-empty list of finite d x m matrices
# with the same shape, d = number of inputs (features) of the policy.
check_policy_coef <- function(coefs, d, what = "policy") {
  if (!is.list(coefs) || length(coefs) == 0L) {
    stop_arg("The ", what, " is damaged: it has no coefficient set.")
  }
  m <- NCOL(coefs[[1]])
  for (g in seq_along(coefs)) {
    C <- coefs[[g]]
    if (!is.matrix(C) || !is.numeric(C) || nrow(C) != d || ncol(C) != m || m < 2L) {
      stop_arg("The ", what, " is damaged: coefficient set ", g, " must be a ", d, " x ", m,
               " numeric matrix (one row per feature, one column per action).")
    }
    if (!all(is.finite(C))) {
      stop_arg("The ", what, " is damaged: coefficient set ", g, " is not finite.")
    }
  }
  invisible(m)
}
