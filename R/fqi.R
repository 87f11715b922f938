#' Control settings of fitted-Q iteration
#'
#' @param max.iter Largest number of fitted-Q iterations.
#' @param tol Iterations stop when the largest change of a Q weight is at
#'   most `tol` times max(1, largest weight).
#' @return A list of class `fqi_control`.
#' @examples
#' fqi_control(max.iter = 200)
#' @export
fqi_control <- function(max.iter = 1000, tol = 1e-8) {
  structure(list(max.iter = check_count(max.iter, "max.iter"),
                 tol = check_number(tol, "tol", lower = 0, lower.open = TRUE)),
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
#'   a d x |A| matrix) and `convergence` (iterations, converged, change,
#'   Bellman residual RMSE).
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
  res <- fqi_fit_features(data, feat$psi, feat$psi.next, ea$gamma, ea$ridge, ea$control,
                          ea$num.threads)
  W <- name_coef(res$W, feat$basis, data$action.levels)
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
                  slot = rep(1L, length(data$ids)), policy.coef = list(W), q.coef = list(W),
                  greedy = TRUE, call = cl, ridge = ea$ridge, control = ea$control,
                  convergence = conv, seed = ea$seed)
}

# FQI on given features (n x d for S and S'); returns the raw core result.
# Used by fqi() and by tests with custom (e.g. one-hot) features.
fqi_fit_features <- function(data, psi, psi.next, gamma = 0.8, ridge = 1e-4,
                             control = fqi_control(), num.threads = 1L) {
  fqi_cpp(transition_inputs(data, psi, psi.next), gamma, ridge, control, num.threads)
}
