#' Fit the behaviour policy of observed data
#'
#' A pooled multinomial logistic model of the observed action given the state
#' features, \eqn{b(a \mid s) \propto \exp(\psi(s)^\top \beta_a)} with
#' \eqn{\beta} of the first action fixed at 0 (the reference), fitted by
#' penalised Newton iterations (deterministic) on all transitions:
#' \deqn{\max_\beta \sum_t \log b(A_t \mid S_t) - \frac{\mathrm{ridge}\, n}{2}
#'   \sum_{a} \|\beta_a\|^2_{-1},}
#' where \eqn{n} is the number of transitions and the intercepts are not
#' penalised. It estimates the clinicians' (or the study's) policy: the
#' propensities that the importance weights of [policy_value()] (`"dr"`,
#' `"wis"`) divide by, and a "clinicians" row for a report. The result is a
#' `p4l_policy`, so [predict.p4l_policy()], [evaluate_policy()] and
#' [policy_value()] accept it.
#'
#' Propensities close to 0 make importance weights large: `print()` and
#' `summary()` show the smallest fitted propensity of an observed action and
#' how many transitions have one below 0.01.
#'
#' @param data A [p4l_data()] object.
#' @param basis Any basis (class `p4l_basis`) on the data's states; `NULL`
#'   builds [default_basis()] from `data` (seeded by `seed`), as [fqi()] does.
#' @param ridge Ridge penalty per transition on the non-intercept
#'   coefficients (see Details); 0 is allowed when the fit is well posed.
#' @param gamma Discount factor stored with the policy (used by
#'   [evaluate_policy()] and [policy_value()] when they are not given one).
#' @param max.iter Largest number of Newton iterations.
#' @param tol Iterations stop when the largest change of a coefficient is at
#'   most `tol` times max(1, largest coefficient), or when a step raises the
#'   penalised log-likelihood by less than 1e-10 of its size.
#' @param num.threads Number of threads (see [p4l-package]).
#' @param seed Random seed for the basis (`NULL` draws one from R's generator).
#' @return An object of class `c("behaviour_policy", "p4l_policy")`: one
#'   pooled, non-greedy policy (`policy.coef`, a d x |A| matrix of logit
#'   coefficients, first column 0) with `loglik`, `num.parameters`,
#'   `min.propensity` (smallest fitted probability of an observed action),
#'   `num.small` (transitions whose observed action has fitted probability
#'   below 0.01), `iterations` and `converged`.
#' @seealso [policy_value()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' bp <- behaviour_policy(d, seed = 1)
#' bp
#' head(predict(bp, d, type = "prob"))
#' @export
behaviour_policy <- function(data, basis = NULL, ridge = 1e-4, gamma = 0.8, max.iter = 100,
                             tol = 1e-8, num.threads = NULL, seed = NULL) {
  cl <- match.call()
  check_p4l_data_arg(data)
  ridge <- check_ridge(ridge)
  gamma <- check_gamma(gamma)
  max.iter <- check_count(max.iter, "max.iter")
  tol <- check_number(tol, "tol", lower = 0, lower.open = TRUE)
  num.threads <- resolve_threads(num.threads)
  seed <- resolve_seed(seed)
  basis <- resolve_basis(basis, data, seed, num.threads)
  psi <- basis_features(basis, data$S, num.threads)
  fit <- fit_multinom(psi, data$A, length(data$action.levels), ridge, max.iter, tol,
                      num.threads = num.threads)
  if (!fit$converged) {
    warning("behaviour_policy() did not converge in ", max.iter, " Newton iterations; ",
            "increase `ridge` or `max.iter`.", call. = FALSE)
  }
  W <- name_coef(fit$W, basis, data$action.levels)
  prop <- fit$prob[cbind(seq_along(data$A), data$A)]
  baseline_policy("behaviour", "behaviour_policy", data, basis, gamma,
                  slot = rep(1L, length(data$ids)), policy.coef = list(W), q.coef = NULL,
                  greedy = FALSE, call = cl, ridge = ridge, seed = seed,
                  loglik = fit$loglik, num.parameters = nrow(W) * (ncol(W) - 1L),
                  min.propensity = min(prop), num.small = sum(prop < 0.01),
                  iterations = fit$iterations, converged = fit$converged)
}

#' @export
print.behaviour_policy <- function(x, ...) {
  cat("<behaviour_policy> multinomial logistic model of the observed actions\n", sep = "")
  cat("  actions: ", paste(as.character(x$action.levels), collapse = ", "), "; states: ",
      paste(x$state.names, collapse = ", "), "\n", sep = "")
  cat("  ", x$num.transitions, " transitions, ", x$num.parameters, " parameters, ",
      "log-likelihood ", format(x$loglik, digits = 6), "\n", sep = "")
  cat("  smallest fitted propensity of an observed action: ",
      format(x$min.propensity, digits = 3), "; ", x$num.small, " transition(s) below 0.01\n",
      sep = "")
  if (!isTRUE(x$converged)) cat("  WARNING: Newton iterations did not converge\n")
  invisible(x)
}

#' @export
summary.behaviour_policy <- function(object, ...) {
  out <- object[c("loglik", "num.parameters", "num.transitions", "min.propensity",
                  "num.small", "iterations", "converged", "ridge")]
  out$coef <- object$policy.coef[[1]]
  class(out) <- "summary.behaviour_policy"
  out
}

#' @export
print.summary.behaviour_policy <- function(x, ...) {
  cat("Behaviour policy: multinomial logistic model (reference action ",
      colnames(x$coef)[1], ")\n", sep = "")
  cat("  transitions: ", x$num.transitions, "; parameters: ", x$num.parameters,
      "; ridge: ", x$ridge, "\n", sep = "")
  cat("  log-likelihood: ", format(x$loglik, digits = 6), "; Newton iterations: ",
      x$iterations, if (isTRUE(x$converged)) " (converged)" else " (NOT converged)", "\n",
      sep = "")
  cat("  smallest fitted propensity of an observed action: ",
      format(x$min.propensity, digits = 3), "\n", sep = "")
  cat("  transitions with propensity < 0.01: ", x$num.small, "\n", sep = "")
  cat("Coefficients (logits relative to the reference action):\n")
  print(round(x$coef[, -1L, drop = FALSE], 4))
  invisible(x)
}
