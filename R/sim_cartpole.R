# The CartPole simulator of the paper (Sec 6.2): its settings, behaviour
# policy and data generator. The environment, env_cartpole(), is in R/env.R.

#' The CartPole settings of the paper's Table 2
#'
#' Each setting mixes three CartPole environments. Setting A fixes the
#' length at 0.85 and varies the force (2, 5, 10); setting B fixes the force
#' at 5 and varies the length (0.15, 0.5, 0.85); setting C varies both:
#' (force, length) = (2, 0.15), (10, 0.85), (5, 0.5). (The paper's caption
#' swaps the words "length" and "force"; its column labels read
#' force/length.)
#'
#' @param setting `"A"`, `"B"` or `"C"`.
#' @return A data frame with columns `length` and `force`, one row per
#'   environment, with row names such as `"2/0.85"` (force/length, as in the
#'   paper's column labels). Pass it to [sim_cartpole()].
#' @examples
#' cartpole_settings("C")
#' @export
cartpole_settings <- function(setting = c("A", "B", "C")) {
  setting <- match.arg(setting)
  out <- switch(setting,
                A = data.frame(length = c(0.85, 0.85, 0.85), force = c(2, 5, 10)),
                B = data.frame(length = c(0.15, 0.5, 0.85), force = c(5, 5, 5)),
                C = data.frame(length = c(0.15, 0.85, 0.5), force = c(2, 10, 5)))
  rownames(out) <- paste0(out$force, "/", out$length)
  out
}

#' The CartPole behaviour policy
#'
#' The paper's behaviour policy for CartPole, \eqn{\mathrm{sign}(\theta)}{sign(theta)}: push
#' right (action 1) when the pole leans right (\eqn{\theta > 0}{theta > 0}) and left
#' (action 0) otherwise; with probability `epsilon` the action is instead
#' drawn uniformly from \{0, 1\}, so the other action is taken with
#' probability `epsilon / 2`. This is the policy that generates the data of
#' [sim_cartpole()]; pass it to [evaluate_policy()] for the "behaviour" row
#' of the paper's Table 2.
#'
#' @param epsilon Probability of a uniformly random action, in \[0, 1\].
#' @param gamma Discount factor of the value reported by [evaluate_policy()].
#' @return A `c("cartpole_behaviour_policy", "p4l_policy")` object (greedy,
#'   linear in the raw state) that applies to any id.
#' @examples
#' pol <- cartpole_behaviour_policy(epsilon = 0.1)
#' predict(pol, data.frame(x = 0, x_dot = 0, theta = c(-0.1, 0.1), theta_dot = 0))
#' @export
cartpole_behaviour_policy <- function(epsilon = 0, gamma = 0.99) {
  epsilon <- check_number(epsilon, "epsilon", 0, 1)
  gamma <- check_number(gamma, "gamma", 0, 1, upper.open = TRUE)
  # logits on (1, x, x_dot, theta, theta_dot): 0 for action 0, theta for action 1,
  # so the greedy action is 1 exactly when theta > 0 (ties go to action 0).
  coef <- matrix(0, 5L, 2L)
  coef[4L, 2L] <- 1
  new_p4l_policy("behaviour", "cartpole_behaviour_policy", basis = NULL, gamma = gamma,
                 action.levels = c(0L, 1L), action.type = "integer",
                 state.names = cartpole_state_names(), id.column = "id", ids = character(0),
                 slot = integer(0), policy.coef = list(coef), greedy = TRUE, epsilon = epsilon,
                 raw.state = TRUE)
}

#' Simulate heterogeneous CartPole trajectories
#'
#' Simulates `num.traj` episodes in each CartPole environment of `settings`
#' (see [env_cartpole()] for the dynamics) under the behaviour policy of
#' [cartpole_behaviour_policy()], as in Section 6.2 of the paper. Each
#' episode is one individual: it starts from a uniform state on
#' \eqn{[-0.05, 0.05]^4} and runs until the pole falls or the cart leaves the
#' track, or until `max.steps` steps.
#'
#' The paper's behaviour policy is deterministic (`epsilon = 0`): it never
#' takes the action opposite to \eqn{\mathrm{sign}(\theta)}{sign(theta)}, so the data say
#' nothing about that action and no offline method can learn when to take
#' it. The default `epsilon = 0.3` takes a uniformly random action on 30\% of
#' the steps (the opposite action on 15\%), which covers both actions
#' everywhere the behaviour policy goes. In the environments of
#' [cartpole_settings()] its episodes are somewhat shorter than the
#' deterministic policy's (30 to 120 steps against 30 to 130), and much
#' shorter where the deterministic policy balances for long (force 2, length
#' 0.85: 170 instead of 255 steps). With
#' per-environment fitted-Q iteration on 32 RBF features and \eqn{\gamma =
#' 0.9}{gamma = 0.9}, 0.3 gave better policies than 0.2 in 9 of 12 environment-data set
#' pairs of settings B and C (mostly 240 to 300 steps).
#'
#' Every step earns reward 1. A trajectory ends with a row that holds the
#' final state (action and reward `NA`). The logical column `terminal` is
#' `TRUE` on the row whose transition ends in failure; an episode cut at
#' `max.steps` has no `TRUE`, because its last state is not absorbing. Use
#' `p4l_data(..., terminal = "terminal")` to keep that distinction, or
#' `terminal = TRUE` to treat every episode end as absorbing (the same unless
#' some episode reached `max.steps`).
#'
#' @param settings A data frame (or a list) with numeric columns `length`
#'   and `force`, one row per environment, such as [cartpole_settings()].
#'   Row names label the environments (default `"force/length"`).
#' @param num.traj Number of trajectories (individuals) per environment: one
#'   number, or one per environment.
#' @param epsilon Probability of a uniformly random behaviour action (0 is
#'   the paper's deterministic \eqn{\mathrm{sign}(\theta)}{sign(theta)} policy).
#' @param max.steps Largest number of steps per episode (300 in the paper).
#' @param seed Random seed (`NULL` draws one from R's generator). Trajectory
#'   `i` uses its own random stream, so results do not depend on threads.
#' @param num.threads Number of threads (see [p4l-package]).
#'
#' @return A list with
#'   \describe{
#'   \item{`data`}{long data frame with columns `id`, `time`, `action`,
#'     `reward`, `x`, `x_dot`, `theta`, `theta_dot`, `terminal`; one row per
#'     step plus the final-state row. Ready for
#'     `p4l_data(data, "id", "time", "action", "reward", state, terminal =
#'     "terminal")` with `state = c("x", "x_dot", "theta", "theta_dot")`.}
#'   \item{`group`}{factor: the environment of each id, named by id.}
#'   \item{`params`}{data frame of each id's `group`, `length`, `force` and
#'     episode length `steps`.}
#'   \item{`env`}{named list of each id's [env_cartpole()] environment, for
#'     [evaluate_policy()].}
#'   \item{`seed`}{the seed used.}
#'   }
#' @examples
#' sim <- sim_cartpole(cartpole_settings("C"), num.traj = 5, seed = 1)
#' head(sim$data)
#' tapply(sim$params$steps, sim$group, mean)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward",
#'               c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
#' d
#' @export
sim_cartpole <- function(settings, num.traj = 100, epsilon = 0.3, max.steps = 300,
                         seed = NULL, num.threads = NULL) {
  if (is.list(settings) && !is.data.frame(settings)) {
    settings <- tryCatch(as.data.frame(settings), error = function(e) NULL)
  }
  if (!is.data.frame(settings) || nrow(settings) < 1L) {
    stop_arg("`settings` must be a data frame (or list) with columns 'length' and 'force', ",
             "one row per environment.")
  }
  for (col in c("length", "force")) {
    v <- settings[[col]]
    if (is.null(v) || !is.numeric(v) || any(!is.finite(v)) || any(v <= 0)) {
      stop_arg("`settings` must have a positive numeric column '", col, "'.")
    }
  }
  labels <- rownames(settings)
  if (is.null(labels) || identical(labels, as.character(seq_len(nrow(settings))))) {
    labels <- paste0(settings$force, "/", settings$length)
  }
  if (anyDuplicated(labels)) labels <- make.unique(labels)
  if (!is.numeric(num.traj) || !(length(num.traj) %in% c(1L, nrow(settings)))) {
    stop_arg("`num.traj` must be one whole number or one per row of `settings`.")
  }
  sizes <- rep_len(vapply(num.traj, check_count, integer(1), name = "num.traj"), nrow(settings))
  epsilon <- check_number(epsilon, "epsilon", 0, 1)
  max.steps <- check_count(max.steps, "max.steps")
  seed <- resolve_seed(seed)
  num.threads <- resolve_threads(num.threads)
  g <- rep(seq_len(nrow(settings)), sizes)
  len <- as.numeric(settings$length)[g]
  frc <- as.numeric(settings$force)[g]
  raw <- sim_cartpole_cpp(len, frc, epsilon, max.steps, seed, num.threads)
  data <- data.frame(id = as.integer(raw[, 1]), time = as.integer(raw[, 2]),
                     action = as.integer(raw[, 3]), reward = raw[, 4], x = raw[, 5],
                     x_dot = raw[, 6], theta = raw[, 7], theta_dot = raw[, 8],
                     terminal = raw[, 9] == 1)
  ids <- seq_along(g)
  group <- stats::setNames(factor(labels[g], levels = labels), ids)
  steps <- tabulate(data$id[!is.na(data$action)], nbins = length(ids))
  params <- data.frame(id = ids, group = group, length = len, force = frc, steps = steps)
  env <- lapply(ids, function(i) env_cartpole(len[i], frc[i]))
  names(env) <- ids
  list(data = data, group = group, params = params, env = env, seed = seed)
}
