# The p4l_policy contract shared by every fitted method (P4L and baselines).
#
# A p4l_policy is a plain list. Its policy is linear in the basis features:
# "slot" g holds a d x m matrix of logit coefficients, and the action
# probabilities at state s are softmax(psi(s)' P_g) (or the argmax when
# `greedy`, or a mixture with the uniform policy when `epsilon > 0`).
# Individual methods use one slot per individual, pooled methods one slot,
# clustered methods one per cluster. Fields:
#   method, call, gamma, basis (a p4l_basis, or NULL when raw.state),
#   action.levels, action.type, state.names, id.column, ids,
#   slot (integer, one per id, named by id), policy.coef (list of d x m),
#   q.coef (list of d x m or NULL), greedy, epsilon, raw.state,
#   cluster (integer per id or NULL), coding (the training data's column
#   coding, `p4l_data()$coding`, or NULL: predict() codes raw columns with it).

new_p4l_policy <- function(method, class, basis, gamma, action.levels, action.type,
                           state.names, id.column, ids, slot, policy.coef, q.coef = NULL,
                           greedy = FALSE, epsilon = 0, raw.state = FALSE, cluster = NULL,
                           coding = NULL, ...) {
  slot <- as.integer(slot)
  names(slot) <- id_key(ids)
  obj <- list(method = method, basis = basis, gamma = gamma, action.levels = action.levels,
              action.type = action.type, state.names = state.names, id.column = id.column,
              ids = ids, slot = slot, policy.coef = policy.coef, q.coef = q.coef,
              greedy = greedy, epsilon = epsilon, raw.state = raw.state, cluster = cluster,
              coding = coding, ...)
  class(obj) <- c(class, "p4l_policy")
  obj
}

#' The uniformly random policy
#'
#' A `p4l_policy` that chooses every action with equal probability at every
#' state: the behaviour policy of [sim_linear2d()]. Useful as a reference in
#' [evaluate_policy()].
#'
#' @param action.levels The actions, in the coding of the data.
#' @param state.names Names of the state dimensions.
#' @param gamma Discount factor used by [evaluate_policy()].
#' @return A `c("uniform_policy", "p4l_policy")` object that applies to any id.
#' @examples
#' pol <- uniform_policy(c(0, 1), c("s1", "s2"))
#' predict(pol, data.frame(s1 = 0, s2 = 1), type = "prob")
#' @export
uniform_policy <- function(action.levels, state.names, gamma = 0.8) {
  if (length(action.levels) < 2L || anyDuplicated(action.levels)) {
    stop_arg("`action.levels` must hold at least two distinct actions.")
  }
  if (!is.character(state.names) || length(state.names) < 1L) {
    stop_arg("`state.names` must be a character vector.")
  }
  gamma <- check_number(gamma, "gamma", 0, 1, upper.open = TRUE)
  m <- length(action.levels)
  type <- if (is.factor(action.levels)) "factor" else if (is.integer(action.levels)) "integer" else
    if (is.numeric(action.levels)) "numeric" else "character"
  if (is.factor(action.levels)) action.levels <- as.character(action.levels)
  coef <- matrix(0, length(state.names) + 1L, m)
  new_p4l_policy("uniform", "uniform_policy", basis = NULL, gamma = gamma,
                 action.levels = action.levels, action.type = type, state.names = state.names,
                 id.column = "id", ids = character(0), slot = integer(0),
                 policy.coef = list(coef), raw.state = TRUE)
}

#' The policy that always takes one action
#'
#' A `p4l_policy` that chooses `action` at every state, for every
#' individual: a reference such as "no treatment" or "always the highest
#' dose" in [evaluate_policy()], [compare_policies()] and [policy_value()].
#'
#' @param action One of the actions (a value of `action.levels`).
#' @param data A [p4l_data()] object to take `action.levels` and
#'   `state.names` from, or `NULL`.
#' @param action.levels,state.names The actions and the state names, when
#'   `data` is not given.
#' @param gamma Discount factor used by [evaluate_policy()].
#' @return A `c("fixed_policy", "p4l_policy")` object that applies to any id.
#' @examples
#' pol <- fixed_policy(1, action.levels = c(0, 1), state.names = c("s1", "s2"))
#' predict(pol, data.frame(s1 = c(0, 5), s2 = c(1, -3)))
#' @export
fixed_policy <- function(action, data = NULL, action.levels = data$action.levels,
                         state.names = data$state.names, gamma = 0.8) {
  if (!is.null(data)) check_p4l_data_arg(data)
  if (length(action.levels) < 1L || anyDuplicated(action.levels)) {
    stop_arg("`action.levels` must hold distinct actions.")
  }
  if (!is.character(state.names) || length(state.names) < 1L) {
    stop_arg("`state.names` must be a character vector.")
  }
  gamma <- check_number(gamma, "gamma", 0, 1, upper.open = TRUE)
  k <- match(as.character(action), as.character(action.levels))
  if (length(action) != 1L || is.na(k)) {
    stop_arg("`action` must be one of the actions: ", paste(action.levels, collapse = ", "), ".")
  }
  type <- if (is.factor(action.levels)) "factor" else if (is.integer(action.levels)) "integer" else
    if (is.numeric(action.levels)) "numeric" else "character"
  if (is.factor(action.levels)) action.levels <- as.character(action.levels)
  coef <- matrix(0, length(state.names) + 1L, length(action.levels))
  coef[1L, k] <- 1
  new_p4l_policy("fixed", "fixed_policy", basis = NULL, gamma = gamma,
                 action.levels = action.levels, action.type = type, state.names = state.names,
                 id.column = "id", ids = character(0), slot = integer(0),
                 policy.coef = list(coef), greedy = TRUE, raw.state = TRUE,
                 action = action.levels[k])
}

# Slot of each row of newdata (pooled policies accept any id, or none).
policy_slots <- function(object, ids) {
  pooled <- length(object$policy.coef) == 1L && (length(object$ids) == 0L ||
                                                     all(object$slot == 1L))
  if (is.null(ids)) {
    if (pooled) return(NULL)
    stop_arg("`newdata` needs the id column '", object$id.column,
             "': this policy differs between individuals.")
  }
  if (pooled) return(rep(1L, length(ids)))
  policy_slot_index(object, ids)
}

# Inputs of the linear policy: basis features, or (1, s) for raw-state policies.
policy_inputs <- function(object, x, num.threads) {
  if (isTRUE(object$raw.state)) cbind(1, x) else basis_features(object$basis, x, num.threads)
}

# n x m matrix of row-wise psi' C[[slot]].
slot_products <- function(psi, coefs, slots) {
  check_policy_coef(coefs, ncol(psi))
  m <- ncol(coefs[[1]])
  if (is.null(slots)) return(psi %*% coefs[[1]])
  out <- matrix(0, nrow(psi), m)
  for (a in seq_len(m)) {
    ca <- do.call(rbind, lapply(coefs, function(C) C[, a]))  # slots x d
    out[, a] <- rowSums(psi * ca[slots, , drop = FALSE])
  }
  out
}

softmax_rows <- function(z) {
  mx <- z[, 1]
  for (j in seq_len(ncol(z))[-1L]) mx <- pmax(mx, z[, j])  # apply(z, 1, max) without the transpose
  z <- z - mx
  e <- exp(z)
  e / rowSums(e)
}

#' Predict with a fitted policy
#'
#' Works for every fitted method of the package ([p4l()] and the baselines).
#'
#' **New individuals.** For a P4L fit, rows whose id was not in the training
#' data are served by a policy from [p4l_assign()]: placed from their
#' history when `newdata` holds their transitions (a `p4l_data` object, or a
#' data frame with the training time, action and reward columns), otherwise
#' by the rule `new.individuals` (by default the most probable cluster given
#' their baseline covariates when the fit and `newdata` have them, else the
#' population policy at the mean latent variable). A message says so once
#' per call (`quiet = TRUE` silences it). For the other individual methods
#' (V-learning, ACPI, per-individual FQI) an unseen id is an error.
#'
#' @param object A fitted policy (class `p4l_policy`).
#' @param newdata A data frame with the training id column and the state
#'   columns, or a `p4l_data` object (its transitions' states). The state
#'   columns may be the raw columns given to [p4l_data()] (factors, logicals
#'   and text are then coded as in the training data; an unseen level is an
#'   error) or the coded numeric columns (`state.names`). Pooled
#'   policies do not need the id column. An id that was not in the training
#'   data is an error for individual policies other than P4L fits (see New
#'   individuals). Ids are matched by value: the
#'   same number stored as integer or double (`100000L`, `1e5`) is the same
#'   id, and distinct numbers are distinct ids even when they print alike
#'   (`1` and `1 + 1e-15`). State columns are matched by name; with a
#'   `p4l_data` object its `state.names` must be the policy's (in any order).
#' @param type `"action"`: the most probable action of each row, in the
#'   training coding; `"prob"`: an n x |A| matrix of action probabilities
#'   with columns named by action; `"q"`: the n x |A| matrix of estimated
#'   Q-values (for P4L the pessimistic, worst-case Q); `"cluster"` (clustered
#'   policies such as P4L): a data frame with one row per row of `newdata`,
#'   columns `id`, `cluster` (the individual's cluster) and `weight` (1 for
#'   training individuals; for new individuals the posterior, or prior,
#'   weight of that cluster, see [p4l_assign()]).
#' @param num.threads Number of threads (see [p4l-package]).
#' @param new.individuals Rule for new individuals without a history
#'   (P4L fits): `"auto"`, `"baseline"` or `"population"`, see [p4l_assign()].
#' @param quiet Do not announce new individuals.
#' @param ... Passed to [p4l_assign()] for new individuals (e.g.
#'   `likelihood`, `refine`).
#' @return A vector (type `"action"`), a matrix, or a data frame (type
#'   `"cluster"`).
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- fqi(d, basis = rbf_basis(d, num.centers = 8, seed = 1), seed = 1)
#' new <- data.frame(s1 = c(-1, 0, 1), s2 = c(1, 0, -1))
#' predict(fit, new)
#' predict(fit, new, type = "prob")
#' predict(fit, new, type = "q")
#' # a p4l_data object: one row per transition
#' head(predict(fit, d, type = "prob"))
#' # P4L places individuals it has not seen
#' sim <- sim_linear2d(num.per.group = 4, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- p4l(subset(d, ids = 1:10), K = 3, seed = 1)
#' # id 12 is new: its transitions in sim$data place it
#' nd <- sim$data[sim$data$id %in% c(1, 12) & sim$data$time < 10, ]
#' predict(fit, nd, type = "cluster")
#' @export
predict.p4l_policy <- function(object, newdata, type = c("action", "prob", "q", "cluster"),
                               num.threads = NULL, new.individuals = "auto", quiet = FALSE,
                               ...) {
  type <- match.arg(type)
  num.threads <- resolve_threads(num.threads)
  if (!inherits(newdata, "p4l_data") && !is.data.frame(newdata)) {
    stop_arg("`newdata` must be a data frame or a p4l_data object.")
  }
  x <- match_states(newdata, object$state.names, coding = object$coding$state)
  ids <- newdata_ids(newdata, object$id.column)
  if (inherits(object, "p4l_fit") && !is.null(ids)) {
    unseen <- unique(ids[is.na(match_ids(ids, object$ids))])
    if (length(unseen)) {
      object <- p4l_with_new(object, newdata, unseen, new.individuals, quiet, num.threads, ...)
    }
  }
  slots <- policy_slots(object, ids)
  labels <- as.character(object$action.levels)
  if (type == "cluster") {
    if (is.null(object$cluster)) {
      stop_arg("This policy (", object$method, ") has no clusters.")
    }
    if (is.null(slots)) stop_arg("`newdata` needs the id column '", object$id.column, "'.")
    cl <- as.integer(object$cluster[slots])
    wt <- if (is.null(object$cluster.weights)) rep(1, length(slots)) else
      object$cluster.weights[cbind(slots, cl)]
    return(data.frame(id = ids, cluster = cl, weight = wt, stringsAsFactors = FALSE))
  }
  if (type == "q") {
    if (is.null(object$q.coef)) stop_arg("This policy (", object$method, ") has no Q-function.")
    psi <- basis_features(object$basis, x, num.threads)
    out <- slot_products(psi, object$q.coef, slots)
    check_finite_rows(out, "The Q-values", "rows of `newdata`")
    colnames(out) <- labels
    return(out)
  }
  inputs <- policy_inputs(object, x, num.threads)
  logits <- slot_products(inputs, object$policy.coef, slots)
  check_finite_rows(logits, "The policy's action scores", "rows of `newdata`")
  if (isTRUE(object$greedy)) {
    prob <- matrix(0, nrow(logits), ncol(logits))
    prob[cbind(seq_len(nrow(logits)), max.col(logits, ties.method = "first"))] <- 1
  } else {
    prob <- softmax_rows(logits)
  }
  eps <- if (is.null(object$epsilon)) 0 else object$epsilon
  if (eps > 0) prob <- (1 - eps) * prob + eps / ncol(prob)
  colnames(prob) <- labels
  if (type == "prob") return(prob)
  decode_actions(max.col(prob, ties.method = "first"), object$action.levels, object$action.type)
}

#' @export
print.p4l_policy <- function(x, ...) {
  cat("<", class(x)[1], "> ", x$method, " policy for ", length(x$ids), " individual(s), ",
      length(x$policy.coef), " distinct polic", if (length(x$policy.coef) == 1) "y" else "ies",
      "\n", sep = "")
  cat("  actions: ", paste(as.character(x$action.levels), collapse = ", "), "; states: ",
      paste(x$state.names, collapse = ", "), "; gamma = ", x$gamma, "\n", sep = "")
  if (isTRUE(x$behaviour.weight > 0)) {
    cat("  actions chosen by Q + ", format(x$behaviour.weight, digits = 4),
        " x log(behaviour propensity)\n", sep = "")
  }
  invisible(x)
}

#' Coefficients of a fitted policy
#'
#' The policy of slot g scores action a in state s by the logit
#' \eqn{\psi(s)^\top C_g[, a]}{psi(s)' C_g[, a]}, where \eqn{\psi(s)}{psi(s)} are
#' the basis features; [predict.p4l_policy()] turns the logits into action
#' probabilities by a softmax (greedy policies: all mass on the largest logit),
#' mixed with the uniform distribution when the policy has an `epsilon`.
#'
#' @param object A fitted policy (class `p4l_policy`).
#' @param ... Unused.
#' @return A list of d x |A| matrices of logit coefficients \eqn{C_g}{C_g}
#'   (rows: the basis features, `"(Intercept)"` first; columns: actions), one
#'   per distinct policy; `object$slot` (named by id) gives each individual's
#'   entry. Pooled methods have one entry.
#' @seealso [coef.p4l_fit()] for the other parameters of a P4L fit.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- fqi(d, basis = rbf_basis(d, num.centers = 4, seed = 1), seed = 1)
#' length(coef(fit))  # one pooled policy
#' coef(fit)[[1]]
#' @export
coef.p4l_policy <- function(object, ...) {
  object$policy.coef
}

# A P4L fit extended by the new individuals `unseen` of `newdata`, placed by
# p4l_assign() (their history in `newdata` when it has one).
p4l_with_new <- function(object, newdata, unseen, new.individuals, quiet, num.threads, ...) {
  if (inherits(newdata, "p4l_data")) {
    sub <- subset(newdata, ids = unseen)
  } else {
    sub <- newdata[!is.na(match_ids(newdata[[object$id.column]], unseen)), , drop = FALSE]
  }
  asg <- p4l_assign(object, sub, new.individuals = new.individuals, num.threads = num.threads,
                    ...)
  if (!quiet) {
    tab <- table(asg$assignment$rule)
    message("predict(): ", length(unseen), " individual(s) not in the training data (",
            paste(utils::head(format(unseen), 5), collapse = ", "),
            if (length(unseen) > 5) ", ..." else "", ") placed by p4l_assign(): ",
            paste(names(tab), "rule for", as.integer(tab), collapse = "; "),
            ". Set quiet = TRUE to silence this.")
  }
  n0 <- length(object$policy.coef)
  K <- object$K
  w0 <- object$cluster.weights
  if (is.null(w0)) {
    w0 <- matrix(0, length(object$ids), K)
    w0[cbind(seq_along(object$ids), as.integer(object$cluster))] <- 1
  }
  out <- object
  out$ids <- c(object$ids, asg$ids)
  out$slot <- c(object$slot, asg$slot + n0)
  out$policy.coef <- c(object$policy.coef, asg$policy.coef)
  out$q.coef <- c(object$q.coef, asg$q.coef)
  out$cluster <- c(object$cluster, asg$cluster)
  out$cluster.weights <- rbind(unname(w0), unname(asg$cluster.weights))
  out$U <- rbind(object$U, asg$U)
  out
}
