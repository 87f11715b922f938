#' Control settings of fitted-Q iteration
#'
#' @param max.iter Largest number of fitted-Q iterations.
#' @param tol Iterations stop when the largest change of a Q weight is at
#'   most `tol` times max(1, largest weight).
#' @param behaviour.weight Weight \eqn{\kappa \ge 0}{kappa >= 0} of the log
#'   behaviour propensity in the choice of actions (see [fqi()],
#'   "Behaviour-regularised choice"), in units of the Q-function per nat: an
#'   action that the data take e times less often than another must have a
#'   Q-value higher by \eqn{\kappa}{kappa} to be chosen. 0 (the default) is
#'   plain fitted-Q iteration.
#' @return A list of class `fqi_control`.
#' @examples
#' fqi_control(max.iter = 200)
#' fqi_control(behaviour.weight = 0.1)
#' @export
fqi_control <- function(max.iter = 1000, tol = 1e-8, behaviour.weight = 0) {
  structure(list(max.iter = check_count(max.iter, "max.iter"),
                 tol = check_number(tol, "tol", lower = 0, lower.open = TRUE),
                 behaviour.weight = check_number(behaviour.weight, "behaviour.weight",
                                                 lower = 0)),
            class = "fqi_control")
}

#' Fitted-Q iteration
#'
#' One policy for everybody (pooled data), from fitted-Q iteration (Munos
#' 2003; Le, Voloshin and Yue 2019) with a linear Q-function on the shared
#' basis: \eqn{Q(s, a) = \psi(s)^\top w_a}{Q(s, a) = psi(s)' w_a}. From \eqn{w = 0}, each iteration
#' regresses the targets \eqn{R + \gamma \max_{a'} Q(S', a')}{R + gamma max_(a') Q(S', a')} (just \eqn{R} for
#' terminal transitions) on the features of the transitions that took each
#' action,
#' \deqn{w_a \leftarrow \arg\min_w \sum_{A = a} (y - \psi(S)^\top w)^2 + \mathrm{ridge}\, n \|w\|^2,}{w_a <- arg min_w sum_(A = a) (y - psi(S)' w)^2 + ridge n ||w||^2,}
#' (n the number of transitions; the intercept is penalised too) until the
#' weights stop changing. The policy is greedy in the fitted Q-function.
#'
#' **Behaviour-regularised choice.** Plain fitted-Q iteration maximises over
#' every action, including actions the data take rarely in a state, whose
#' Q-values rest on a few transitions; with a nearly deterministic behaviour
#' policy (clinicians who follow a protocol) the maximum then picks the
#' lucky ones, and the greedy policy can be far worse than the behaviour
#' policy (`bench/README.md`, "Bases for discrete states"). With
#' `control = fqi_control(behaviour.weight = kappa)`, `kappa > 0`, `fqi()`
#' first fits the behaviour policy \eqn{b}{b} on the same basis (the model of
#' [behaviour_policy()], with this `ridge`) and chooses actions by
#' \deqn{a^*(s) = \arg\max_a Q(s, a) + \kappa \log b(a \mid s),}{a*(s) = argmax_a Q(s, a) + kappa log b(a | s),}
#' both in the targets, \eqn{R + \gamma Q(S', a^*(S'))}{R + gamma Q(S', a*(S'))}, and in the
#' returned policy: the greedy step of KL-regularised policy improvement
#' toward the behaviour policy (the policy \eqn{\propto b \exp(Q / \kappa)}{proportional to b exp(Q / kappa)}).
#' Since \eqn{\log b(a \mid s) = \psi(s)^\top \beta_a}{log b(a | s) = psi(s)' beta_a} up to a term that does not
#' depend on the action, the policy stays linear in the features, with
#' coefficients `q.coef + kappa * behaviour.coef` (`policy.coef`);
#' `predict(type = "q")` still gives Q. Large `kappa` gives the behaviour
#' policy's most frequent action in every state; `kappa` is a tuning
#' parameter (compare fits with [policy_value()] or [tune_p4l()]-style
#' held-out evaluation). The Bellman residual RMSE in `convergence` is that
#' of the regularised targets.
#'
#' @param data A [p4l_data()] object.
#' @param gamma Discount factor in \[0, 1).
#' @param basis Any basis (class `p4l_basis`: [rbf_basis()],
#'   [indicator_basis()], [linear_basis()], [basis_product()], ...) built on
#'   the data's state columns; `NULL` builds [default_basis()] from `data`
#'   (on continuous states the paper's basis: 16 centres by K-means,
#'   median-distance bandwidth, seeded by `seed`).
#' @param ridge Ridge penalty per transition (see Details); 0 is allowed when
#'   every action's regression is well posed.
#' @param control Settings from [fqi_control()].
#' @param num.threads Number of threads (see [p4l-package]).
#' @param seed Random seed for the basis (`NULL` draws one from R's generator).
#' @param verbose Print a one-line convergence report.
#' @return An object of class `c("fqi_fit", "p4l_policy")` (see
#'   [predict.p4l_policy()]), with one greedy policy (`q.coef` = `policy.coef`,
#'   a d x |A| matrix; with a behaviour weight, `policy.coef` = `q.coef` +
#'   `behaviour.weight` x `behaviour.coef`, the behaviour model's logit
#'   coefficients) and `convergence` (iterations, converged, change, Bellman
#'   residual RMSE).
#' @references Munos, R. (2003). Error bounds for approximate policy iteration. ICML.
#'   Le, H., Voloshin, C. and Yue, Y. (2019). Batch policy learning under constraints. ICML.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- fqi(d, seed = 1)
#' fit
#' predict(fit, data.frame(s1 = c(-1, 1), s2 = c(1, -1)), type = "q")
#' @export
fqi <- function(data, gamma = 0.8, basis = NULL, ridge = 1e-4, control = fqi_control(),
                num.threads = NULL, seed = NULL, verbose = FALSE) {
  cl <- match.call()
  check_p4l_data_arg(data)
  ea <- estimator_args(gamma, ridge, control, "fqi_control", num.threads, verbose, seed)
  feat <- estimator_features(data, basis, ea$seed, ea$num.threads, guard = function(d)
    guard_fqi(data, d, ea$num.threads))  # R/memory.R
  kappa <- ea$control$behaviour.weight
  beh <- fqi_behaviour(data, feat, ea$ridge, kappa, ea$num.threads)
  res <- fqi_fit_features(data, feat$psi, feat$psi.next, ea$gamma, ea$ridge, ea$control,
                          ea$num.threads, choice = if (is.null(beh)) NULL else kappa * beh)
  W <- name_coef(res$W, feat$basis, data$action.levels)
  P <- if (is.null(beh)) W else W + kappa * beh
  conv <- res[c("iterations", "converged", "change", "bellman.rmse")]
  if (!res$converged) {
    warning("fqi() did not converge in ", ea$control$max.iter, " iterations (last relative ",
            "change ", format(res$change, digits = 3), "); increase `ridge` or ",
            "`control$max.iter`.", call. = FALSE)
  }
  if (verbose) {
    message("fqi: ", res$iterations, " iterations, converged = ", res$converged,
            ", Bellman residual RMSE ", format(res$bellman.rmse, digits = 4))
  }
  baseline_policy("fqi", "fqi_fit", data, feat$basis, ea$gamma,
                  slot = rep(1L, length(data$ids)), policy.coef = list(P), q.coef = list(W),
                  greedy = TRUE, call = cl, ridge = ea$ridge, control = ea$control,
                  convergence = conv, seed = ea$seed, behaviour.weight = kappa,
                  behaviour.coef = beh)
}

# The behaviour model's logit coefficients (d x |A|, named like the Q
# weights) for a behaviour-regularised fqi(), or NULL when kappa is 0.
fqi_behaviour <- function(data, feat, ridge, kappa, num.threads) {
  if (!(kappa > 0)) return(NULL)
  bm <- fit_multinom(feat$psi, data$A, length(data$action.levels), ridge, 100L, 1e-8,
                     num.threads = num.threads)
  if (!bm$converged) {
    warning("fqi(): the behaviour model did not converge in 100 Newton iterations; ",
            "increase `ridge`.", call. = FALSE)
  }
  name_coef(bm$W, feat$basis, data$action.levels)
}

# FQI on given features (n x d for S and S'); returns the raw core result.
# Used by fqi() and by tests with custom (e.g. one-hot) features.
# choice: NULL, or the d x |A| offset kappa B of a behaviour-regularised fit.
fqi_fit_features <- function(data, psi, psi.next, gamma = 0.8, ridge = 1e-4,
                             control = fqi_control(), num.threads = 1L, choice = NULL) {
  if (is.null(choice)) choice <- matrix(0, 0, 0)
  fqi_cpp(transition_inputs(data, psi, psi.next), gamma, ridge, control, unname(choice),
          num.threads)
}
