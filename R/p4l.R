#' Control settings of the P4L fit
#'
#' Tolerances, iteration limits, step sizes and the ADMM and K-means settings
#' of [p4l()]. The defaults suit the paper's problem sizes.
#'
#' @param max.iter Largest number of ADMM outer iterations. The default 500
#'   (200 in version 0.1.0) leaves room for discounts near 1: on the CartPole
#'   data that chose `kappa` (setting C, seed 2024) the fit at
#'   \eqn{\gamma = 0.99}{gamma = 0.99} needed 195 iterations.
#' @param tol Relative tolerance on the change of the penalised objective: the
#'   fit has converged when \eqn{|F_t - F_{t-1}| \le}{|F_t - F_(t-1)| <=} `tol` \eqn{\max(1, |F_t|)}{max(1, |F_t|)}
#'   for `conv.window` consecutive iterations and the primal residual is small.
#' @param tol.primal Largest ADMM primal residual \eqn{\max_i \|u_i - w_i\|}{max_i ||u_i - w_i||}
#'   at convergence.
#' @param conv.window Number of consecutive calm iterations required.
#' @param rho ADMM penalty parameter \eqn{\rho}{rho} (paper, eq. 19 to 21). The
#'   default 20 makes each latent-variable update a short proximal step
#'   toward the current cluster structure, so the grouping found at the start
#'   changes only where the pessimistic value clearly gains; with small
#'   `rho` (e.g. 1) subgroups that share an optimal policy tend to merge.
#' @param ridge Ridge penalty on the policy parameters \eqn{\Theta}{Theta}
#'   (\eqn{\mathrm{ridge}\,\|\Theta - \Theta_0\|_F^2}{ridge ||Theta - Theta_0||_F^2} is subtracted from the objective,
#'   \eqn{\Theta_0}{Theta_0} the start, see `ridge.center`);
#'   it regularises the softmax policy, fixes the remaining scale freedom and
#'   anchors the policy to its start. `NULL` (default): with the behaviour
#'   start, \eqn{10^{-5} / (1 - \gamma)}{1e-5 / (1 - gamma)} (an anchor to the
#'   data's policy that firms with the horizon: 5e-5 at \eqn{\gamma}{gamma} = 0.8,
#'   1e-4 at 0.9, 1e-3 at 0.99), set by [p4l()], which knows
#'   \eqn{\gamma}{gamma}; 1e-5 with the uniform and FQI starts (version
#'   0.1.0's value). The fit's `control$ridge` holds the number used.
#' @param dual.ridge Relative ridge added to the matrices of the dual problem,
#'   \eqn{\epsilon = }{epsilon =} `dual.ridge` \eqn{\mathrm{tr}(\Sigma)/(pr)}{tr(Sigma)/(pr)}.
#' @param kappa Regularisation of the inner (policy-evaluation) problem:
#'   the Bellman residual of a candidate Q-function is penalised by
#'   `kappa` times the spread of Q over the observed state-action pairs
#'   (its variance around its own mean), so that directions of the
#'   Q-function the data do not pin down are shrunk toward a constant
#'   instead of running off (see [p4l()], Details, "Inner problem").
#'   Dimensionless; `NULL` (default) uses \eqn{0.2(1-\gamma)}{0.2(1-gamma)}; 0 is the
#'   paper's closed form, which can give values of any size (and a stalled
#'   fit) when the data do not cover the learned policy. Larger values give
#'   more stable but more conservative fits.
#' @param iterative.min Size \eqn{q = |A|\,d\,r}{q = |A| d r} of the inner system (actions x
#'   basis functions x rank) from which it is solved by preconditioned
#'   conjugate gradients, started at the previous evaluation's solution and
#'   preconditioned by the factor of the system at an earlier policy, instead
#'   of being factorised at every evaluation (\eqn{O(q^2)} instead of
#'   \eqn{O(q^3)} per evaluation while the policy moves little); `Inf`
#'   always factorises. Both give the same solution to about 1e-11 (relative).
#' @param lbfgs.memory Number of L-BFGS correction pairs for the policy
#'   steps (0: plain gradient ascent, as in version 0.1.0).
#' @param kmeans.restarts,kmeans.max.iter K-means++ restarts and Lloyd
#'   iterations of each ADMM clustering step.
#' @param theta.steps,u.steps Gradient-ascent steps on the policy parameters
#'   and on the latent variables per outer iteration (Armijo backtracking).
#' @param step.theta,step.u Initial trial step sizes (they adapt).
#' @param init Starting latent variables: `"model"` (default) uses each
#'   individual's fitted one-step model (see [p4l()], Details); `"baseline"`
#'   does the same but shrinks each individual's model toward the model its
#'   baseline covariates predict (a ridge regression of the individual models
#'   on the covariates, penalty by generalised cross-validation) instead of
#'   toward the pooled model (needs `p4l_data(baseline = )`); `"groups"`
#'   starts every individual at the mean of the `"model"` start over its
#'   group among the K groups of [select_groups()] (with `K = "auto"` the
#'   groups it chose; otherwise its partition into K groups, which costs one
#'   `select_groups()` run), so that the clusters start as those groups (see
#'   [p4l()], Details, "Start"); `"random"` draws them at random (scale
#'   `init.scale`); or an N x (rank - 1) numeric matrix of starting free
#'   coordinates, rows in the order of `data$ids`.
#' @param init.ridge Shrinkage of the individual one-step models toward the
#'   pooled model, in pseudo-transitions (`init = "model"`).
#' @param init.model Which one-step model each individual gets for the
#'   `"model"` and `"baseline"` starts: `"full"` fits, for every action, the
#'   individual's own regression of the reward and the next state on (1,
#'   state); `"intercept"` keeps the pooled slopes and fits only the
#'   individual's intercepts (the mean of its residuals from the pooled
#'   regression); `"auto"` (default) takes `"full"` when the individuals have,
#'   on median, at least twice as many transitions per action as the
#'   regression has coefficients (1 + the number of states), and
#'   `"intercept"` otherwise (short stays with many actions). See [p4l()],
#'   Details, "Start".
#' @param init.scale Standard deviation of the random start (`init = "random"`).
#' @param init.policy Starting policy parameters \eqn{\Theta}{Theta}:
#'   `"behaviour"` (default, see below); `"uniform"` starts at
#'   \eqn{\Theta = 0}{Theta = 0}, the uniform random policy (the default up to this version);
#'   `"fqi"` starts every individual at the greedy policy of a pooled
#'   fitted-Q iteration ([fqi()] on the same basis, discount and data): the
#'   shared column of \eqn{\Theta}{Theta} is set to the fitted Q-differences
#'   \eqn{c\,(w_a - w_1)}{c (w_a - w_1)} and the other columns to 0 (see [p4l()], Details).
#'   `"behaviour"` starts at the fitted behaviour model: the shared column is
#'   the logits of [behaviour_policy()] on the same basis (ridge 1e-4), the
#'   other columns 0; with `ridge.center = "init"` the ascent then leaves the
#'   data's (clinicians') policy only where the pessimistic value gains more
#'   than the penalty. With `ridge = 1e-3` it converged on every
#'   data set of the stress suite where the uniform start did not, and did
#'   better on CartPole, [sim_icu()] and ICU-like stays with 9 actions; on the
#'   2-D study (\eqn{\gamma}{gamma} = 0.8) it lost about 0.01, which the
#'   default ridge \eqn{10^{-5}/(1-\gamma)}{1e-5 / (1 - gamma)} recovers
#'   (`bench/README.md`, "The policy anchor"). Both chosen on the suite's
#'   development seeds.
#' @param ridge.center Centre of the ridge penalty on \eqn{\Theta}{Theta}:
#'   `"init"` (default) penalises \eqn{\|\Theta - \Theta_0\|_F^2}{||Theta -
#'   Theta_0||_F^2}, the distance from the starting policy parameters, so
#'   that the ascent from the `"fqi"` start leaves that policy only where the
#'   value gains more than the penalty; `"zero"` penalises
#'   \eqn{\|\Theta\|_F^2}{||Theta||_F^2} (version 0.1.0), which pulls the
#'   nearly deterministic FQI start toward the uniform policy. The same for
#'   the uniform start (\eqn{\Theta_0 = 0}{Theta_0 = 0}).
#' @param init.policy.scale Scale of the `"fqi"` start: \eqn{c} makes the
#'   root mean square of the starting logits over the observed states equal to
#'   `init.policy.scale`, so the start is the greedy FQI policy smoothed only in
#'   a thin band around its decision boundary.
#' @param max.backtrack Largest number of step halvings in one line search.
#' @param initial The distribution \eqn{\nu}{nu} over which each individual's
#'   value is averaged: `"shared"` (the paper's: the initial states of all
#'   individuals, see `max.initial`) or `"visited"` (individual \eqn{i}'s
#'   value is averaged over the states of its own transitions, so its
#'   Q-function is only ever evaluated where its data lie; this also costs
#'   O(n) instead of O(N x initial states) per evaluation). Not available with
#'   `solver = "sgd"`. See [p4l()], "Which states a value is taken over".
#' @param max.initial Largest number of initial states each individual's
#'   value is averaged over (shared initial-state distribution \eqn{\nu}{nu}):
#'   with more initial states than this, the initial states are put in one
#'   seeded random order and each block of 64 individuals takes its own
#'   window of `max.initial` of them, consecutive windows for consecutive
#'   blocks, so that every initial state is used and the Monte Carlo error of
#'   one window (of order `1/sqrt(max.initial)` for one individual) is not
#'   shared by all individuals; 0 uses all. `NULL` (default): set by [p4l()]
#'   from the number of individuals N, 1000 up to N = 4,000, then
#'   \eqn{4 \times 10^6 / N}{4e6 / N} (the initial-state work N x
#'   `max.initial` stays at most 4e6) but at least 250: 250 at 16,000 stays,
#'   where it saved 42\% of the fit time with the same policy
#'   (`bench/README.md`, section `bench/s4-speed.R`, "Update (session 17)").
#'   `fit$control$max.initial` holds the number used.
#' @param armijo,backtrack,grow,max.step Line-search constants of the policy
#'   and latent-variable steps: a trial step is accepted when it gains at least
#'   `armijo` times the gain the gradient promises; a rejected step shrinks by
#'   the factor `backtrack`, an accepted step grows by `grow` for the next
#'   search, up to `max.step`.
#' @param sgd Settings of `p4l(solver = "sgd")`, from [p4l_sgd_control()].
#' @param sgd.inner,sgd.batch,sgd.batch.initial,sgd.step,sgd.per.individual,sgd.per.initial,sgd.step.policy,sgd.step.latent,sgd.decay,sgd.metric.rows
#'   The older names of settings of `sgd` (`sgd.inner` is
#'   `p4l_sgd_control(inner = )`, `sgd.batch.initial` is
#'   `p4l_sgd_control(batch.initial = )`, and so on): each one given replaces
#'   that setting of `sgd`.
#' @param policy The policy the fit deploys: `"greedy"` (default), the most
#'   probable action of each individual's learned softmax policy (its mode,
#'   as for the baselines); or `"softmax"`, the learned stochastic policy
#'   itself. Only prediction and evaluation differ; the fit is the same, and
#'   `fit$greedy <- FALSE` switches a fitted object to its softmax policy.
#' @return A list of class `p4l_control`.
#' @examples
#' p4l_control(max.iter = 100, rho = 2)
#' @export
p4l_control <- function(max.iter = 500, tol = 1e-4, tol.primal = 1e-3, conv.window = 3,
                        rho = 20, ridge = NULL, dual.ridge = 1e-6, kappa = NULL,
                        kmeans.restarts = 10,
                        iterative.min = 400, kmeans.max.iter = 100, theta.steps = 1,
                        lbfgs.memory = 10, u.steps = 1,
                        step.theta = 1,
                        step.u = 1, init = "model", init.ridge = 1,
                        init.model = c("auto", "full", "intercept"), init.scale = 0.1,
                        init.policy = c("behaviour", "uniform", "fqi"), init.policy.scale = 30,
                        ridge.center = c("init", "zero"), max.backtrack = 20,
                        initial = c("shared", "visited"), max.initial = NULL,
                        sgd.inner = NULL, sgd.batch = NULL, sgd.batch.initial = NULL,
                        sgd.step = NULL, sgd.per.individual = NULL, sgd.per.initial = NULL,
                        sgd.step.policy = NULL, sgd.step.latent = NULL, sgd.decay = NULL,
                        sgd.metric.rows = NULL, policy = c("greedy", "softmax"), armijo = 1e-4,
                        backtrack = 0.5, grow = 1.5, max.step = 1e8, sgd = p4l_sgd_control()) {
  policy <- match.arg(policy)
  if (!inherits(sgd, "p4l_sgd_control")) stop_arg("`sgd` must be made by p4l_sgd_control().")
  # the older flat names of the settings of `sgd`: each one given replaces that setting
  sgd <- p4l_sgd_merge_flat(sgd, mget(names(p4l_sgd_flat_names)))
  init.policy <- match.arg(init.policy)
  init.model <- tryCatch(match.arg(init.model), error = function(e) {
    stop_arg("`init.model` must be \"auto\", \"full\" or \"intercept\".")
  })
  ridge.center <- match.arg(ridge.center)
  if (!is.character(initial) || anyNA(initial) || !all(initial %in% c("shared", "visited"))) {
    stop_arg("`initial` must be \"shared\" or \"visited\".")
  }
  initial <- initial[1]
  if (is.character(init)) {
    if (length(init) != 1L || !(init %in% c("model", "baseline", "groups", "random"))) {
      stop_arg("`init` must be \"model\", \"baseline\", \"groups\", \"random\" or a numeric ",
               "matrix.")
    }
  } else if (!(is.matrix(init) && is.numeric(init) && all(is.finite(init)))) {
    stop_arg("`init` must be \"model\", \"baseline\", \"groups\", \"random\" or a numeric ",
             "matrix of finite values.")
  }
  structure(list(
    max.iter = check_count(max.iter, "max.iter"),
    tol = check_number(tol, "tol", lower = 0, lower.open = TRUE),
    tol.primal = check_number(tol.primal, "tol.primal", lower = 0, lower.open = TRUE),
    conv.window = check_count(conv.window, "conv.window"),
    rho = check_number(rho, "rho", lower = 0, lower.open = TRUE),
    # the ridge anchors the policy to its start; NULL: set by p4l() from gamma
    # (p4l_resolve_control())
    ridge = if (is.null(ridge)) NULL else check_number(ridge, "ridge", lower = 0),
    dual.ridge = check_number(dual.ridge, "dual.ridge", lower = 0),
    kappa = if (is.null(kappa)) NULL else check_number(kappa, "kappa", lower = 0),
    iterative.min = if (identical(iterative.min, Inf)) Inf else
      check_number(iterative.min, "iterative.min", lower = 1),
    kmeans.restarts = check_count(kmeans.restarts, "kmeans.restarts"),
    kmeans.max.iter = check_count(kmeans.max.iter, "kmeans.max.iter"),
    theta.steps = check_count(theta.steps, "theta.steps"),
    lbfgs.memory = check_count(lbfgs.memory, "lbfgs.memory", lower = 0L),
    u.steps = check_count(u.steps, "u.steps"),
    step.theta = check_number(step.theta, "step.theta", lower = 0, lower.open = TRUE),
    step.u = check_number(step.u, "step.u", lower = 0, lower.open = TRUE),
    init = init,
    init.ridge = check_number(init.ridge, "init.ridge", lower = 0, lower.open = TRUE),
    init.model = init.model,
    init.scale = check_number(init.scale, "init.scale", lower = 0, lower.open = TRUE),
    init.policy = init.policy,
    init.policy.scale = check_number(init.policy.scale, "init.policy.scale", lower = 0,
                                     lower.open = TRUE),
    ridge.center = ridge.center,
    max.backtrack = check_count(max.backtrack, "max.backtrack"),
    # NULL: set by p4l() from the number of individuals (p4l_resolve_control())
    max.initial = if (is.null(max.initial)) NULL else
      check_count(max.initial, "max.initial", lower = 0L),
    initial = initial,
    armijo = check_number(armijo, "armijo", lower = 0, upper = 1, lower.open = TRUE,
                          upper.open = TRUE),
    backtrack = check_number(backtrack, "backtrack", lower = 0, upper = 1, lower.open = TRUE,
                             upper.open = TRUE),
    grow = check_number(grow, "grow", lower = 1),
    max.step = check_number(max.step, "max.step", lower = 0, lower.open = TRUE),
    sgd = sgd,
    policy = policy),
    class = "p4l_control")
}

# The settings `sgd` with the older flat names given to p4l_control()
# (`flat`: sgd.inner, ..., NULL when not given) put in place, each checked
# under the name given.
p4l_sgd_merge_flat <- function(sgd, flat) {
  given <- names(flat)[!vapply(flat, is.null, logical(1))]
  for (name in given) {  # checked under the names given
    if (name %in% c("sgd.step", "sgd.step.policy", "sgd.step.latent", "sgd.decay")) {
      check_number(flat[[name]], name, lower = 0, lower.open = TRUE)
    } else {
      check_count(flat[[name]], name)
    }
  }
  if (length(given)) {
    args <- unclass(sgd)
    args[p4l_sgd_flat_names[given]] <- flat[given]
    sgd <- do.call(p4l_sgd_control, args)
  }
  sgd
}

#' Settings of the stochastic path of P4L
#'
#' The settings of `p4l(solver = "sgd")`, the minibatch path of the paper's
#' Algorithm 1 (see [p4l()], Details, "Stochastic path"); give them to
#' [p4l_control()] as `p4l_control(sgd = p4l_sgd_control(...))`.
#'
#' @param inner Minibatch steps (22)-(23) on the Q and f weights per outer
#'   iteration (warm started).
#' @param batch,batch.initial Transitions and initial states per minibatch step.
#' @param step Dimensionless step size of the minibatch steps.
#' @param per.individual,per.initial Transitions and initial states of every
#'   individual in the minibatch gradient (24) of the policy parameters and
#'   the latent variables.
#' @param step.policy,step.latent Outer steps on the policy parameters and on
#'   the latent variables: the root-mean-square change per coordinate.
#' @param decay The outer steps decay as \eqn{1/\sqrt{1 + k/d}}{1/sqrt(1 + k/d)} over outer
#'   iterations k, d = `decay`.
#' @param metric.rows Transitions on which the preconditioner is estimated.
#' @param decay.inner The minibatch steps decay as
#'   \eqn{1/\sqrt{1 + j/d}}{1/sqrt(1 + j/d)} over the steps j of one outer iteration,
#'   d = `decay.inner`.
#' @param extragradient Take extragradient steps (an extrapolation step from
#'   the current point before each step); `FALSE`: plain gradient steps.
#' @param average.from The (theta, z) of an outer iteration is the average of
#'   the minibatch iterates from step `average.from * inner` on.
#' @return A list of class `p4l_sgd_control`.
#' @seealso [p4l_control()]
#' @examples
#' p4l_control(sgd = p4l_sgd_control(inner = 400, step = 0.2))
#' @export
p4l_sgd_control <- function(inner = 200, batch = 64, batch.initial = 16, step = 0.5,
                            per.individual = 16, per.initial = 16, step.policy = 0.05,
                            step.latent = 0.02, decay = 25, metric.rows = 2000,
                            decay.inner = 1000, extragradient = TRUE, average.from = 0.5) {
  check_flag(extragradient, "extragradient")
  structure(list(
    inner = check_count(inner, "inner"),
    batch = check_count(batch, "batch"),
    batch.initial = check_count(batch.initial, "batch.initial"),
    step = check_number(step, "step", lower = 0, lower.open = TRUE),
    per.individual = check_count(per.individual, "per.individual"),
    per.initial = check_count(per.initial, "per.initial"),
    step.policy = check_number(step.policy, "step.policy", lower = 0, lower.open = TRUE),
    step.latent = check_number(step.latent, "step.latent", lower = 0, lower.open = TRUE),
    decay = check_number(decay, "decay", lower = 0, lower.open = TRUE),
    metric.rows = check_count(metric.rows, "metric.rows"),
    decay.inner = check_number(decay.inner, "decay.inner", lower = 0, lower.open = TRUE),
    extragradient = extragradient,
    average.from = check_number(average.from, "average.from", lower = 0, upper = 1,
                                upper.open = TRUE)),
    class = "p4l_sgd_control")
}

# p4l_control()'s older flat names of the p4l_sgd_control() settings.
p4l_sgd_flat_names <- c(sgd.inner = "inner", sgd.batch = "batch",
                        sgd.batch.initial = "batch.initial", sgd.step = "step",
                        sgd.per.individual = "per.individual", sgd.per.initial = "per.initial",
                        sgd.step.policy = "step.policy", sgd.step.latent = "step.latent",
                        sgd.decay = "decay", sgd.metric.rows = "metric.rows")

#' Penalized Pessimistic Personalized Policy Learning
#'
#' Learns one policy per individual from batch trajectories of heterogeneous
#' individuals (P4L; paper, Sections 3 and 5). Individual \eqn{i} has a latent
#' variable \eqn{u_i \in R^r}{u_i in R^r}; its policy is the softmax policy
#' \eqn{\pi(a \mid s; u_i) \propto \exp(\psi(s)^\top \Theta_a u_i)}{pi(a | s; u_i) proportional to exp(psi(s)' Theta_a u_i)}
#' (\eqn{\Theta_0 = 0}{Theta_0 = 0} for the first action) and its Q-function is
#' \eqn{Q(s, a; u_i) = \phi(s, a)^\top W u_i}{Q(s, a; u_i) = phi(s, a)' W u_i}, with \eqn{\phi(s, a)}{phi(s, a)} the basis
#' features \eqn{\psi(s)}{psi(s)} in the block of action a. The shared \eqn{\Theta}{Theta}
#' and the \eqn{u_i} maximise
#' \deqn{V(\Theta, u) - \mathrm{ridge}\|\Theta\|_F^2 - \frac{\mu}{N}\sum_i \min_k \|\tilde u_i - v_k\|^2,}{V(Theta, u) - ridge||Theta||_F^2 - mu/N sum_i min_k ||u~_i - v_k||^2,}
#' where \eqn{V} is the pessimistic value: the smallest (discount-normalised)
#' value \eqn{(1-\gamma) E_{S_0}[Q(S_0, \pi)]}{(1-gamma) E_(S_0)[Q(S_0, pi)]} over the Q-functions whose
#' Bellman error, tested by every \eqn{f} of the mirror class with
#' \eqn{E_n f^2 \le 1}{E_n f^2 <= 1}, is at most `alpha` (paper, eq. 11 to 13). For the
#' linear classes this inner min-max has a closed form (the dual of eq. 17):
#' \eqn{V = c^\top M^{-1} b - \alpha \sqrt{z^\top \Sigma z}}{V = c' M^(-1) b - alpha sqrt(z' Sigma z)}, \eqn{z = M^{-T} c}
#' (see `vignette("p4l")`); the returned `lambda` is its Lagrange multiplier
#' and `point.value` the value with `alpha = 0` (LSTD-Q).
#'
#' **Inner problem.** The closed form above is ill-posed: where the learned
#' policy leaves the data, \eqn{M} is nearly singular, the ellipsoid of
#' Q-functions is unbounded, and \eqn{V} can take any value (version 0.1.0
#' reported values of \eqn{\pm 10^9}{+/- 10^9} on CartPole and on episodic data). By
#' default the Bellman residual is therefore penalised by the spread of the
#' Q-function over the data,
#' \deqn{q(\theta) = \|b - M\theta\|^2_{\Sigma^{-1}} + \kappa\,\mathrm{Var}_n(Q_\theta),}{q(theta) = ||b - M theta||^2_(Sigma^(-1)) + kappa Var_n(Q_theta),}
#' and the uncertainty set is \eqn{\{\theta: q(\theta) \le \min q + \alpha^2\}}{{theta: q(theta) <= min q + alpha^2}}.
#' With \eqn{H = M^\top\Sigma^{-1}M + \kappa P}{H = M' Sigma^(-1)M + kappa P} (P: the penalty's matrix,
#' positive definite except on constant Q-functions, which the data always
#' identify) the solution is again closed form,
#' \eqn{\theta_0 = H^{-1}M^\top\Sigma^{-1}b}{theta_0 = H^(-1)M' Sigma^(-1)b},
#' \eqn{V = c^\top\theta_0 - \alpha\sqrt{c^\top H^{-1} c}}{V = c' theta_0 - alpha sqrt(c' H^(-1) c)}, bounded for every
#' policy; gradients are exact (an envelope identity with two bilinear terms).
#' As \eqn{\kappa \to 0}{kappa -> 0} with \eqn{M} invertible it is the paper's closed
#' form. `control$kappa` sets \eqn{\kappa}{kappa} (default \eqn{0.2(1-\gamma)}{0.2(1-gamma)}:
#' chosen on CartPole setting C data with seed 2024 at \eqn{\gamma}{gamma} = 0.9,
#' 0.95 and 0.99, and checked on the 2-D study; see `bench/README.md`).
#' `fit$values` gives the pessimistic and point values of the deployed and of
#' the softmax policy on both scales; a value outside the range any policy can
#' attain (`fit$value.range`) raises a warning and must not be reported.
#'
#' **Convergence.** A fit has converged when the penalised objective changed
#' by at most `control$tol` (relative) in `control$conv.window` consecutive
#' iterations without a stalled line search, and the ADMM primal residual is
#' at most `control$tol.primal`. A line search that fails although the
#' gradient promised a gain is a stall: after `conv.window` stalls in a row the
#' fit stops with `status = "stalled"`, `converged = FALSE` and a warning that
#' says what to change. The policy steps are L-BFGS steps
#' (`control$lbfgs.memory` pairs).
#'
#' **When a fit does not converge** (`fit$status`, `plot(fit, "convergence")`):
#' \itemize{
#'   \item `"max.iter"`, the objective still rising: raise
#'     `control$max.iter` (500 is rarely too few); a slow, steady climb is
#'     common at \eqn{\gamma}{gamma} close to 1.
#'   \item `"stalled"`: the value is not smooth enough along the ascent
#'     direction, because the inner Bellman system is nearly singular at the
#'     current policy. Raise `control$kappa` (two to five times the default
#'     \eqn{0.2(1-\gamma)}{0.2(1-gamma)}), or `alpha`, or use fewer basis functions
#'     (`rbf_basis(num.centers = )`) or a smaller `rank`.
#'   \item a warning that a value lies outside the attainable range: the same
#'     remedies; do not report that value.
#'   \item a large ADMM primal residual: raise `control$rho` or
#'     `control$max.iter`.
#' }
#' The cost of one evaluation grows as \eqn{(|A|\,d\,r)^3}{(|A| d r)^3}: with many
#' actions, keep the basis small.
#'
#' **Large data.** The statistical rate \eqn{\sqrt{p r / n}}{sqrt(p r / n)} shrinks as data are
#' added; the error of the basis itself (its best approximation of the true
#' Q-function does not satisfy the Bellman equation) does not. When that
#' error dominates, the ascent can climb it: on ICU-like data with 200,000
#' transitions (`bench/s4-drift.R`, `bench/README.md`, "The estimate leaves
#' the truth") the pessimistic value with `alpha` at the rate (0.0098) rose
#' while the true value of the policy fell below the clinicians'. The default
#' `alpha` therefore does not fall below 0.2 sd(R) (the basis' Bellman error
#' measured on the stress suite's generators reached 0.23 sd(R),
#' `bench/misspecification.R`); at that size it converges in 31 iterations
#' with the estimate below the truth and the policy above the clinicians'.
#' Data with constant rewards (survival tasks such as CartPole, where only
#' termination carries information) have no reward scale and keep the rate.
#' A check on held-out individuals does not reveal such a drift:
#' [policy_value()]'s FQE and DR estimates use a linear Q-class too and
#' rated the worse policy above the clinicians (`bench/s4-drift-heldout.R`).
#' If a value keeps rising with the iterations, refit with a larger `alpha`
#' and prefer a policy that does not change with it. With many individuals
#' the shared initial-state term dominates the cost of a fit (N x
#' `max.initial` x |A| exponentials per evaluation); the default
#' `max.initial` therefore falls from 1000 to 250 between 4,000 and 16,000
#' individuals, each block of individuals taking its own window of the
#' initial states (`?p4l_control`): on those 16,000 stays (2 threads) the
#' fit took 87 s instead of 149 s with the same iterations and true values,
#' and takes 55 s with the current kernels (`bench/README.md`,
#' `bench/s4-speed.R`). There a firmer anchor to the
#' clinicians' policy, `p4l_control(ridge = 1e-3)` (the default is 1e-4 at
#' gamma = 0.9), converged in 31 iterations instead of 52 to a policy
#' worth 3.11 / 3.17 (mild / severe) instead of 3.01 / 3.14, while at 2,000
#' stays the default did better (3.33 / 3.29 against 3.21 / 3.22; one
#' development seed, `bench/README.md`, "The policy anchor").
#'
#' **Which states a value is taken over** (`p4l_control(initial = )`). The
#' paper averages every individual's value over one shared distribution
#' \eqn{\nu}{nu}, the initial states of all individuals (`"shared"`, the
#' default). Where individuals' states differ systematically, that evaluates
#' each individual's Q-function at other individuals' states. `"visited"`
#' averages individual \eqn{i}'s value over the states of its own
#' transitions instead, at O(n) cost per evaluation. Measured on the stress
#' suite's generators with other seeds than the reported table
#' (`bench/initial-states.R`, figures in `bench/README.md`), `"visited"`
#' matched `"shared"` on the 2-D study but did worse on CartPole at
#' \eqn{\gamma \ge 0.95}{gamma >= 0.95} and on the episodic ICU course, so the default
#' stays `"shared"`: the initial states are where the value that is reported
#' and deployed starts.
#'
#' **Optimisation.** ADMM for the multi-centroid penalty (paper, eq. 19 to 21):
#' each outer iteration takes an Armijo gradient step on \eqn{\Theta}{Theta}, one on
#' the \eqn{u_i}, a K-means step (K-means++ seeding, `kmeans.restarts`) for the
#' centroids \eqn{v_k}, and a dual update. Gradients are exact (adjoint of the
#' closed form). The scale of \eqn{u} is fixed by \eqn{u_{i1} = 1} (a shared
#' intercept coordinate) and by centring the free coordinates
#' \eqn{\tilde u_i = (u_{i2}, \dots, u_{ir})}{u~_i = (u_i2, ..., u_ir)} to mean 0 and unit root mean
#' square; the penalty therefore lies in \[0, `mu`\].
#'
#' **Stochastic path.** `solver = "sgd"` runs the paper's Algorithm 1 with
#' minibatches instead of the closed form, for the same linear classes and the
#' same objective (settings: [p4l_sgd_control()]): in every outer iteration, `inner` stochastic
#' extragradient steps (22)-(23) on the Q weights \eqn{\theta}{theta} and the
#' multiplier-scaled test function \eqn{z = \lambda\beta}{z = lambda beta} (saddle function
#' \eqn{c^\top\theta + z^\top(b - M\theta) - \alpha\|z\|_\Sigma}{c' theta + z'(b - M theta) - alpha||z||_Sigma}), warm
#' started; the minibatch gradient (24) of that Lagrangian in \eqn{\Theta}{Theta} and
#' the \eqn{u_i} at the averaged \eqn{(\theta, z)}{(theta, z)} (its expectation is the
#' exact gradient at the saddle point); fixed steps that decay as
#' \eqn{1/\sqrt{1 + k/d}}{1/sqrt(1 + k/d)} (d = `decay`), normalised by the running root mean
#' square of the gradient (a line search needs exact values); then the same
#' ADMM (v, w) and \eqn{\eta}{eta} steps. The \eqn{\theta}{theta}-steps are preconditioned
#' by \eqn{M^{-1}\Sigma M^{-T}}{M^(-1) Sigma M^(-T)} and the \eqn{z}-steps by \eqn{\Sigma^{-1}}{Sigma^(-1)},
#' both estimated on `metric.rows` transitions at the current policy: the
#' iterations themselves use only minibatches, so their fixed point does not
#' depend on the estimates. It runs all `max.iter` outer iterations
#' (`converged` then only reports a small ADMM residual); the returned value,
#' Q weights and `lambda` are the closed form at the final policy, so the two
#' solvers are compared on the same footing, while `trace` holds the
#' minibatch estimates. On small bases it approaches the closed-form fit as
#' the outer iterations grow (`bench/README.md`, "Stochastic path"). With
#' many RBF centres single transitions have a large leverage in the
#' preconditioned metric and the steps must shrink by the factor
#' `fit$sgd.step.scale` (far larger on the default 16 centres than on a few);
#' p4l() warns above 100. If the minibatch values stop being
#' finite, p4l() does not stop with an error: the fit ends at the last finite
#' iterate with `status = "diverged"`, `converged = FALSE` and a warning
#' (lower `step`, `step.policy` and `step.latent`). The closed form (the default) is the
#' same estimator without inner optimisation error, and far faster; the
#' stochastic path is the one that carries over to non-linear classes.
#'
#' **Start.** Maximising \eqn{V} alone does not separate the subgroups from a
#' random start. With `control$init = "model"` the free coordinates start at
#' the first r - 1 principal components of each individual's fitted one-step
#' model: for every action, the ridge regression (shrunk toward the pooled fit
#' by `control$init.ridge` pseudo-transitions) of the reward and the next
#' state on (1, state), with each response scaled by its pooled residual
#' standard deviation. Individuals whose dynamics or rewards differ start
#' apart; the ADMM then refines the grouping and the policies. With short
#' stays and many actions (ICU data: about one transition per action and
#' stay) an individual's regression has more coefficients than transitions,
#' the noise of its slopes swamps the principal components, and the start
#' does not separate the subgroups; `control$init.model = "auto"` (default)
#' then keeps the pooled slopes and fits only each individual's intercepts
#' (its mean residual per action and response, shrunk the same way). On
#' `sim_sepsis_cohort()` (1,000 stays, 9 actions, 11 states; development
#' cohort) the two-means adjusted Rand index of the start's scores against
#' the planted subgroups is 0.04 with the full models and 0.48 with the
#' intercepts, and with the default `mu` (below) P4L keeps that grouping and
#' its policy gains accordingly (`bench/README.md`, "The start and the
#' clustering weight on short stays"). Trajectories with at least twice as many
#' transitions per action as coefficients (the paper's 2-D study, CartPole)
#' keep the full models, which they need: their subgroups differ in slopes.
#'
#' The principal components of one-step models need not separate subgroups
#' whose dynamics differ in a way the linear models miss: on CartPole
#' setting B (pole lengths 0.15, 0.5, 0.85) the model start's three clusters
#' mixed the environments (62 / 29 / 9 of one environment's 100
#' trajectories), and each cluster's policy was learned from a third of the
#' data. `control$init = "groups"` starts every individual at its group's
#' mean of the model start, the groups being those [select_groups()] finds
#' from the individuals' transition densities (its partition into K groups;
#' with `K = "auto"` the groups it chose), so the K clusters start as those
#' groups and the ADMM refines them. On the stress suite's CartPole data
#' (`bench/README.md`, "A start from select_groups()' groups"; K = 3,
#' gamma 0.9 to 0.99, 8 held-out replications) it raised the cells at 95% of
#' pooled FQI's steps from 199 to 209 of 216, met that criterion on the
#' means of all 27 environment cells (26 with the default start), and
#' every fit converged (71 of 72 with the default start); on the 2-D study
#' (10 development data sets) it matched the default start within 0.002 of
#' every subgroup's mean gap to the optimum, and on the 40-patient dose
#' study (S2, 5 development data sets) it was 0.3 and 1.3 below it (values
#' near -48 and -38). It also has a heavier tail: on the suite's reported
#' CartPole replication it met 24 of 27 cells (the model start 25), with
#' 137.5 steps against FQI's 282.8 in setting A's 10/0.85 environment at
#' gamma 0.95, the largest shortfall of either start in these runs, where
#' that environment's own cluster policy is worse than one learned from all
#' the data. It costs one `select_groups()` run (1.3 s on
#' CartPole's 300 trajectories; about 5 s per 1,000 short stays).
#' It is not the default yet: the paper's studies and the results shipped
#' with the package use the model start.
#'
#' The value is not concave in \eqn{\Theta}{Theta}, and gradient ascent from the
#' uniform policy (\eqn{\Theta = 0}{Theta = 0}, `control$init.policy = "uniform"`, the
#' default up to this version) can stop at a poor local maximum: on the CartPole study of
#' `vignette("cartpole")` it stays 6 to 107 steps below the pooled FQI policy.
#' With `control$init.policy = "fqi"` the ascent starts from the greedy
#' policy of a pooled fitted-Q iteration on the same basis ([fqi()], default
#' ridge and control): the shared (intercept) column of \eqn{\Theta}{Theta} is
#' \eqn{c\,(w_a - w_1)}{c (w_a - w_1)}, the fitted Q-differences with the first action, with
#' \eqn{c} chosen so that the starting logits have root mean square
#' `control$init.policy.scale` (30) over the observed states; the other
#' columns are 0. Every individual starts at the same, nearly deterministic,
#' FQI policy; the ascent then moves its decision boundaries and personalises
#' them through the latent variables. This helps when the subgroups' optimal
#' policies are close to the pooled one (CartPole), but it can hold an
#' individual near the pooled policy when its optimal policy is opposite: in
#' the 2-D study with subgroup c's reward reversed (`bench/p4l-quality.R`),
#' subgroup c stays at the pooled policy (value 2.25, optimum 3.55; measured
#' with the ridge centred at 0, before `ridge.center = "init"`), which
#' is why it is not the default. The starting \eqn{\Theta}{Theta}
#' is kept in the fit as `Theta.init`.
#'
#' **Defaults.** With p = |A| d (d basis functions including the intercept)
#' and n transitions, `alpha` = \eqn{\mathrm{sd}(R)\max(\sqrt{p r / n}, 0.2)}{sd(R) max(sqrt(p r / n), 0.2)} (the
#' \eqn{\sqrt{\mathrm{complexity}/(NT)}}{sqrt(complexity/(NT))} rate of the paper's Theorem 1, with the
#' floor of "Large data" above; \eqn{\sqrt{p r / n}}{sqrt(p r / n)} when the rewards are
#' constant) and
#' `mu` = \eqn{\sqrt{p r N / n}}{sqrt(p r N / n)} with N individuals, at least 0.05:
#' the rate of one individual's data (n / N transitions), because each
#' individual's latent variable is chosen from its own transitions only, and
#' the noise in them does not shrink as individuals are added. It is about 1
#' for the paper's 60 x 100 design and CartPole (0.9 to 1.2), and about 5
#' for ICU stays of a dozen decisions among 8 or 9 actions, where each
#' individual's own data say little and the pull to the centroids must be
#' firm. Up to this version `mu` was also capped at 1: on synthetic sepsis
#' cohorts (1,000 stays, 9 actions; development cohorts) the capped fits
#' did not converge in 500 iterations and drifted away from the start's
#' grouping (adjusted Rand index 0.48 -> 0.13), while `mu` = 4.95 converged
#' in 104 to 168 iterations, kept it, and gave better policies in the
#' simulator (`bench/README.md`, "The start and the clustering weight on
#' short stays"). In version 0.1.0 `mu` was \eqn{\sqrt{p r / n}}{sqrt(p r / n)}, which
#' shrinks as individuals are added: on ICU-like data with 2,000 stays x 12
#' decisions x 9 actions (`bench/s4-drift.R 2000`) the latent variables then
#' spread apart, each individual's policy chased the noise of its own dozen
#' transitions, the pessimistic value rose to the edge of the attainable
#' range without converging in 500 iterations, and the policy fell below the
#' clinicians'; with the new defaults the fit converges in 31 iterations and
#' beats them (`bench/README.md`, "The clustering penalty's scale").
#'
#' @inheritParams fqi
#' @param basis Any basis (class `p4l_basis`: [rbf_basis()],
#'   [indicator_basis()], [linear_basis()], [basis_product()], ...) built on
#'   the data's state columns. `NULL` builds `default_basis(data, discrete =
#'   "auto", interactions = "none")`: on continuous states the paper's basis
#'   (16 centres by K-means, median-distance bandwidth, seeded by `seed`);
#'   whole-number columns with at most 10 values (scores, flags) and factor
#'   columns get one indicator per value instead (see [default_basis()],
#'   "P4L's default differs", for the evidence; the baselines leave
#'   whole-number columns to the RBF basis).
#' @param K Number of clusters (subgroups), at most the number of individuals,
#'   or `"auto"` to choose it with [select_groups()] (its default method:
#'   the paper's heuristic, clustering individuals by their estimated
#'   transition densities, for long trajectories; for short ones with
#'   continuous responses, such as ICU stays, a mixture model of how the
#'   actions shift each individual's next state and reward, with K by
#'   held-out likelihood); the `select_groups()` result is then kept in the
#'   fit as `groups`.
#' @param rank Dimension r of the latent variables, a whole number from 1 to
#'   100. `rank = 1` gives every individual the same policy, so it is accepted
#'   only with `K = 1` (with `K > 1` use `rank >= 2`). Defaults to `K` (the
#'   chosen K when `K = "auto"`), the paper's choice. Each latent coordinate
#'   adds a copy of the policy's and the Q-function's coefficients: a smaller
#'   rank shares more between clusters and places them on fewer directions.
#'   With K = 3, `rank = 2` raised P4L's CartPole steps (stress suite S1, in
#'   22 of 27 environment cells on 8 held-out replications) but recovered the
#'   2-D study's three subgroups exactly in 7 to 8 of 10 data sets instead of
#'   10 of 10 (`bench/README.md`, "S1 over replications").
#' @param alpha Uncertainty level (radius of the Bellman-error ellipsoid); 0 is
#'   the point (non-pessimistic) estimate. `NULL`: see Details.
#' @param mu Weight of the multi-centroid penalty; `NULL`: see Details.
#' @param control Settings from [p4l_control()].
#' @param solver `"closed"` (default): exact inner solution and gradients with
#'   Armijo steps; `"sgd"`: the minibatch path of Algorithm 1 (see Details).
#' @param seed Random seed for the basis, the start and K-means (`NULL` draws
#'   one from R's generator).
#' @param verbose Show a progress bar (interactive sessions) and a one-line
#'   report at the end.
#' @return An object of class `c("p4l_fit", "p4l_policy")`: one softmax policy
#'   per individual (see [predict.p4l_policy()]; `q.coef` holds the
#'   worst-case Q-function), and
#'   \describe{
#'   \item{`Theta`, `W`}{shared policy parameters ((|A|-1) d x r) and
#'     worst-case Q weights (|A| d x r).}
#'   \item{`U`, `centroids`, `cluster`}{latent variables (N x r, rows named by
#'     id), centroids (K x r) and each individual's cluster.}
#'   \item{`value`, `point.value`, `lambda`, `objective`, `penalty`}{the
#'     pessimistic value, the point value, the Lagrange multiplier, the
#'     penalised objective and the penalty at the solution.}
#'   \item{`trace`}{a data frame per outer iteration: objective, value,
#'     point.value, lambda, penalty, primal.residual, step sizes.}
#'   \item{`converged`, `status`, `stalls`, `iterations`, `evaluations`}{
#'     convergence record: `status` is `"converged"`, `"max.iter"`,
#'     `"stalled"` (line searches failed) or, for `solver = "sgd"`,
#'     `"primal"` or `"diverged"` (the minibatch values stopped being finite:
#'     the fit is the last finite iterate, with a warning); `stalls` counts
#'     failed line searches.}
#'   \item{`convergence`}{the same record as a list (`converged`,
#'     `iterations`, `status`, `stalls`, `evaluations`), as the fits of
#'     [fqi()] and [vlearning()] have it.}
#'   \item{`values`, `value.range`, `kappa`, `rcond`}{the value table (policy
#'     `"softmax"` and `"greedy"`, scale `"normalised"`, i.e. per step,
#'     \eqn{(1-\gamma)}{(1-gamma)} times the discounted return, and `"discounted"`, the
#'     scale of [evaluate_policy()]; columns `pessimistic` and `point`), the
#'     per-step range any policy can attain (an estimate that leaves it by
#'     less than its uncertainty radius, point minus pessimistic value, is
#'     reported at the end of the range and flagged in column `clipped`; the
#'     raw estimates are in `pessimistic.raw` and `point.raw`), the
#'     regularisation used and the
#'     reciprocal condition number of the final inner system.}
#'   \item{`assignment.model`, `data.columns`}{what [p4l_assign()] needs to
#'     place new individuals without the training data (per-cluster one-step
#'     models and residual variances, the baseline model of the clusters, the
#'     training initial states) and the training data's column roles.}
#'   \item{`solver`, `sgd.step.scale`}{the solver used and, for `"sgd"`, the
#'     largest step divisor of its minibatch steps (see Details).}
#'   \item{`K`, `rank`, `alpha`, `mu`, `alpha.default`, `mu.default`, `control`,
#'     `init`, `init.model`, `start.groups`, `seed`, `num.threads`, `timings`,
#'     `call`}{the settings used (`init.model`: the one-step model of the
#'     `"model"`, `"baseline"` or `"groups"` start, `"full"` or
#'     `"intercept"`, `NULL` for other starts; `start.groups`: the group of
#'     each individual, named by id, that the `"groups"` start averaged
#'     over, `NULL` for other starts) and elapsed seconds per stage.}
#'   }
#' @references Paper: *Reinforcement Learning for Individual Optimal Policy
#'   from Heterogeneous Data* (P4L), Sections 3 and 5.
#' @seealso [summary.p4l_fit()], [plot.p4l_fit()], [evaluate_policy()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 5, T = 40, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- p4l(d, K = 3, seed = 1)
#' fit
#' table(fit$cluster, sim$group)
#' predict(fit, data.frame(id = c(1, 15), s1 = 0.5, s2 = -0.5), type = "prob")
#' @export
p4l <- function(data, K = 3, gamma = 0.8, basis = NULL, rank = K, alpha = NULL, mu = NULL,
                control = p4l_control(), solver = c("closed", "sgd"), num.threads = NULL,
                seed = NULL, verbose = FALSE) {
  cl <- match.call()
  if (missing(solver)) solver <- "closed"
  if (!(is.character(solver) && length(solver) == 1L && solver %in% c("closed", "sgd"))) {
    stop_arg("`solver` must be \"closed\" or \"sgd\".")
  }
  t.start <- proc.time()[["elapsed"]]
  check_p4l_data_arg(data)
  st <- p4l_structure(data, K, rank, !missing(rank), num.threads)
  K <- st$K
  rank <- st$rank
  groups <- st$groups
  ea <- estimator_args(gamma, control = control, control.class = "p4l_control",
                       num.threads = num.threads, verbose = verbose, seed = seed)
  gamma <- ea$gamma
  control <- p4l_resolve_control(ea$control, gamma, length(data$ids))
  num.threads <- ea$num.threads
  seed <- ea$seed
  if (identical(solver, "sgd") && identical(control$initial, "visited")) {
    stop_arg("`control$initial = \"visited\"` is not available with `solver = \"sgd\"`.")
  }
  # every setting the core reads is there, and no unknown one (an error here, not after the start)
  p4l_check_settings_cpp(p4l_settings(control, gamma, seed, solver))
  basis <- resolve_p4l_basis(basis, data, seed, num.threads)
  feat <- estimator_features(data, basis, seed, num.threads, guard = function(d)
    guard_p4l(data, d, rank, control))  # R/memory.R
  basis <- feat$basis
  t.basis <- feat$basis.time

  psi0 <- basis_features(basis, data$S0, num.threads)
  tn <- p4l_tuning(data, ncol(feat$psi), rank, alpha, mu)
  alpha <- tn$alpha
  alpha.default <- tn$alpha.default
  mu <- tn$mu
  mu.default <- tn$mu.default

  start.groups <- if (identical(control$init, "groups") && rank > 1L)
    p4l_start_groups(data, K, groups, num.threads)
  init.U <- p4l_initial_u(data, rank, control, seed, num.threads, start.groups)
  init.Theta <- p4l_initial_theta(data, feat$psi, feat$psi.next, rank, gamma, control,
                                  num.threads)
  t.init <- proc.time()[["elapsed"]]

  progress <- p4l_progress(verbose, control$max.iter)
  res <- p4l_fit_features(data, feat$psi, feat$psi.next, psi0, rank = rank, K = K,
                          gamma = gamma, alpha = alpha, mu = mu, control = control,
                          init.U = init.U, init.Theta = init.Theta, seed = seed,
                          progress = progress, num.threads = num.threads, solver = solver,
                          value.table = TRUE)
  t.fit <- proc.time()[["elapsed"]]

  fit <- p4l_build_fit(res, data, basis, gamma, K, rank, alpha, mu, control, seed, num.threads)
  fit$call <- cl
  fit <- p4l_complete_fit(fit, res, data, feat, psi0, gamma, alpha, control, seed, solver,
                          num.threads)
  fit <- p4l_record_start(fit, data, groups, alpha.default, mu.default, control, init.Theta,
                          start.groups)
  fit$timings <- c(basis = t.basis - t.start, init = t.init - t.basis, fit = t.fit - t.init,
                   total = proc.time()[["elapsed"]] - t.start)
  p4l_report(fit, K, verbose)
  fit
}

# A progress bar of the ADMM iterations (interactive and verbose only): the
# progress callback of the core, or NULL. The bar belongs to `envir`, the
# frame of p4l(), and closes when p4l() returns.
p4l_progress <- function(verbose, max.iter, envir = parent.frame()) {
  if (!(verbose && interactive())) return(NULL)
  pb <- cli::cli_progress_bar("P4L", total = max.iter,
                              format = "P4L ADMM {cli::pb_bar} {cli::pb_current}/{cli::pb_total} iterations | {cli::pb_elapsed}",
                              clear = TRUE, .envir = envir)
  function(it, max.it) cli::cli_progress_update(id = pb, set = it)
}

# What a P4L fit records of how it started: the groups of K = "auto", whether
# alpha and mu were defaults, the initialisation (with the groups of the
# "groups" start) and the states' range.
p4l_record_start <- function(fit, data, groups, alpha.default, mu.default, control, init.Theta,
                             start.groups = NULL) {
  fit$groups <- groups
  fit$start.groups <- start.groups
  fit$alpha.default <- alpha.default
  fit$mu.default <- mu.default
  fit$init <- if (is.character(control$init)) control$init else "user"
  # the one-step model of the "model" and "baseline" starts ("auto" resolved)
  fit$init.model <- if (fit$init %in% c("model", "baseline", "groups") && length(data$ids) > 1L &&
                        fit$rank > 1L) p4l_init_model(data, control$init.model)
  fit$init.policy <- control$init.policy
  fit$Theta.init <- if (is.null(init.Theta)) NULL else {
    th <- init.Theta
    dimnames(th) <- dimnames(fit$Theta)
    th
  }
  # Central 96% of each state dimension: the default plotting range of plot(fit, "policy").
  fit$state.range <- apply(data$S, 2, stats::quantile, probs = c(0.02, 0.98), names = FALSE)
  fit
}

# The warnings of a P4L fit (not converged, values out of range) and, when
# verbose, its one-line report.
p4l_report <- function(fit, K, verbose) {
  if (!fit$converged) warning(p4l_convergence_message(fit), call. = FALSE)
  out.of.range <- p4l_out_of_range(fit)
  if (length(out.of.range)) warning(out.of.range, call. = FALSE)
  if (verbose) {
    message("p4l: ", fit$iterations, " iterations, converged = ", fit$converged,
            ", pessimistic value ", format(fit$value, digits = 5), ", clusters of size ",
            paste(tabulate(fit$cluster, K), collapse = "/"), " (",
            format(fit$timings[["total"]], digits = 3), " s)")
  }
  invisible(fit)
}

# K, rank and (K = "auto") the groups of select_groups(); a rank not given
# follows K. Returns list(K, rank, groups).
p4l_structure <- function(data, K, rank, rank.given, num.threads) {
  N <- length(data$ids)
  groups <- NULL
  if (identical(K, "auto")) {
    groups <- select_groups(data, max.K = min(6L, N), num.threads = num.threads)
    K <- groups$K
  }
  K <- check_count(K, "K", lower = 1L, upper = N)
  if (!rank.given) rank <- K
  rank <- check_count(rank, "rank", lower = 1L, upper = 100L)
  if (rank == 1L && K > 1L) {
    stop_arg("`rank = 1` gives every individual the same policy; use `K = 1` or `rank >= 2`.")
  }
  list(K = K, rank = rank, groups = groups)
}

# The settings of p4l_control() left NULL, which depend on the data: the
# ridge, with the behaviour start an anchor to the data's policy that firms
# with the horizon, 1e-5 / (1 - gamma), with the uniform and FQI starts 1e-5;
# and max.initial, the initial states per individual, 1000 but fewer with
# many individuals N, so that the initial-state work N max.initial stays at
# most 4e6, and at least 250 (?p4l_control). Returns the control with the
# numbers in place.
p4l_resolve_control <- function(control, gamma, N) {
  if (is.null(control$ridge)) {
    control["ridge"] <- list(if (identical(control$init.policy, "behaviour")) 1e-5 / (1 - gamma)
                             else 1e-5)
  }
  if (is.null(control$max.initial)) {
    control["max.initial"] <- list(as.integer(min(1000, max(250, floor(4e6 / N)))))
  }
  control
}

# The penalties alpha and mu: given (checked), or the defaults (?p4l,
# "Defaults"). alpha is the statistical rate of the shared W, sd(R)
# sqrt(p rank / n), but at least 0.2 sd(R) (the basis' own Bellman error does
# not shrink with n); mu the rate of one individual's n / N transitions,
# sqrt(p rank / (n / N)) = rate sqrt(N), at least 0.05 (see ?p4l, "Defaults",
# for why it is not capped at 1 any more). Returns
# list(alpha, alpha.default, mu, mu.default).
p4l_tuning <- function(data, d, rank, alpha, mu) {
  m <- length(data$action.levels)
  n <- length(data$R)
  N <- length(data$ids)
  p <- m * d
  rate <- sqrt(p * rank / n)
  alpha.default <- is.null(alpha)
  if (alpha.default) {
    sdR <- stats::sd(data$R)
    alpha <- if (is.finite(sdR) && sdR > 0) sdR * max(rate, 0.2) else rate
  } else {
    alpha <- check_number(alpha, "alpha", lower = 0)
  }
  mu.default <- is.null(mu)
  mu <- if (mu.default) max(0.05, rate * sqrt(N)) else check_number(mu, "mu", lower = 0)
  list(alpha = alpha, alpha.default = alpha.default, mu = mu, mu.default = mu.default)
}

# The parts of a P4L fit computed after the ADMM: the value table, what
# p4l_assign() needs and the stochastic path's step scale (with its warning).
p4l_complete_fit <- function(fit, res, data, feat, psi0, gamma, alpha, control, seed, solver,
                             num.threads) {
  fit$kappa <- if (identical(solver, "sgd")) 0 else p4l_kappa(control, gamma)
  fit$value.range <- p4l_value_range(data)
  fit$values <- p4l_value_table(data, res$value.table, gamma)
  fit$solver <- solver
  # What p4l_assign() needs to place new individuals without the training data.
  fit$data.columns <- c(data$columns, list(is.terminal = isTRUE(data$is.terminal),
                                           na.action = data$na.action, last = data$last))
  fit$assignment.model <- p4l_assignment_model(fit, data, num.threads, feat = feat)
  if (identical(solver, "sgd")) {
    fit$sgd.step.scale <- res$sgd.step.scale
    if (res$sgd.step.scale > 100) {
      warning("p4l(solver = \"sgd\"): the minibatch noise is large on this basis (step scale ",
              format(res$sgd.step.scale, digits = 3), ", against about 25 on a 4-centre basis): ",
              "the stochastic path needs that many times more steps, and its policy may be far ",
              "from the closed-form fit. Use solver = \"closed\" (the default), or fewer basis ",
              "centres.", call. = FALSE)
    }
  }
  fit
}

# The core fit on given features (also used by tests and benchmarks).
p4l_fit_features <- function(data, psi, psi.next, psi0, rank, K, gamma = 0.8, alpha = 0.05,
                             mu = 0.1, control = p4l_control(), init.U = NULL,
                             init.Theta = NULL, seed = 1, progress = NULL, num.threads = 1L,
                             solver = "closed", value.table = FALSE) {
  inp <- p4l_inputs(data, psi, psi.next, psi0)
  control <- p4l_resolve_control(control, gamma, length(data$ids))
  ctl <- p4l_settings(control, gamma, seed, solver, value.table)
  U0 <- if (is.null(init.U)) matrix(0, 0, 0) else init.U
  T0 <- if (is.null(init.Theta)) matrix(0, 0, 0) else init.Theta
  p4l_fit_cpp(inp$transitions, inp$psi0, as.integer(rank), as.integer(K), gamma, alpha, mu, ctl,
              U0, T0, progress, num.threads)
}

# The settings p4l_fit_cpp() reads (strictly: src/p4l_bindings.cpp,
# make_control()): the p4l_control() object with the settings that depend on
# the fit resolved: kappa (0 for the stochastic path), iterative.min as an
# integer (Inf: never iterative), the seed, the solver and whether the core
# returns the value table (p4l_value_table()) computed on its own data
# statistics.
p4l_settings <- function(control, gamma, seed, solver, value.table = FALSE) {
  ctl <- unclass(control)
  ctl$kappa <- if (identical(solver, "sgd")) 0 else p4l_kappa(control, gamma)
  ctl$iterative.min <- as.integer(min(control$iterative.min, .Machine$integer.max))
  ctl$seed <- as.numeric(seed)
  ctl$solver <- solver
  ctl$value.table <- isTRUE(value.table)
  ctl
}

# Inputs of the P4L core: the transitions (transition_inputs()) and the
# features of the initial states, read in place as well (double).
p4l_inputs <- function(data, psi, psi.next, psi0) {
  list(transitions = transition_inputs(data, psi, psi.next), psi0 = as_double(psi0))
}

# The groups of the "groups" start (control$init): an integer vector named by
# id, the group of each individual (NA: none, it keeps its own "model" start),
# from the groups of K = "auto" when it chose K, else from select_groups()'s
# partition into K groups; NULL (with a message) when select_groups() cannot
# run or K = 1.
p4l_start_groups <- function(data, K, groups, num.threads = 1L) {
  ids <- as.character(data$ids)
  if (K < 2L) return(NULL)
  if (!is.null(groups) && groups$K == K) return(stats::setNames(groups$cluster[ids], ids))
  sg <- tryCatch(select_groups(data, max.K = K, num.threads = num.threads),
                 error = function(e) {
                   message("p4l(): `init = \"groups\"`: select_groups() could not run (",
                           conditionMessage(e), "); the \"model\" start is used.")
                   NULL
                 })
  if (is.null(sg)) return(NULL)
  # partitions by K (columns) of the clustered individuals (rows, by id)
  cl <- sg$clusters
  col <- match(as.character(K), colnames(cl))
  if (is.na(col)) {
    message("p4l(): `init = \"groups\"`: select_groups() has no partition into ", K,
            " groups; the \"model\" start is used.")
    return(NULL)
  }
  stats::setNames(as.integer(cl[match(ids, rownames(cl)), col]), ids)
}

# Starting latent variables (N x rank, first column 1) or NULL (random start in
# C++). `groups` (the "groups" start): each individual's scores are replaced
# by their mean over its group (individuals with NA keep their own).
p4l_initial_u <- function(data, rank, control, seed, num.threads = 1L, groups = NULL) {
  N <- length(data$ids)
  if (rank == 1L) return(NULL)
  init <- control$init
  if (is.matrix(init)) {
    if (nrow(init) != N || ncol(init) != rank - 1L) {
      stop_arg("`control$init` must be an N x (rank - 1) matrix: ", N, " x ", rank - 1L,
               "; got ", nrow(init), " x ", ncol(init), ".")
    }
    return(cbind(1, unname(init)))
  }
  if (identical(init, "random")) return(NULL)
  if (identical(init, "baseline") && is.null(data$baseline)) {
    stop_arg("`control$init = \"baseline\"` needs baseline covariates: give ",
             "`p4l_data(baseline = )`.")
  }
  model <- p4l_init_model(data, control$init.model)
  Z <- p4l_model_coefficients(data, control$init.ridge, num.threads,
                              baseline = if (identical(init, "baseline")) data$baseline,
                              model = model)
  Z <- sweep(Z, 2, colMeans(Z))
  q <- rank - 1L
  # The leading principal component scores u_j d_j = Z v_j, with v_j from
  # the eigenvectors of Z'Z (ncol(Z) x ncol(Z)): svd(Z)'s to rounding, in
  # O(N k^2) instead of a thin SVD of the N x k matrix (2.1 s -> 0.4 s at
  # 16,000 individuals and 225 coefficients).
  nq <- min(q, ncol(Z), nrow(Z))
  ev <- eigen(crossprod(Z), symmetric = TRUE)
  scores <- Z %*% ev$vectors[, seq_len(nq), drop = FALSE]
  if (ncol(scores) < q) {
    # More free coordinates than model coefficients: pad with small seeded noise.
    local_seed(seed)
    scores <- cbind(scores, matrix(stats::rnorm(N * (q - ncol(scores)), sd = 0.1), N))
  }
  if (!is.null(groups)) {
    g <- groups[as.character(data$ids)]
    ok <- !is.na(g)
    if (any(ok)) scores[ok, ] <- apply(scores[ok, , drop = FALSE], 2, stats::ave, g[ok])
  }
  # Fix the sign of each component (largest loading positive) for a stable start.
  sgn <- sign(scores[cbind(apply(abs(scores), 2, which.max), seq_len(q))])
  sgn[sgn == 0] <- 1
  scores <- sweep(scores, 2, sgn, "*")
  rms <- sqrt(sum(scores^2) / N)
  if (rms > 0) scores <- scores / rms
  cbind(1, scores)
}

# ((m - 1) d) x rank starting Theta from a pooled FQI fit on the given features
# (n x d, intercept first): shared column c (w_a - w_1), a = 2..m, stacked by
# action; c sets the root mean square of the starting logits psi(S) (w_a - w_1)
# over the observed states to control$init.policy.scale. NULL for "uniform".
p4l_initial_theta <- function(data, psi, psi.next, rank, gamma, control, num.threads = 1L) {
  init <- control$init.policy
  if (identical(init, "behaviour")) {
    # The behaviour model (behaviour_policy() on the same features): its
    # logits relative to the first action are the shared column.
    bm <- fit_multinom(psi, data$A, length(data$action.levels), 1e-4, 100L, 1e-8,
                       num.threads = num.threads)
    Theta <- matrix(0, length(bm$W) - nrow(bm$W), rank)
    Theta[, 1L] <- as.numeric(bm$W[, -1L, drop = FALSE])
    return(Theta)
  }
  if (!identical(init, "fqi")) return(NULL)
  fq <- fqi_fit_features(data, psi, psi.next, gamma = gamma, num.threads = num.threads)
  W <- fq$W
  D <- W[, -1L, drop = FALSE] - W[, 1L]
  logits <- psi %*% D
  rms <- sqrt(mean(logits^2))
  if (!is.finite(rms) || rms == 0) return(NULL)  # FQI is indifferent: uniform start
  Theta <- matrix(0, length(D), rank)
  Theta[, 1L] <- as.numeric(D) * (control$init.policy.scale / rms)
  Theta
}

# The one-step model of the "model" start (control$init.model): "full" or
# "intercept" as given; "auto" is "full" when the median individual has at
# least 2 (1 + q) transitions per action (q states), else "intercept".
p4l_init_model <- function(data, init.model) {
  if (!identical(init.model, "auto")) return(init.model)
  n <- tabulate(data$individual, length(data$ids))
  per.action <- stats::median(n) / length(data$action.levels)
  if (per.action >= 2 * (1 + ncol(data$S))) "full" else "intercept"
}

# Each individual's one-step model: per action, ridge regression of (R, S') on
# (1, S) shrunk toward the pooled fit by `lambda` pseudo-transitions; responses
# scaled by their pooled residual sd. Returns N x (m (1+q) (1+q)). With
# model = "intercept" the slopes stay pooled and only the intercept is the
# individual's: the sum of its scaled residuals from the pooled regression
# divided by (its number of transitions + lambda), i.e. the same ridge with
# the slopes fixed; returns N x (m (1+q)) deviations from the pooled
# intercepts (columns action by action, responses R, S'_1, ..., S'_q).
p4l_model_coefficients <- function(data, lambda, num.threads = 1L, baseline = NULL,
                                   model = c("full", "intercept")) {
  model <- match.arg(model)
  N <- length(data$ids)
  if (!is.null(baseline)) {
    baseline <- as.matrix(baseline)
    keep <- apply(baseline, 2, function(v) stats::sd(v) > 0)
    baseline <- if (any(keep)) baseline[, keep, drop = FALSE] else NULL
  }
  m <- length(data$action.levels)
  S <- scale(data$S)
  cs <- column_scales(data$S, shift = attr(S, "scaled:center"), scale = attr(S, "scaled:scale"))
  ctr <- cs$shift
  scl <- cs$scale
  scl[scl == 0] <- 1
  S <- standardise_columns(data$S, ctr, scl)
  Sn <- center_scale(data$S_next, ctr, scl)
  X <- cbind(1, S)
  k <- ncol(X)
  use.next <- !data$terminal
  Y <- cbind(data$R, Sn)
  if (model == "intercept") {
    return(p4l_intercept_deviations(X, Y, data$A, data$individual, use.next, N, m, lambda,
                                    baseline))
  }
  out <- NULL
  for (a in seq_len(m)) {
    rows <- which(data$A == a)
    coefs <- matrix(0, N, k * ncol(Y))
    for (j in seq_len(ncol(Y))) {
      rj <- if (j == 1L) rows else rows[use.next[rows]]
      Xa <- X[rj, , drop = FALSE]
      ya <- Y[rj, j]
      g <- data$individual[rj]
      if (length(rj) == 0L) next
      pooled <- qr.coef(qr(Xa), ya)
      pooled[is.na(pooled)] <- 0
      res.sd <- stats::sd(ya - Xa %*% pooled)
      # Known flaw, kept (changing it is an estimator change, issue 12): a
      # response that state and action determine exactly (CartPole's reward,
      # treatment flags) has a residual sd of rounding size (1e-16), so its
      # columns, rounding noise times 1e16, dominate the SVD of the start.
      # Scaling them by 1 instead moved the stress suite (bench/README.md,
      # "Measuring the thread ratio").
      if (!is.finite(res.sd) || res.sd == 0) res.sd <- 1
      # B_i = (X_i'X_i + lambda I)^-1 (X_i'y_i + lambda pooled), pooled if absent
      B <- group_ridge_cpp(Xa, ya, g - 1L, N, pooled, lambda, num.threads)
      if (!is.null(baseline)) {
        # Shrink towards the coefficients the baseline covariates predict
        # instead of the pooled ones: B_i = F_i + (X_i'X_i + lambda I)^-1 X_i'(y_i - X_i F_i).
        Fb <- baseline_predict(baseline, B)
        B <- Fb + group_ridge_cpp(Xa, ya - rowSums(Xa * Fb[g, , drop = FALSE]), g - 1L, N,
                                  numeric(k), lambda, num.threads)
      }
      coefs[, (j - 1L) * k + seq_len(k)] <- B / res.sd
    }
    out <- cbind(out, coefs)
  }
  out
}

# The "intercept" one-step models (see p4l_model_coefficients()): per action
# a, the pooled least-squares fit on X = (1, S) of the reward over the rows
# with action a and of the next states over those of them with a next state
# (one QR per row set for all its responses), residuals scaled by their sd,
# and each individual's deviation sum(e) / (n_i + lambda) (0 without such
# rows). With `baseline`, the deviations shrink toward the ones the baseline
# covariates predict (F_i) instead of 0: F_i + sum(e - F_i) / (n_i + lambda).
p4l_intercept_deviations <- function(X, Y, A, individual, use.next, N, m, lambda,
                                     baseline = NULL) {
  deviations <- function(rows, cols) {
    if (length(rows) == 0L) return(matrix(0, N, length(cols)))
    e <- least_squares_residuals(X[rows, , drop = FALSE], Y[rows, cols, drop = FALSE])
    res.sd <- apply(e, 2, stats::sd)
    res.sd[!is.finite(res.sd) | res.sd == 0] <- 1
    e <- sweep(e, 2, res.sd, "/")
    g <- individual[rows]
    n <- tabulate(g, N)
    sums <- matrix(0, N, length(cols))
    sums[sort(unique(g)), ] <- rowsum(e, g)
    dev <- sums / (n + lambda)
    if (!is.null(baseline)) {
      for (j in seq_along(cols)) {
        Fb <- as.numeric(baseline_predict(baseline, dev[, j, drop = FALSE]))
        dev[, j] <- Fb + (sums[, j] - n * Fb) / (n + lambda)
      }
    }
    dev
  }
  out <- NULL
  for (a in seq_len(m)) {
    rows <- which(A == a)
    out <- cbind(out, deviations(rows, 1L),
                 deviations(rows[use.next[rows]], seq_len(ncol(Y))[-1L]))
  }
  out
}

# Residuals of the least-squares regressions of the columns of Y on X
# (coefficients of columns that X's rank leaves undetermined set to 0).
least_squares_residuals <- function(X, Y) {
  b <- qr.coef(qr(X), Y)
  b[is.na(b)] <- 0
  Y - X %*% b
}

# Fitted values of a ridge regression of the columns of Y (N x k) on the
# standardised baseline covariates (N x q) with an intercept; the penalty is
# chosen by generalised cross-validation (summed over the columns of Y) on a
# grid, so covariates that do not predict Y are shrunk to the column means.
baseline_predict <- function(baseline, Y) {
  X <- scale(baseline)
  N <- nrow(X)
  Yc <- sweep(Y, 2, colMeans(Y))
  sv <- svd(X)
  d2 <- sv$d^2
  UtY <- crossprod(sv$u, Yc)
  best <- NULL
  for (lam in c(0, 10^seq(-2, 4, by = 0.5)) * N) {
    f <- d2 / (d2 + lam)
    fit <- sv$u %*% (f * UtY)
    df <- 1 + sum(f)
    if (df >= N) next
    gcv <- sum((Yc - fit)^2) / (1 - df / N)^2
    if (is.null(best) || gcv < best$gcv) best <- list(gcv = gcv, fit = fit)
  }
  sweep(best$fit, 2, colMeans(Y), "+")
}

# The regularisation kappa of the inner problem actually used: the user's, or
# the default 0.2 (1 - gamma) (see p4l_control()).
p4l_kappa <- function(control, gamma) {
  if (is.null(control$kappa)) 0.2 * (1 - gamma) else control$kappa
}

# Range of values any policy can attain, on the discount-normalised scale
# (1 - gamma) E[sum_t gamma^t R_t]: [min R, max R], widened to 0 when some
# trajectories end in an absorbing state (no reward after it).
p4l_value_range <- function(data) {
  r <- range(data$R)
  if (any(data$terminal)) r <- range(c(r, 0))
  r
}

# Pessimistic and point values of the learned softmax policy and of the
# deployed greedy policy (the softmax with its logits scaled by 1e6, i.e. its
# most probable action), with the fitted latent variables, over the initial
# states the fit used (all, or its seeded subsample of control$max.initial).
# Both scales: `normalised` (1 - gamma) E[sum_t gamma^t R_t], the scale
# of `fit$value`, and `discounted` E[sum_t gamma^t R_t], the scale of
# evaluate_policy().
p4l_value_table <- function(data, core, gamma) {
  # core: list(values = 2 x 2 (pessimistic, point) x (softmax, greedy), error),
  # computed by the fit on its own problem (p4l_fit_features(value.table = TRUE))
  vals <- if (nzchar(core$error)) {
    warning("p4l(): the value table could not be computed (", core$error,
            "); `fit$values` holds NA.", call. = FALSE)
    matrix(NA_real_, 2, 2)
  } else {
    t(core$values)
  }
  rownames(vals) <- c("softmax", "greedy")
  # Projection onto the attainable range: an estimate that leaves the range by
  # less than its own uncertainty radius alpha s (= point - pessimistic) is
  # reported at the nearest end of the range (the projection never moves an
  # estimate away from the true value, which lies in the range), and flagged;
  # a larger excess is left as it is and p4l() warns (p4l_out_of_range()).
  rg <- p4l_value_range(data)
  radius <- pmax(vals[, 2] - vals[, 1], 0)
  project <- function(v) {
    excess <- pmax(v - rg[2], rg[1] - v, 0)
    ok <- is.finite(v) & excess > 0 & excess <= radius
    list(value = ifelse(ok, pmin(pmax(v, rg[1]), rg[2]), v), clipped = ok)
  }
  pe <- project(vals[, 1])
  po <- project(vals[, 2])
  data.frame(policy = c("softmax", "greedy"), scale = rep(c("normalised", "discounted"), each = 2),
             pessimistic = c(pe$value, pe$value / (1 - gamma)),
             point = c(po$value, po$value / (1 - gamma)),
             clipped = rep(pe$clipped | po$clipped, 2),
             pessimistic.raw = c(vals[, 1], vals[, 1] / (1 - gamma)),
             point.raw = c(vals[, 2], vals[, 2] / (1 - gamma)), stringsAsFactors = FALSE)
}

# Warning text for values outside the attainable range (character(0) if none).
p4l_out_of_range <- function(fit) {
  rg <- fit$value.range
  if (is.null(rg) || is.null(fit$values)) return(character(0))
  v <- fit$values[fit$values$scale == "normalised", ]
  tol <- 1e-6 * max(1, abs(rg))
  bad <- c(v$pessimistic, v$point)
  bad <- bad[is.finite(bad) & (bad < rg[1] - tol | bad > rg[2] + tol)]
  if (!length(bad)) return(character(0))
  paste0("p4l(): a value estimate (", paste(format(bad, digits = 4), collapse = ", "),
         ") lies outside the range any policy can attain on this scale [",
         format(rg[1], digits = 4), ", ", format(rg[2], digits = 4), "]: the data do not pin ",
         "the Q-function down where the learned policy goes. Do not report it; increase ",
         "`control$kappa` (now ", format(fit$kappa, digits = 3), "), `alpha`, or use a smaller basis.")
}

# Why a fit did not converge, and what to change.
p4l_convergence_message <- function(fit) {
  tr <- fit$trace
  where <- paste0("last relative change of the objective ",
                  format(p4l_last_change(tr), digits = 3), ", primal residual ",
                  format(utils::tail(tr$primal.residual, 1), digits = 3))
  status <- if (is.null(fit$status)) "max.iter" else fit$status
  switch(status,
    stalled = paste0("p4l() did not converge: the line search stalled at iteration ",
                     fit$iterations, " (", fit$stalls, " failed searches where the gradient ",
                     "promised a gain; ", where, "). The value is not smooth enough along ",
                     "the ascent direction, typically because the inner Bellman system is ",
                     "nearly singular at this policy: increase `control$kappa` (now ",
                     format(fit$kappa, digits = 3), ") or `alpha`, or use fewer basis functions."),
    primal = paste0("p4l(solver = \"sgd\") ended with a large ADMM primal residual (", where,
                    "); increase `control$max.iter`."),
    diverged = paste0("p4l(solver = \"sgd\"): the stochastic path diverged (non-finite ",
                      "minibatch values) after ", fit$iterations, " outer iteration(s); the fit ",
                      "is the last finite iterate and is not converged. Lower the steps ",
                      "(p4l_sgd_control(step = , step.policy = , step.latent = )), or use ",
                      "solver = \"closed\" (the default)."),
    paste0("p4l() did not converge in ", fit$iterations, " iterations (", where,
           "); increase `control$max.iter` or loosen `control$tol`."))
}

p4l_last_change <- function(trace) {
  obj <- trace$objective
  if (length(obj) < 2L) return(NA_real_)
  abs(obj[length(obj)] - obj[length(obj) - 1L]) / max(1, abs(obj[length(obj)]))
}

# Builds the p4l_fit object (plain R data) from the core result.
p4l_build_fit <- function(res, data, basis, gamma, K, rank, alpha, mu, control, seed,
                          num.threads) {
  N <- length(data$ids)
  m <- length(data$action.levels)
  d <- basis_dim(basis)
  ids <- as.character(data$ids)
  feat.names <- basis_names(basis)
  act <- as.character(data$action.levels)
  # Relabel clusters by first appearance in data$ids (deterministic, readable).
  lab <- as.integer(res$cluster)
  ord <- unique(c(unique(lab), seq_len(K)))
  new.lab <- match(lab, ord)
  centroids <- res$centroids[ord, , drop = FALSE]
  U <- res$U
  Theta <- res$Theta
  W <- res$W
  u.names <- paste0("u", seq_len(rank))
  dimnames(U) <- list(ids, u.names)
  dimnames(centroids) <- list(paste0("cluster", seq_len(K)), u.names)
  dimnames(Theta) <- list(paste0(rep(act[-1], each = d), ":", rep(feat.names, m - 1L)), u.names)
  dimnames(W) <- list(paste0(rep(act, each = d), ":", rep(feat.names, m)), u.names)
  policy.coef <- vector("list", N)
  q.coef <- vector("list", N)
  for (i in seq_len(N)) {
    policy.coef[[i]] <- p4l_policy_coef(Theta, U[i, ], d, m, feat.names, act)
    q.coef[[i]] <- p4l_q_coef(W, U[i, ], d, m, feat.names, act)
  }
  cluster <- stats::setNames(new.lab, ids)
  trace <- as.data.frame(res$trace)
  trace <- cbind(iteration = seq_len(nrow(trace)), trace)
  new_p4l_policy("p4l", "p4l_fit", basis = basis, gamma = gamma,
                 action.levels = data$action.levels, action.type = data$action.type,
                 state.names = data$state.names, id.column = data$columns$id, ids = data$ids,
                 slot = seq_len(N), policy.coef = policy.coef, q.coef = q.coef,
                 greedy = !identical(control$policy, "softmax"),
                 epsilon = 0, raw.state = FALSE, cluster = cluster,
                 coding = data$coding, baseline = data$baseline,
                 num.transitions = length(data$R), Theta = Theta, W = W, U = U,
                 centroids = centroids, K = K, rank = rank, alpha = alpha, mu = mu,
                 value = res$value, point.value = res$point.value, lambda = res$lambda,
                 objective = res$objective, penalty = res$penalty, trace = trace,
                 converged = res$converged, status = res$status, stalls = res$stalls,
                 rcond = res$rcond,
                 inner.solves = c(factorisations = res$inner[1], cg.iterations = res$inner[2]),
                 iterations = res$iterations,
                 evaluations = res$evaluations,
                 # the convergence record every estimator has (see fit_convergence())
                 convergence = list(converged = res$converged, iterations = res$iterations,
                                    status = res$status, stalls = res$stalls,
                                    evaluations = res$evaluations),
                 control = control, seed = seed, num.threads = num.threads)
}

# d x m logit coefficients of latent u: column a = Theta_a u (first action 0).
p4l_policy_coef <- function(Theta, u, d, m, feat.names, act) {
  tu <- as.numeric(Theta %*% u)
  matrix(c(numeric(d), tu), d, m, dimnames = list(feat.names, act))
}

# d x m worst-case Q coefficients of latent u: column a = W[block a, ] u.
p4l_q_coef <- function(W, u, d, m, feat.names, act) {
  matrix(as.numeric(W %*% u), d, m, dimnames = list(feat.names, act))
}
