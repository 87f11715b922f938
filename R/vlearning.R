#' Control settings of V-learning
#'
#' @param reference The reference state distribution over which the value of
#'   a policy is averaged: `"states"` (default), the states of all
#'   transitions in the data, or `"initial"`, each individual's first state.
#' @param policy.ridge Penalty \eqn{(\kappa/2)\|\beta\|^2}{(kappa/2)||beta||^2} on the softmax
#'   policy coefficients; keeps them finite when the best policy is
#'   deterministic.
#' @param max.iter Largest number of gradient-ascent iterations.
#' @param tol The ascent stops when an iteration gains less than
#'   `tol * (1 + |objective|)`.
#' @param propensity.ridge Ridge penalty per transition of the multinomial
#'   logistic regression that estimates the behaviour propensities.
#' @return A list of class `vlearning_control`.
#' @examples
#' vlearning_control(reference = "initial")
#' @export
vlearning_control <- function(reference = c("states", "initial"), policy.ridge = 1e-4,
                              max.iter = 500, tol = 1e-9, propensity.ridge = 1e-6) {
  if (!is.character(reference) || length(reference) < 1L ||
      !(reference[1] %in% c("states", "initial"))) {
    stop_arg("`reference` must be \"states\" or \"initial\".")
  }
  reference <- reference[1]
  structure(list(reference = reference,
                 policy.ridge = check_number(policy.ridge, "policy.ridge", lower = 0),
                 max.iter = check_count(max.iter, "max.iter"),
                 tol = check_number(tol, "tol", lower = 0, lower.open = TRUE),
                 propensity.ridge = check_number(propensity.ridge, "propensity.ridge", lower = 0)),
            class = "vlearning_control")
}

#' V-learning
#'
#' One softmax policy for everybody (pooled data), chosen to maximise the
#' V-learning estimate of its value (Luckett et al. 2019).
#'
#' **Value of a policy.** For the softmax policy
#' \eqn{\pi_\beta(a \mid s) \propto \exp(\psi(s)^\top \beta_a)}{pi_beta(a | s) proportional to exp(psi(s)' beta_a)} (first
#' action's \eqn{\beta}{beta} fixed at 0), the state-value function
#' \eqn{V(s) = \psi(s)^\top \theta}{V(s) = psi(s)' theta} solves the importance-weighted estimating
#' equation of Luckett et al.,
#' \deqn{\Lambda(\theta) = \frac1n \sum \frac{\pi_\beta(A \mid S)}{\mu(A \mid S)}
#'   \{R + \gamma V(S') - V(S)\} \psi(S) = 0}{Lambda(theta) = 1/n sum (pi_beta(A | S))/(mu(A | S)) {R + gamma V(S') - V(S)} psi(S) = 0}
#' (no \eqn{V(S')} term for terminal transitions), regularised as
#' \eqn{\hat\theta = \arg\min \|\Lambda(\theta)\|^2 + \mathrm{ridge}\,\|\theta\|^2}{theta.hat = arg min ||Lambda(theta)||^2 + ridge ||theta||^2}.
#' The value is \eqn{\hat\theta^\top \bar\psi}{theta.hat' psi-bar}, \eqn{\bar\psi}{psi-bar} the mean features
#' of the reference distribution (`control$reference`).
#'
#' **Optimisation.** The value minus `control$policy.ridge / 2` times
#' \eqn{\|\beta\|^2}{||beta||^2} is maximised by gradient ascent in C++ (exact gradient,
#' Barzilai-Borwein steps with Armijo backtracking), from the uniform policy.
#'
#' **Propensities.** \eqn{\mu(A \mid S)}{mu(A | S)}, the behaviour policy's probability
#' of each observed action, is
#' \itemize{
#'   \item `NULL` (default): estimated by multinomial logistic regression of
#'     the action on the standardised raw state (an intercept and one slope
#'     per state dimension and action; Newton's method in C++). This is a
#'     state-only, stationary behaviour model; give the propensities when the
#'     behaviour policy depends on more than the current state.
#'   \item a numeric vector with one probability per transition of `data`
#'     (in the order of `as.data.frame(data)`), the probability of the action
#'     taken;
#'   \item an n x |A| matrix of probabilities (columns in the order of
#'     `data$action.levels`, or named by action);
#'   \item a function of a data frame of states returning such a matrix.
#' }
#'
#' @inheritParams fqi
#' @param propensity Behaviour propensities (see Details).
#' @param ridge Ridge penalty \eqn{\lambda}{lambda} of the estimating equation.
#' @param control Settings from [vlearning_control()].
#' @return An object of class `c("vlearning_fit", "p4l_policy")` with one
#'   softmax policy (`policy.coef`), no Q-function (`predict(type = "q")` is
#'   an error), `value` (the V-learning estimate of the fitted policy's value),
#'   `value.coef` (\eqn{\hat\theta}{theta.hat}), `propensity` (the \eqn{\mu}{mu} used),
#'   `propensity.coef` (when estimated) and `convergence`.
#' @references Luckett, D. J., Laber, E. B., Kahkoska, A. R., Maahs, D. M.,
#'   Mayer-Davis, E. and Kosorok, M. R. (2019). Estimating dynamic treatment
#'   regimes in mobile health using V-learning. JASA 115, 692-706.
#' @examples
#' sim <- sim_linear2d(num.per.group = 3, T = 30, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- vlearning(d, propensity = rep(0.5, length(d$R)), seed = 1)
#' fit$value
#' predict(fit, data.frame(s1 = c(-1, 1), s2 = c(1, -1)), type = "prob")
#' @export
vlearning <- function(data, gamma = 0.8, basis = NULL, propensity = NULL, ridge = 1e-4,
                      control = vlearning_control(), num.threads = NULL, seed = NULL,
                      verbose = FALSE) {
  cl <- match.call()
  check_p4l_data_arg(data)
  ea <- estimator_args(gamma, ridge, control, "vlearning_control", num.threads, verbose, seed)
  prop <- resolve_propensity(propensity, data, ea$control)
  feat <- estimator_features(data, basis, ea$seed, ea$num.threads, guard = function(d)
    guard_vlearning(data, d))  # R/memory.R
  ref <- if (ea$control$reference == "states") feat$psi else
    basis_features(feat$basis, data$S0, ea$num.threads)
  nu <- colMeans(ref)
  res <- vlearning_fit_features(data, feat$psi, feat$psi.next, prop$mu, nu, ea$gamma, ea$ridge,
                                ea$control, ea$num.threads)
  beta <- name_coef(res$beta, feat$basis, data$action.levels)
  theta <- stats::setNames(as.numeric(res$theta), rownames(beta))
  conv <- list(iterations = res$iterations, converged = res$converged,
               objective = res$objective, gradient.norm = sqrt(sum(res$gradient^2)))
  if (!res$converged) {
    warning("vlearning() did not converge in ", ea$control$max.iter, " iterations; increase ",
            "`control$max.iter`.", call. = FALSE)
  }
  if (verbose) {
    message("vlearning: ", res$iterations, " iterations, estimated value ",
            format(res$value, digits = 4))
  }
  baseline_policy("vlearning", "vlearning_fit", data, feat$basis, ea$gamma,
                  slot = rep(1L, length(data$ids)), policy.coef = list(beta), q.coef = NULL,
                  greedy = FALSE, call = cl, ridge = ea$ridge, control = ea$control,
                  value = res$value, value.coef = theta, propensity = prop$mu,
                  propensity.source = prop$source, propensity.coef = prop$coef,
                  convergence = conv, seed = ea$seed)
}

# Behaviour propensity of each observed action: list(mu, source, coef).
resolve_propensity <- function(propensity, data, control) {
  n <- length(data$R)
  m <- length(data$action.levels)
  labels <- as.character(data$action.levels)
  from_matrix <- function(P, what) {
    if (!is.matrix(P) || !is.numeric(P) || nrow(P) != n || ncol(P) != m) {
      stop_arg("`propensity` ", what, " must be a numeric ", n, " x ", m,
               " matrix (transitions x actions).")
    }
    if (!is.null(colnames(P))) {
      idx <- match(labels, colnames(P))
      if (anyNA(idx)) {
        stop_arg("The columns of `propensity` ", what, " are named but do not match the ",
                 "actions (", paste(labels, collapse = ", "), ").")
      }
      P <- P[, idx, drop = FALSE]
    }
    P[cbind(seq_len(n), data$A)]
  }
  coef <- NULL
  if (is.null(propensity)) {
    S <- data$S
    cs <- column_scales(S)
    ctr <- cs$shift
    sc <- cs$scale
    sc[sc <= 0] <- 1
    X <- cbind(1, standardise_columns(S, ctr, sc))
    fit <- fit_multinom(X, data$A, m, control$propensity.ridge, 100L)
    mu <- fit$prob[cbind(seq_len(n), data$A)]
    coef <- fit$W
    dimnames(coef) <- list(c("(Intercept)", data$state.names), labels)
    coef <- list(coef = coef, center = ctr, scale = sc)
    source <- "multinomial logistic regression on the standardised states"
  } else if (is.function(propensity)) {
    states <- as.data.frame(data$S)
    names(states) <- data$state.names
    P <- propensity(states)
    mu <- from_matrix(P, "(the function's result)")
    source <- "function"
  } else if (is.matrix(propensity)) {
    mu <- from_matrix(propensity, "")
    source <- "matrix"
  } else if (is.numeric(propensity)) {
    if (length(propensity) != n) {
      stop_arg("`propensity` must have one probability per transition of `data` (", n,
               "); got ", length(propensity), ".")
    }
    mu <- as.numeric(propensity)
    source <- "vector"
  } else {
    stop_arg("`propensity` must be NULL, a numeric vector, a matrix or a function.")
  }
  if (anyNA(mu) || any(!is.finite(mu)) || any(mu <= 0) || any(mu > 1)) {
    stop_arg("`propensity` must give probabilities in (0, 1] for the observed actions; ",
             "found ", format(mu[which(!is.finite(mu) | mu <= 0 | mu > 1)[1]]), ".")
  }
  list(mu = mu, source = source, coef = coef)
}

# V-learning on given features: optimise (optimize = TRUE) or evaluate beta.
vlearning_fit_features <- function(data, psi, psi.next, mu, nu, gamma = 0.8, ridge = 1e-4,
                                   control = vlearning_control(), num.threads = 1L,
                                   beta = NULL, optimize = TRUE) {
  inp <- transition_inputs(data, psi, psi.next)
  if (is.null(beta)) beta <- matrix(0, ncol(psi), inp$num_actions)
  vlearning_cpp(inp, as.numeric(mu), as.numeric(nu), beta, gamma, ridge, control, optimize,
                num.threads)
}
