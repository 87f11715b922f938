# The ICU course: a small episodic MDP with an exact tabular optimum
# (src/core/icu.{h,cpp}): the simulator, the exact optimum and the exact
# value of any fitted policy. The environment, env_icu(), is in R/env.R.

icu_state_names <- function() {
  c("sofa_cardio", "sofa_resp", "sofa_renal", "on_fluids", "on_vaso", "on_vent")
}

icu_action_labels <- function() {
  c("none", "fluids", "vaso", "fluids+vaso", "vent", "fluids+vent", "vaso+vent",
    "fluids+vaso+vent")
}

icu_subgroups <- function() c("typical", "atypical")

# Gamma of the clinicians' expert policy (the typical optimum), fixed.
icu_expert_gamma <- 0.99

.icu_cache <- new.env(parent = emptyenv())

# Exact solution of one subgroup's MDP (cached per subgroup and gamma).
icu_solve <- function(subgroup, gamma, tol = 1e-12, max.iter = 100000L) {
  key <- paste(subgroup, format(gamma, digits = 17), tol, max.iter)
  if (is.null(.icu_cache[[key]])) {
    .icu_cache[[key]] <- icu_solve_cpp(subgroup == "atypical", gamma, tol, max.iter)
  }
  .icu_cache[[key]]
}

icu_model <- function(subgroup) {
  key <- paste("model", subgroup)
  if (is.null(.icu_cache[[key]])) .icu_cache[[key]] <- icu_model_cpp(subgroup == "atypical")
  .icu_cache[[key]]
}

icu_grid <- function() {
  if (is.null(.icu_cache$grid)) {
    g <- icu_grid_cpp()
    colnames(g) <- icu_state_names()
    .icu_cache$grid <- g
  }
  .icu_cache$grid
}

# 0-based action code -> label
icu_label <- function(code) icu_action_labels()[code + 1L]

check_subgroup <- function(x, name = "subgroup", several = FALSE) {
  if (is.factor(x)) x <- as.character(x)
  ok <- is.character(x) && length(x) >= 1L && !anyNA(x) && all(x %in% icu_subgroups()) &&
    (several || length(x) == 1L)
  if (!ok) {
    stop_arg("`", name, "` must be ", if (several) "a vector of " else "one of ",
             "\"typical\"", if (several) " and " else " or ", "\"atypical\".")
  }
  x
}

#' Simulate ICU courses under the clinicians' policy
#'
#' Simulates `num.patients` episodes of the ICU course of [env_icu()] in C++.
#' Each patient belongs to the hidden "atypical" (fluid-intolerant) subgroup
#' with probability `atypical.share`, and is treated by the clinicians'
#' policy until death, discharge or `max.decisions` decisions.
#'
#' The clinicians follow an expert policy that is optimal for the TYPICAL
#' patients: at every state they take the action of the typical optimum
#' ([icu_optimum()] at \eqn{\gamma = 0.99}{gamma = 0.99}), except that with probability
#' `behaviour.noise` they take an action drawn uniformly from the 8 (so every
#' action has probability at least `behaviour.noise / 8`). The atypical
#' patients are therefore given fluids that harm them. The same policy is
#' [icu_behaviour_policy()].
#'
#' @param num.patients Number of patients (episodes).
#' @param max.decisions Largest number of decisions per episode; an episode
#'   still running is cut there (not terminal).
#' @param atypical.share Probability that a patient is atypical, in \[0, 1\].
#' @param behaviour.noise Probability of a uniformly random action, in
#'   \[0, 1\].
#' @param seed Random seed (`NULL` draws one from R's generator). Patient `i`
#'   uses its own random streams (one for the subgroup, one for the course),
#'   so results do not depend on threads.
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return A list with
#'   \describe{
#'   \item{`data`}{long data frame with columns `id`, `time` (decision
#'     0, 1, ...), `action` (character labels, see [env_icu()]), `reward`
#'     (-1 at death, +1 at discharge, 0 otherwise), the six state columns
#'     `sofa_cardio`, `sofa_resp`, `sofa_renal`, `on_fluids`, `on_vaso`,
#'     `on_vent`, and the logical `terminal`: `TRUE` on the row whose
#'     transition ends in death or discharge. Each episode ends with a row
#'     holding the final state (action and reward `NA`); an episode cut at
#'     `max.decisions` has no `TRUE`. Ready for
#'     `p4l_data(data, "id", "time", "action", "reward", state, terminal =
#'     "terminal")` with `state = env_icu()$state.names`.}
#'   \item{`group`}{factor (`typical`, `atypical`): the hidden subgroup of
#'     each id, named by id.}
#'   \item{`params`}{data frame of each id's `group`, number of decisions
#'     `steps` and `outcome` (`death`, `discharge` or `censored`).}
#'   \item{`env`}{named list of each id's [env_icu()] environment, for
#'     [evaluate_policy()].}
#'   \item{`seed`}{the seed used.}
#'   }
#' @seealso [icu_optimum()] for the exact optimal and behaviour values,
#'   [icu_policy_value()] for the exact value of a fitted policy.
#' @examples
#' sim <- sim_icu(num.patients = 200, seed = 1)
#' head(sim$data)
#' table(sim$group, sim$params$outcome)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               env_icu()$state.names, terminal = "terminal")
#' d
#' @export
sim_icu <- function(num.patients = 1000, max.decisions = 20, atypical.share = 0.2,
                    behaviour.noise = 0.05, seed = NULL, num.threads = NULL) {
  num.patients <- check_count(num.patients, "num.patients")
  max.decisions <- check_count(max.decisions, "max.decisions")
  atypical.share <- check_number(atypical.share, "atypical.share", 0, 1)
  behaviour.noise <- check_number(behaviour.noise, "behaviour.noise", 0, 1)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  atyp <- icu_subgroups_cpp(num.patients, atypical.share, seed)
  expert <- icu_solve("typical", icu_expert_gamma)$action
  raw <- sim_icu_cpp(atyp, expert, behaviour.noise, max.decisions, seed, num.threads)
  st <- icu_state_names()
  data <- data.frame(id = as.integer(raw[, 1]), time = as.integer(raw[, 2]),
                     action = icu_label(as.integer(raw[, 3])), reward = raw[, 4],
                     stringsAsFactors = FALSE)
  for (j in seq_along(st)) data[[st[j]]] <- as.integer(raw[, 4L + j])
  data$terminal <- raw[, 11] == 1
  ids <- seq_len(num.patients)
  group <- stats::setNames(factor(icu_subgroups()[atyp + 1L], levels = icu_subgroups()), ids)
  acted <- !is.na(data$reward)
  steps <- tabulate(data$id[acted], nbins = num.patients)
  last.reward <- numeric(num.patients)
  last.reward[data$id[data$terminal]] <- data$reward[data$terminal]
  outcome <- factor(ifelse(last.reward < 0, "death", ifelse(last.reward > 0, "discharge",
                                                               "censored")),
                    levels = c("death", "discharge", "censored"))
  params <- data.frame(id = ids, group = group, steps = steps, outcome = outcome)
  envs <- list(typical = env_icu("typical"), atypical = env_icu("atypical"))
  env <- envs[as.character(group)]
  names(env) <- ids
  list(data = data, group = group, params = params, env = env, seed = seed)
}

#' States and outcomes of the ICU model
#'
#' `icu_states()` enumerates the 1000 states of [env_icu()] with their
#' probability under the initial-state distribution. `icu_transitions()`
#' gives every outcome of one state and action with its exact probability.
#'
#' @param state A state: a numeric vector of the six state values (in the
#'   order of `env_icu()$state.names`, or named).
#' @param action An action label (see [env_icu()]) or its code 0 to 7.
#' @param subgroup `"typical"` or `"atypical"`.
#' @return `icu_states()`: a data frame with the six state columns and
#'   `initial`, one row per state (row `i` is the state with index `i - 1`
#'   used by the C++ core). `icu_transitions()`: a data frame with columns
#'   `outcome` (`continue`, `death` or `discharge`), the six next-state
#'   columns (for death and discharge: the state as [env_step()] reports it),
#'   `reward` and `prob`; the probabilities sum to 1.
#' @examples
#' head(icu_states())
#' icu_transitions(c(0, 0, 0, 0, 1, 0), "none")
#' icu_transitions(c(2, 0, 1, 0, 0, 0), "fluids+vaso", subgroup = "atypical")
#' @export
icu_states <- function() {
  out <- as.data.frame(icu_grid())
  for (j in names(out)) out[[j]] <- as.integer(out[[j]])
  out$initial <- icu_initial_cpp()
  out
}

#' @rdname icu_states
#' @export
icu_transitions <- function(state, action, subgroup = "typical") {
  s <- icu_check_state(state)
  a <- icu_check_action(action)
  subgroup <- check_subgroup(subgroup)
  m <- icu_model(subgroup)
  idx <- sum(s * c(1, 5, 25, 125, 250, 500))
  rows <- which(m$from == idx & m$action == a)
  nxt <- m$to[rows]
  g <- icu_grid()
  absorbed <- matrix(c(s[1:3], bitwAnd(a, c(1L, 2L, 4L)) > 0), length(rows), 6, byrow = TRUE)
  S <- g[pmax(nxt, 0L) + 1L, , drop = FALSE]
  S[nxt < 0L, ] <- absorbed[nxt < 0L, ]
  out <- data.frame(outcome = ifelse(nxt >= 0L, "continue", ifelse(nxt == -1L, "death",
                                                                      "discharge")),
                    stringsAsFactors = FALSE)
  for (j in seq_len(6)) out[[icu_state_names()[j]]] <- as.integer(S[, j])
  out$reward <- ifelse(nxt == -1L, -1, ifelse(nxt == -2L, 1, 0))
  out$prob <- m$prob[rows]
  out[out$prob > 0, , drop = FALSE]
}

icu_check_state <- function(state) {
  nm <- icu_state_names()
  if (is.data.frame(state) && nrow(state) == 1L) state <- unlist(state)
  if (!is.numeric(state) || length(state) != 6L || anyNA(state)) {
    stop_arg("`state` must be a numeric vector of the six state values (",
             paste(nm, collapse = ", "), ").")
  }
  if (!is.null(names(state)) && all(nm %in% names(state))) state <- state[nm]
  state <- unname(as.numeric(state))
  if (any(state != round(state)) || any(state[1:3] < 0 | state[1:3] > 4) ||
      any(!(state[4:6] %in% c(0, 1)))) {
    stop_arg("`state` must hold three scores in 0..4 and three 0/1 treatment flags.")
  }
  state
}

icu_check_action <- function(action) {
  labels <- icu_action_labels()
  a <- if (is.character(action) || is.factor(action)) match(as.character(action), labels) - 1L
       else if (is.numeric(action) && length(action) == 1L && action %in% 0:7) as.integer(action)
       else NA_integer_
  if (length(action) != 1L || is.na(a)) {
    stop_arg("`action` must be one of ", paste0("\"", labels, "\"", collapse = ", "),
             " or a code 0 to 7.")
  }
  a
}

# A greedy tabular policy as a p4l_policy: one RBF centre per state with a
# bandwidth so small that each state sees only its own centre, and logits
# coef[1 + j, a] = 1 for the action of state j. Exact on the grid, so
# evaluate_policy() and predict() follow the table.
icu_table_policy <- function(actions, epsilon, method, class, gamma) {
  g <- icu_grid()
  st <- icu_state_names()
  basis <- structure(list(centers = g, bandwidth = 0.1, shift = stats::setNames(rep(0, 6), st),
                          scale = stats::setNames(rep(1, 6), st), state.names = st,
                          withinss = 0, num.states = nrow(g), seed = NA_real_),
                     class = "rbf_basis")
  coef <- matrix(0, nrow(g) + 1L, 8L)
  coef[cbind(seq_len(nrow(g)) + 1L, actions + 1L)] <- 1
  new_p4l_policy(method, class, basis = basis, gamma = gamma,
                 action.levels = icu_action_labels(), action.type = "character",
                 state.names = st, id.column = "id", ids = character(0), slot = integer(0),
                 policy.coef = list(coef), greedy = TRUE, epsilon = epsilon, table = actions)
}

#' The clinicians' policy and the optimal policies of the ICU model
#'
#' `icu_behaviour_policy()` is the policy that generates the data of
#' [sim_icu()]: the optimal action for a TYPICAL patient ([icu_optimum()] at
#' \eqn{\gamma = 0.99}{gamma = 0.99}), replaced with probability `noise` by an action drawn
#' uniformly from the 8. `icu_optimal_policy()` is the deterministic optimal
#' policy of one subgroup.
#'
#' Both are ordinary `p4l_policy` objects (a table stored as a linear policy
#' on one radial basis function per state), so [predict.p4l_policy()],
#' [evaluate_policy()] and [icu_policy_value()] work on them.
#'
#' @param noise Probability of a uniformly random action, in \[0, 1\].
#' @param subgroup `"typical"` or `"atypical"`.
#' @param gamma Discount factor: the optimality criterion, and the default
#'   of [evaluate_policy()].
#' @return A `c("icu_policy", "p4l_policy")` object that applies to any id.
#' @examples
#' s <- data.frame(sofa_cardio = 3, sofa_resp = 0, sofa_renal = 2, on_fluids = 0,
#'                 on_vaso = 0, on_vent = 0)
#' predict(icu_behaviour_policy(), s)
#' predict(icu_optimal_policy("atypical"), s)
#' evaluate_policy(icu_behaviour_policy(), env_icu("atypical"), ids = 1,
#'                 num.episodes = 200, horizon = 200, seed = 1)
#' @export
icu_behaviour_policy <- function(noise = 0.05) {
  noise <- check_number(noise, "noise", 0, 1)
  icu_table_policy(icu_solve("typical", icu_expert_gamma)$action, noise, "icu-behaviour",
                   "icu_policy", icu_expert_gamma)
}

#' @rdname icu_behaviour_policy
#' @export
icu_optimal_policy <- function(subgroup = c("typical", "atypical"), gamma = 0.99) {
  subgroup <- check_subgroup(if (missing(subgroup)) "typical" else subgroup)
  gamma <- check_gamma(gamma)
  icu_table_policy(icu_solve(subgroup, gamma)$action, 0, paste0("icu-optimal-", subgroup),
                   "icu_policy", gamma)
}

#' Exact optimal values of the ICU model
#'
#' Solves the MDP of each subgroup of [env_icu()] exactly: value iteration on
#' the 1000 states and 8 actions to a change below `tol`, then policy
#' iteration from its greedy policy, each policy evaluated by solving the
#' linear system \eqn{(I - \gamma P_\pi) V = r_\pi}{(I - gamma P_pi) V = r_pi}, until the greedy policy
#' is stable.
#'
#' The criterion is the infinite-horizon discounted value \eqn{E \sum_{t \ge
#' 0} \gamma^t R_t}{E sum_(t >= 0) gamma^t R_t} of the stationary MDP in which death and discharge are
#' absorbing (no reward after them), averaged over the initial-state
#' distribution of [sim_icu()]. This is what `evaluate_policy(policy,
#' env_icu(subgroup), horizon = H, gamma = gamma)` estimates by Monte Carlo
#' when `H` is long enough that almost every episode ends (with \eqn{\gamma =
#' 0.99}{gamma = 0.99}, `H = 500` leaves less than \eqn{0.99^{500} < 0.007} of any
#' unfinished episode's reward out). The cut at `max.decisions` in
#' [sim_icu()] only shortens the data; it is not part of the criterion.
#'
#' @param gamma Discount factor in \[0, 1).
#' @param behaviour.noise Noise of the clinicians' policy whose exact value
#'   is reported (see [icu_behaviour_policy()]).
#' @param tol,max.iter Convergence tolerance and largest number of sweeps of
#'   the value iteration.
#' @return An object of class `icu_optimum`, a list with
#'   \describe{
#'   \item{`values`}{data frame, one row per subgroup: `optimal` (the optimal
#'     value), `behaviour` (the exact value of [icu_behaviour_policy()] with
#'     `behaviour.noise`), `typical.optimal` (the value of the typical
#'     optimal policy followed without noise), `share.differ` (the share of
#'     states where the subgroup's optimal action differs from the typical
#'     one) and `p.death.optimal` and `p.discharge.optimal` (the
#'     probabilities of ending in death or discharge under the optimal
#'     policy, undiscounted).}
#'   \item{`actions`}{[icu_states()] with the optimal action of each
#'     subgroup (columns `typical`, `atypical`).}
#'   \item{`V`}{1000 x 2 matrix of optimal values by state and subgroup.}
#'   \item{`gamma`, `behaviour.noise`, `iterations`, `residual`}{settings and
#'     the convergence of each subgroup's solution (sweeps of value iteration,
#'     policy-improvement rounds, final Bellman residual).}
#'   }
#' @seealso [icu_policy_value()] for the exact value (and regret) of a fitted
#'   policy.
#' @examples
#' opt <- icu_optimum()
#' opt
#' # where the atypical (fluid-intolerant) optimum differs
#' a <- opt$actions
#' head(a[a$typical != a$atypical & a$initial > 0, ])
#' @export
icu_optimum <- function(gamma = 0.99, behaviour.noise = 0.05, tol = 1e-12, max.iter = 100000) {
  gamma <- check_gamma(gamma)
  behaviour.noise <- check_number(behaviour.noise, "behaviour.noise", 0, 1)
  tol <- check_number(tol, "tol", 0, lower.open = TRUE)
  max.iter <- check_count(max.iter, "max.iter")
  sg <- icu_subgroups()
  sol <- lapply(sg, icu_solve, gamma = gamma, tol = tol, max.iter = max.iter)
  names(sol) <- sg
  p0 <- icu_initial_cpp()
  expert <- icu_solve("typical", icu_expert_gamma)$action
  onehot <- function(act) { P <- matrix(0, length(act), 8L); P[cbind(seq_along(act), act + 1L)] <- 1; P }
  beh <- (1 - behaviour.noise) * onehot(expert) + behaviour.noise / 8
  pol <- list(beh, beh, onehot(sol$typical$action), onehot(sol$typical$action))
  at <- c(FALSE, TRUE, FALSE, TRUE)
  Vp <- icu_evaluate_cpp(pol, as.integer(at), gamma, 1L)
  # undiscounted absorption probabilities under the optimal policies
  absorb <- vapply(sg, function(s) {
    P <- onehot(sol[[s]]$action)
    c(death = sum(p0 * icu_absorption(s, P, -1L)), discharge = sum(p0 * icu_absorption(s, P, -2L)))
  }, numeric(2))
  values <- data.frame(
    subgroup = sg,
    optimal = vapply(sol, function(s) sum(p0 * s$V), numeric(1)),
    behaviour = c(sum(p0 * Vp[, 1]), sum(p0 * Vp[, 2])),
    typical.optimal = c(sum(p0 * Vp[, 3]), sum(p0 * Vp[, 4])),
    share.differ = c(0, mean(sol$typical$action != sol$atypical$action)),
    p.death.optimal = absorb["death", ], p.discharge.optimal = absorb["discharge", ],
    row.names = NULL)
  actions <- icu_states()
  actions$typical <- icu_label(sol$typical$action)
  actions$atypical <- icu_label(sol$atypical$action)
  V <- cbind(typical = sol$typical$V, atypical = sol$atypical$V)
  structure(list(values = values, actions = actions, V = V, gamma = gamma,
                 behaviour.noise = behaviour.noise,
                 iterations = vapply(sol, function(s) s$iterations, numeric(1)),
                 improvements = vapply(sol, function(s) s$improvements, numeric(1)),
                 residual = vapply(sol, function(s) s$residual, numeric(1))),
            class = "icu_optimum")
}

# P(absorbed in death (code -1) or discharge (-2)) from each state under the
# policy P (1000 x 8), undiscounted: the same linear system with gamma = 1
# and the absorption probability as the reward.
icu_absorption <- function(subgroup, P, code) {
  m <- icu_model(subgroup)
  keep <- m$to == code
  r <- matrix(0, 1000L, 8L)
  r[cbind(m$from[keep] + 1L, m$action[keep] + 1L)] <- m$prob[keep]
  icu_evaluate_reward_cpp(P, r, subgroup == "atypical", 1)
}

#' @export
print.icu_optimum <- function(x, ...) {
  cat("<icu_optimum> exact values of the ICU model, gamma = ", x$gamma,
      ", behaviour noise = ", x$behaviour.noise, "\n", sep = "")
  v <- x$values
  v[, -1] <- lapply(v[, -1], function(col) round(col, 4))
  print(v, row.names = FALSE)
  invisible(x)
}

#' Exact value of a policy in the ICU model
#'
#' The exact value of any fitted policy (class `p4l_policy`) in the ICU model
#' of [env_icu()], on the scale of [icu_optimum()]: the policy's action
#' probabilities at all 1000 states (`predict(policy, states, type =
#' "prob")`, which includes its `epsilon` exploration) define a stationary
#' policy whose discounted value solves \eqn{(I - \gamma P_\pi) V = r_\pi}{(I - gamma P_pi) V = r_pi};
#' the value reported is its average over the initial-state distribution.
#' The regret is the optimal value of the subgroup minus this value, exactly.
#' [evaluate_policy()] with a long horizon (e.g. 500) estimates the same
#' number by Monte Carlo.
#'
#' Actions the policy never takes (not among its `action.levels`) get
#' probability 0. The policy's actions must be action labels of [env_icu()]
#' (as in the data of [sim_icu()]) or their codes 0 to 7.
#'
#' @param policy A fitted policy (class `p4l_policy`) on the state columns of
#'   [env_icu()].
#' @param subgroup The subgroup(s) to evaluate in: for a pooled policy
#'   without `ids`, one or both of `"typical"`, `"atypical"` (default both);
#'   with `ids`, one subgroup per id, or a vector named by id such as the
#'   `group` element of [sim_icu()].
#' @param ids Individuals whose policy is evaluated (each in its subgroup).
#'   Defaults to the policy's training ids for individual policies; `NULL`
#'   for pooled policies evaluates the policy once per subgroup.
#' @param gamma Discount factor in \[0, 1).
#' @param num.threads Number of threads (see [p4l-package]).
#' @return A data frame with one row per subgroup (or id, then with a first
#'   column `id`): `subgroup`, `value`, `optimal` and `regret`.
#' @examples
#' icu_policy_value(icu_behaviour_policy())
#' sim <- sim_icu(200, seed = 1)
#' icu_policy_value(icu_optimal_policy("typical"), subgroup = sim$group[1:3],
#'                  ids = names(sim$group)[1:3])
#' @export
icu_policy_value <- function(policy, subgroup = NULL, ids = NULL, gamma = 0.99,
                             num.threads = NULL) {
  if (!inherits(policy, "p4l_policy")) stop_arg("`policy` must be a fitted policy (p4l_policy).")
  st <- icu_state_names()
  if (!identical(sort(policy$state.names), sort(st))) {
    stop_arg("`policy` must use the state columns of env_icu() (", paste(st, collapse = ", "),
             "); it uses ", paste(policy$state.names, collapse = ", "), ".")
  }
  amap <- icu_action_map(policy$action.levels)
  gamma <- check_gamma(gamma)
  num.threads <- resolve_threads(num.threads)
  pooled <- length(policy$policy.coef) == 1L &&
    (length(policy$ids) == 0L || all(policy$slot == 1L))
  if (is.null(ids) && !pooled) ids <- policy$ids
  if (is.null(ids)) {
    sgs <- if (is.null(subgroup)) icu_subgroups() else
      unique(check_subgroup(subgroup, several = TRUE))
    slots <- rep(1L, length(sgs))
    keys <- NULL
  } else {
    if (length(ids) == 0L || anyNA(ids)) stop_arg("`ids` must be a vector of ids without NA.")
    if (is.null(subgroup)) {
      stop_arg("Give `subgroup`: one subgroup per id (such as `group` of sim_icu()).")
    }
    if (!is.null(names(subgroup)) && all(as.character(ids) %in% names(subgroup))) {
      subgroup <- subgroup[as.character(ids)]
    } else if (length(subgroup) == 1L) {
      subgroup <- rep(subgroup, length(ids))
    } else if (length(subgroup) != length(ids)) {
      stop_arg("`subgroup` must have one value per id (or be named by id).")
    }
    sgs <- check_subgroup(unname(subgroup), several = TRUE)
    slots <- if (pooled) rep(1L, length(ids)) else policy_slots(policy, ids)
    keys <- ids
  }
  grid <- as.data.frame(icu_grid())
  uslots <- unique(slots)
  probs <- lapply(uslots, function(sl) {
    nd <- grid
    if (!pooled) nd[[policy$id.column]] <- rep(ids[match(sl, slots)], nrow(grid))
    p <- predict(policy, nd, type = "prob", num.threads = num.threads)
    P <- matrix(0, nrow(grid), 8L)
    P[, amap + 1L] <- p
    P
  })
  combo <- paste(slots, sgs)
  ucombo <- !duplicated(combo)
  V <- icu_evaluate_cpp(probs[match(slots[ucombo], uslots)], as.integer(sgs[ucombo] == "atypical"),
                        gamma, num.threads)
  p0 <- icu_initial_cpp()
  val <- as.numeric(crossprod(p0, V))[match(combo, combo[ucombo])]
  opt <- vapply(icu_subgroups(), function(s) sum(p0 * icu_solve(s, gamma)$V), numeric(1))
  out <- data.frame(subgroup = sgs, value = val, optimal = unname(opt[sgs]),
                    stringsAsFactors = FALSE)
  out$regret <- out$optimal - out$value
  if (!is.null(keys)) out <- cbind(data.frame(id = keys), out)
  out
}

# Codes (0..7) of the policy's action levels.
icu_action_map <- function(levels) {
  lv <- as.character(levels)
  a <- match(lv, icu_action_labels()) - 1L
  if (anyNA(a) && all(lv %in% as.character(0:7))) a <- as.integer(lv)
  if (anyNA(a) || anyDuplicated(a)) {
    stop_arg("The actions of `policy` (", paste(lv, collapse = ", "), ") must be action ",
             "labels of env_icu() (", paste(icu_action_labels(), collapse = ", "),
             ") or codes 0 to 7.")
  }
  a
}
