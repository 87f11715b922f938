#' Monte Carlo value of a policy in a simulated environment
#'
#' Runs `num.episodes` episodes of at most `horizon` steps for each
#' individual, from the environment's initial-state distribution, choosing
#' actions with the individual's learned policy (sampled from its action
#' probabilities). The policy is evaluated inside C++ from its stored
#' coefficients. Episode `e` of the `k`-th id uses its own random stream
#' derived from `seed`, so results do not depend on `num.threads`.
#'
#' @param policy A fitted policy (class `p4l_policy`). Its states are matched
#'   to the environment's (`env$state.names`) by name: a different order is
#'   reordered, a missing, extra or renamed state is an error.
#' @param env A `p4l_env` (every individual is evaluated in it) or a list of
#'   them named by id (such as the `env` element of [sim_linear2d()]), so that
#'   each individual is evaluated in its own environment, or a [persim()]
#'   fit (each individual in its personalised simulator).
#' @param ids Individuals to evaluate. Defaults to the policy's training ids,
#'   or to the names of `env` for pooled policies. Matched by value to the
#'   policy's ids (integer and double storage alike) and to the names of
#'   `env`.
#' @param num.episodes Episodes per individual. The episodes are simulated
#'   in blocks and summarised as they go, so memory does not grow with
#'   `num.episodes`; the run can be interrupted (Ctrl-C).
#' @param horizon Largest number of steps per episode.
#' @param gamma Discount factor of the reported value; defaults to the one
#'   the policy was fitted with.
#' @param seed Random seed (`NULL` draws one from R's generator).
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return A data frame of class `p4l_evaluation` with one row per id:
#'   `id`, `value` (mean discounted return \eqn{\sum_t \gamma^t R_t}{sum_t gamma^t R_t}), `se`
#'   (its Monte Carlo standard error), `steps` (mean episode length, the value
#'   used for CartPole), `steps.se`, and `total.reward` (mean undiscounted
#'   return).
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 10, seed = 1)
#' pol <- uniform_policy(c(0, 1), c("s1", "s2"))
#' evaluate_policy(pol, sim$env, num.episodes = 200, seed = 1)
#' @export
evaluate_policy <- function(policy, env, ids = NULL, num.episodes = 1000, horizon = 50,
                            gamma = NULL, seed = NULL, num.threads = NULL) {
  if (!inherits(policy, "p4l_policy")) stop_arg("`policy` must be a fitted policy (p4l_policy).")
  if (inherits(env, "p4l_persim")) env <- persim_env(env, ids)
  if (inherits(env, "p4l_env")) {
    env.list <- list(env)
    single <- TRUE
  } else if (is.list(env) && length(env) > 0L && all(vapply(env, inherits, logical(1), "p4l_env"))) {
    if (is.null(names(env)) || anyNA(names(env)) || any(!nzchar(names(env)))) {
      stop_arg("`env` given as a list must be named by id.")
    }
    env.list <- env
    single <- FALSE
  } else {
    stop_arg("`env` must be a p4l_env object or a list of them named by id.")
  }
  if (is.null(ids)) {
    ids <- if (length(policy$ids) > 0L) policy$ids else if (!single) names(env.list) else
      stop_arg("Give `ids`: the policy is not tied to individuals and `env` is a single environment.")
  }
  if (length(ids) == 0L) stop_arg("`ids` is empty.")
  num.episodes <- check_count(num.episodes, "num.episodes", lower = 2L)
  horizon <- check_count(horizon, "horizon")
  gamma <- if (is.null(gamma)) policy$gamma else check_number(gamma, "gamma", 0, 1)
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)

  guard_evaluate(length(ids), num.episodes, horizon)
  slots <- policy_slots(policy, ids)
  if (is.null(slots)) slots <- rep(1L, length(ids))
  if (single) {
    target.env <- rep(1L, length(ids))
  } else {
    target.env <- match_ids(ids, names(env.list))
    by.text <- match(as.character(ids), names(env.list))
    target.env[is.na(target.env)] <- by.text[is.na(target.env)]
    if (anyNA(target.env)) {
      stop_arg("`env` has no environment for id(s) ",
               paste(utils::head(trimws(format(ids[is.na(target.env)], digits = 17)), 5),
                     collapse = ", "), ".")
    }
  }
  ref <- env.list[[target.env[1]]]
  for (e in env.list) {
    if (!identical(e$state.names, ref$state.names) || !identical(e$actions, ref$actions)) {
      stop_arg("All environments in `env` must have the same states and actions.")
    }
  }
  state.map <- match_env_states(policy$state.names, ref)
  inputs <- if (isTRUE(policy$raw.state)) length(policy$state.names) + 1L else
    basis_dim(policy$basis)
  check_policy_coef(policy$policy.coef, inputs)
  amap <- match(as.character(policy$action.levels), as.character(ref$actions))
  if (anyNA(amap)) {
    stop_arg("Action(s) ", paste(policy$action.levels[is.na(amap)], collapse = ", "),
             " of the policy are not actions of the environment (",
             paste(ref$actions, collapse = ", "), ").")
  }
  used <- sort(unique(target.env))
  specs <- lapply(env.list[used], function(e) list(type = e$type, params = as.numeric(e$params)))
  basis <- if (isTRUE(policy$raw.state)) list() else basis_spec(policy$basis)
  eps <- if (is.null(policy$epsilon)) 0 else policy$epsilon
  res <- evaluate_policy_cpp(basis, policy$policy.coef, isTRUE(policy$greedy), eps,
                             isTRUE(policy$raw.state), specs, match(target.env, used) - 1L,
                             slots - 1L, amap - 1L, state.map, num.episodes, horizon, gamma,
                             seed, num.threads)
  out <- data.frame(id = ids, value = res$value, se = res$value_se, steps = res$steps,
                    steps.se = res$steps_se, total.reward = res$total)
  attr(out, "settings") <- list(num.episodes = num.episodes, horizon = horizon, gamma = gamma,
                                seed = seed, method = policy$method)
  class(out) <- c("p4l_evaluation", "data.frame")
  out
}
