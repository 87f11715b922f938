# The environments: one p4l_env object per simulator (the paper's 2-D
# model, CartPole, the ICU course, a fitted persim() simulator), env_step()
# and the print method. Each simulator's data generator is in
# R/sim_<name>.R (R/persim.R for the fitted simulator); Monte Carlo policy
# evaluation in them is in R/evaluate.R.

#' The paper's 2-D environment
#'
#' An environment object for the 2-D simulator (see [sim_linear2d()] for the
#' equations), used by [evaluate_policy()] and [env_step()].
#'
#' @param c1,c2 Transition parameters.
#' @param reward.sign 1 for the paper's reward, -1 for the reversed reward.
#' @return An object of class `p4l_env`: `type`, `params`, `actions` (the
#'   action values 0 and 1), `state.names`, `initial` (a description of the
#'   initial state distribution).
#' @examples
#' env <- env_linear2d(0.6, 0.4)
#' env_step(env, c(1, -1), action = 1, seed = 1)
#' @export
env_linear2d <- function(c1, c2, reward.sign = 1) {
  c1 <- check_number(c1, "c1")
  c2 <- check_number(c2, "c2")
  if (!(identical(as.numeric(reward.sign), 1) || identical(as.numeric(reward.sign), -1))) {
    stop_arg("`reward.sign` must be 1 or -1.")
  }
  structure(list(type = "linear2d", params = c(c1 = c1, c2 = c2, reward.sign = reward.sign),
                 actions = c(0, 1), state.names = c("s1", "s2"), initial = "N(0, I2)"),
            class = "p4l_env")
}

#' The heterogeneous CartPole environment
#'
#' The classic CartPole control problem (Barto, Sutton and Anderson, 1983; the
#' OpenAI Gym version used in Section 6.2 of the paper), simulated in C++,
#' with the pole's length and the push force as parameters.
#'
#' The state is \eqn{(x, \dot x, \theta, \dot\theta)}{(x, x', theta, theta')}: the cart's position
#' and velocity, the pole's angle (radians, positive when leaning right) and
#' angular velocity. Action 0 pushes the cart left and action 1 right with a
#' force of magnitude `force`, \eqn{F = \pm f}{F = +/- f} (f = `force`). With gravity
#' \eqn{g = 9.8}, cart mass \eqn{m_c = 1}, pole mass \eqn{m_p = 0.1},
#' \eqn{M = m_c + m_p}, \eqn{l} = `length` (half the pole's length) and
#' \eqn{\tau = 0.02}{tau = 0.02},
#' \deqn{q = (F + m_p l \dot\theta^2 \sin\theta) / M,}{q = (F + m_p l theta'^2 sin theta) / M,}
#' \deqn{\ddot\theta = (g \sin\theta - q \cos\theta) / (l (4/3 - m_p \cos^2\theta / M)),}{theta'' = (g sin theta - q cos theta) / (l (4/3 - m_p cos^2 theta / M)),}
#' \deqn{\ddot x = q - m_p l \ddot\theta \cos\theta / M,}{x'' = q - m_p l theta'' cos theta / M,}
#' and one step is the explicit Euler update \eqn{x \leftarrow x + \tau \dot x}{x <- x + tau x'},
#' \eqn{\dot x \leftarrow \dot x + \tau \ddot x}{x' <- x' + tau x''}, \eqn{\theta \leftarrow \theta
#' + \tau \dot\theta}{theta <- theta + tau theta'}, \eqn{\dot\theta \leftarrow \dot\theta + \tau
#' \ddot\theta}{theta' <- theta' + tau theta''}. Every step earns reward 1; the episode ends (`done`) when
#' the new state has \eqn{|x| > 2.4} or \eqn{|\theta| > 12}{|theta| > 12} degrees. The
#' initial state is uniform on \eqn{[-0.05, 0.05]^4}. The dynamics are
#' deterministic.
#'
#' The paper caps episodes at 300 steps: evaluate policies with
#' `evaluate_policy(policy, env, horizon = 300)`, whose `steps` column is the
#' mean episode length (the value reported in the paper's Table 2) and whose
#' `value` column is the discounted return \eqn{(1 - \gamma^{L}) / (1 -
#' \gamma)}{(1 - gamma^L) / (1 - gamma)} averaged over episodes of length \eqn{L}.
#'
#' @param length Half the pole's length (positive; Gym's default 0.5).
#' @param force Magnitude of the push (positive; Gym's default 10).
#' @return An object of class `p4l_env` (see [env_linear2d()]) with `type`
#'   `"cartpole"`, `params` `c(length, force)`, `actions` `c(0, 1)` and
#'   `state.names` `c("x", "x_dot", "theta", "theta_dot")`.
#' @seealso [sim_cartpole()], [cartpole_behaviour_policy()], [env_step()],
#'   [evaluate_policy()]
#' @examples
#' env <- env_cartpole(length = 0.85, force = 5)
#' env
#' env_step(env, c(0, 0, 0.01, 0), action = 1)
#' # the paper's behaviour policy, episodes capped at 300 steps
#' evaluate_policy(cartpole_behaviour_policy(), env, ids = 1, num.episodes = 50,
#'                 horizon = 300, seed = 1)
#' @export
env_cartpole <- function(length = 0.5, force = 10) {
  length <- check_number(length, "length", 0, lower.open = TRUE)
  force <- check_number(force, "force", 0, lower.open = TRUE)
  structure(list(type = "cartpole", params = c(length = length, force = force),
                 actions = c(0, 1), state.names = cartpole_state_names(),
                 initial = "U[-0.05, 0.05]^4"),
            class = "p4l_env")
}

cartpole_state_names <- function() c("x", "x_dot", "theta", "theta_dot")

#' The ICU course environment
#'
#' A small episodic model of a critically ill patient's course, with a hidden
#' subgroup that responds differently to one treatment, and an exact tabular
#' optimum ([icu_optimum()]). Used by [sim_icu()], [evaluate_policy()] and
#' [env_step()].
#'
#' @section States and actions:
#' The state has six numbers: three organ scores coded like SOFA subscores,
#' 0 (normal) to 4 (organ failure), `sofa_cardio` (circulation),
#' `sofa_resp` (lungs) and `sofa_renal` (kidneys); and three 0/1 flags,
#' `on_fluids`, `on_vaso`, `on_vent`, recording the treatment given at the
#' previous decision (all 0 on admission). That makes \eqn{5^3 \times 2^3 =
#' 1000}{5^3 x 2^3 = 1000} states. The 8 actions are all combinations of three treatments,
#' IV fluids, a vasopressor and mechanical ventilation, labelled `"none"`,
#' `"fluids"`, `"vaso"`, `"fluids+vaso"`, `"vent"`, `"fluids+vent"`,
#' `"vaso+vent"`, `"fluids+vaso+vent"` (in this order: the code of an action
#' is fluids + 2 vaso + 4 vent, 0 to 7).
#'
#' @section One step:
#' From scores \eqn{x} and flags \eqn{f} under action \eqn{a = (F, V, M)}:
#' \enumerate{
#' \item The patient dies with probability \eqn{h = 0.001 + d(x_c) + d(x_r)
#'   + d(x_k) + 0.003 V + 0.005 M}, where \eqn{d(0..4) = (0, 0.002, 0.008,
#'   0.02, 0.05)}: reward -1, absorbing.
#' \item Otherwise, when all three scores are 0 and the action is `"none"`
#'   (every treatment stopped), the patient is discharged with probability
#'   0.8: reward +1, absorbing. Discharge is impossible in every other state
#'   or under any other action.
#' \item Otherwise the patient stays (reward 0): each score independently
#'   improves by one with probability `imp`, worsens by one with probability
#'   `wor`, or stays (a score of 0 cannot improve and a score of 4 cannot
#'   worsen: that move becomes "stay"). The flags of the next state are the
#'   action just taken.
#' }
#' \tabular{lll}{
#'   score \tab improve (`imp`) \tab worsen (`wor`) \cr
#'   cardio \tab 0.05 + 0.35 F (typical; 0 atypical) + 0.30 V \tab 0.20 + 0.25 if `on_vaso` = 1, V = 0 and cardio \eqn{\ge}{>=} 1 (rebound) \cr
#'   resp \tab 0.05 + 0.45 M \tab 0.15 + 0.30 F (atypical; typical: 0.10 F only when cardio = 0) + 0.25 if `on_vent` = 1, M = 0 and resp \eqn{\ge}{>=} 2 (failed extubation) \cr
#'   renal \tab 0.15 + 0.25 F (typical; 0 atypical) \tab 0.05 + 0.15 if cardio \eqn{\ge}{>=} 3 (hypoperfusion) + 0.05 V \cr
#' }
#' The "atypical" subgroup is fluid-intolerant (think of heart failure):
#' fluids neither raise its blood pressure nor help its kidneys, and flood its
#' lungs. Its optimal policy treats shock with the vasopressor alone, while
#' the typical optimum gives fluids.
#'
#' When the episode ends (`done`), the scores of the returned state are those
#' of the last state and its flags record the last action.
#'
#' @section Values:
#' At \eqn{\gamma = 0.99}{gamma = 0.99} ([icu_optimum()]) the optimal value is 0.517 for
#' typical and -0.041 for atypical patients; the clinicians' policy of
#' [sim_icu()] (5% noise) reaches 0.497 and -0.311, and the typical optimum
#' followed without noise -0.284 for atypical patients. Under the optimal
#' policies 21% of the typical and 51% of the atypical patients die. The
#' atypical optimum gives the vasopressor and ventilation where the typical
#' one adds fluids (94% of the states differ), so in the clinicians' data the
#' actions that are best for atypical patients ("vaso", "vaso+vent") occur
#' mostly through the noise: each under 1% of their decisions.
#'
#' @section Initial state:
#' Each score is drawn independently with probabilities 0.20, 0.30, 0.25,
#' 0.15, 0.10 for 0 to 4; the flags are 0. The subgroup is fixed for the
#' whole episode.
#'
#' @param subgroup `"typical"` or `"atypical"` (the hidden fluid-intolerant
#'   subgroup).
#' @return An object of class `p4l_env` (see [env_linear2d()]) with `type`
#'   `"icu"`, `params` `c(atypical = 0 or 1)`, `actions` the 8 labels,
#'   `state.names` the six state columns and `subgroup`.
#' @seealso [sim_icu()], [icu_optimum()], [icu_policy_value()],
#'   [icu_transitions()]
#' @examples
#' env <- env_icu("atypical")
#' env
#' s <- c(sofa_cardio = 3, sofa_resp = 1, sofa_renal = 2, on_fluids = 0,
#'        on_vaso = 0, on_vent = 0)
#' env_step(env, s, action = "vaso", seed = 1)
#' @export
env_icu <- function(subgroup = c("typical", "atypical")) {
  if (!is.character(subgroup) && !is.factor(subgroup)) {
    stop_arg("`subgroup` must be \"typical\" or \"atypical\".")
  }
  subgroup <- if (length(subgroup) == 2L && identical(as.character(subgroup), icu_subgroups()))
    "typical" else check_subgroup(subgroup)
  structure(list(type = "icu", params = c(atypical = as.numeric(subgroup == "atypical")),
                 actions = icu_action_labels(), state.names = icu_state_names(),
                 initial = "scores iid (0.20, 0.30, 0.25, 0.15, 0.10) on 0..4, flags 0",
                 subgroup = subgroup),
            class = "p4l_env")
}

#' Environments of a personalised simulator
#'
#' One [p4l_env][env_linear2d] per individual of a [persim()] fit, for
#' [evaluate_policy()], [compare_policies()] and [env_step()]. Both
#' functions also accept the `p4l_persim` object itself as `env`.
#'
#' @param object A `p4l_persim` object.
#' @param ids Individuals (default: all of the fit's ids).
#' @return A list of `p4l_env` objects of type `"persim"`, named by id.
#' @examples
#' sim <- sim_linear2d(num.per.group = 2, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' env <- persim_env(persim(d, rank = 2, seed = 1))
#' env[[1]]
#' env_step(env[[1]], c(0, 0), action = 1, seed = 1)
#' @export
persim_env <- function(object, ids = NULL) {
  if (!inherits(object, "p4l_persim")) stop_arg("`object` must be a persim() fit.")
  if (is.null(ids)) ids <- object$ids
  k <- match_ids(ids, object$ids)
  if (anyNA(k)) {
    stop_arg("`ids` has individual(s) the simulator was not fitted on: ",
             paste(utils::head(format(ids[is.na(k)]), 5), collapse = ", "), ".")
  }
  pack <- persim_params(object)
  env <- lapply(k, function(j) {
    structure(list(type = "persim", params = pack(j),
                   actions = object$action.levels, state.names = object$state.names,
                   initial = if (object$initial.type == "own") "the individual's first state" else
                     "normal fitted to the first states", id = object$ids[j]),
              class = "p4l_env")
  })
  names(env) <- as.character(object$ids[k])
  env
}

#' Take one step in an environment
#'
#' @param env A `p4l_env` object such as [env_linear2d()].
#' @param state Numeric state vector (in the order of `env$state.names`).
#' @param action One of `env$actions`.
#' @param seed Random seed for the transition noise (`NULL` draws one from
#'   R's generator).
#' @return A list with the next `state`, the `reward` and `done` (whether the
#'   next state is absorbing).
#' @examples
#' env <- env_linear2d(c1 = 0.2, c2 = -0.2)
#' env_step(env, state = c(1, -1), action = 1, seed = 1)
#' # a short episode under the action 0
#' s <- c(0, 0)
#' for (t in 1:3) s <- env_step(env, s, action = 0, seed = t)$state
#' s
#' @export
env_step <- function(env, state, action, seed = NULL) {
  if (!inherits(env, "p4l_env")) stop_arg("`env` must be a p4l_env object.")
  if (!is.numeric(state) || length(state) != length(env$state.names) || any(!is.finite(state))) {
    stop_arg("`state` must be a finite numeric vector of length ", length(env$state.names),
             " (", paste(env$state.names, collapse = ", "), ").")
  }
  a <- match(as.character(action), as.character(env$actions))
  if (length(action) != 1L || is.na(a)) {
    stop_arg("`action` must be one of ", paste(env$actions, collapse = ", "), ".")
  }
  out <- env_step_cpp(env$type, as.numeric(env$params), as.numeric(state), a - 1L,
                      resolve_seed(seed))
  out$state <- stats::setNames(as.numeric(out$state), env$state.names)
  out
}

#' @export
print.p4l_env <- function(x, ...) {
  if (identical(x$type, "persim")) {
    cat("<p4l_env> persim: personalised simulator of individual ", format(x$id), " (rank ",
        x$params[3], ", ", length(x$params), " parameters)\n", sep = "")
  } else {
    cat("<p4l_env> ", x$type, ": ", paste(names(x$params), format(x$params), sep = " = ",
                                           collapse = ", "), "\n", sep = "")
  }
  cat("  actions: ", paste(x$actions, collapse = ", "), "; states: ",
      paste(x$state.names, collapse = ", "), "; initial state ~ ", x$initial, "\n", sep = "")
  invisible(x)
}
