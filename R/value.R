#' Off-policy value of a policy on observed data, with bootstrap intervals
#'
#' Estimates the value of following `policy` from the observed data alone (no
#' simulator), by fitted-Q evaluation, a doubly robust estimator or weighted
#' importance sampling, with standard errors and confidence intervals from a
#' bootstrap over individuals.
#'
#' @section The value:
#' The value is the expected discounted return \eqn{\sum_t \gamma^t R_t} of
#' following `policy` from the individuals' observed initial states (the
#' state of each individual's first transition), averaged over the
#' individuals: the scale of `evaluate_policy()$value`, so on a simulator the
#' two can be compared directly (`evaluate_policy()` averages over the
#' environment's initial-state distribution, here the observed initial
#' states stand for it). `t` counts the transitions of an individual
#' (0, 1, 2, ...), whatever the recorded times. Fitted policies report
#' `fit$value` on the normalised scale \eqn{(1-\gamma)} times this; multiply
#' the estimate here by \eqn{1-\gamma} to compare with it.
#'
#' @section Estimators:
#' \describe{
#' \item{`"fqe"`}{Fitted-Q evaluation in its closed form (LSTD-Q): with
#'   \eqn{\phi(s, a) = e_a \otimes \psi(s)} (the basis features of the
#'   action's block) and \eqn{\bar\phi_t = \sum_a \pi(a \mid S'_t)
#'   \phi(S'_t, a)} (0 for terminal transitions), the weights solve
#'   \eqn{(\sum_t \phi_t (\phi_t - \gamma \bar\phi_t)^\top + \mathrm{ridge}\,
#'   n I) w = \sum_t \phi_t R_t} (n transitions), and the value is the mean
#'   over individuals of \eqn{\sum_a \pi(a \mid s_{i0}) Q(s_{i0}, a)}. For an
#'   individual policy each transition's \eqn{\bar\phi_t} uses that
#'   individual's own policy. One Q-function is fitted per group of
#'   individuals (`q.groups`): by default one per subgroup that
#'   [select_groups()] finds in `data` (one pooled over all individuals when
#'   it finds one), the same groups whatever the policy. A pooled
#'   Q-function depends on the state only, so it mixes individuals whose
#'   dynamics or policies differ, and its value is not the mean of theirs:
#'   on the dose study of `vignette("own-data")` ([sim_dose_study()], 40
#'   patients, seed 2026, P4L with K = 2, true value -53.8) the pooled FQE
#'   gave -67.4 and the per-cluster FQE -52.4; on the 2-D study (three
#'   subgroups with different dynamics, 600 new individuals, 64 centres at
#'   half the median bandwidth; `bench/README.md`, "FQE per subgroup") the
#'   pooled FQE overestimated the pooled FQI policy by 0.015 and
#'   per-subgroup Q-functions were within 0.013. Earlier versions used the
#'   policy's clusters for a clustered policy and one pooled fit otherwise
#'   (now `q.groups = "policy"`).
#'
#'   With `bounded = TRUE` (default) the next-state value in the Bellman
#'   targets is clipped to the values any policy can attain (see
#'   `value.range` below): the Q-function solves \eqn{Q = \Pi[R + \gamma\,
#'   \mathrm{clip}(V(S'), v_{lo}, v_{hi})]}{Q = Proj[R + gamma clip(V(S'),
#'   lo, hi)]} (\eqn{\Pi} the ridge projection above) by active sets, and
#'   each individual's initial value is clipped too. When no next-state
#'   value leaves the range the solution is the LSTD-Q one above, unchanged;
#'   otherwise it stops a linear Q-function from extrapolating beyond what
#'   any policy can attain where the policy leaves the data. On CartPole
#'   (reward 1 per step, gamma 0.9, 32 RBF centres, setting A, 300
#'   trajectories, `bench/README.md`) the unbounded FQE value of pooled
#'   FQI was 10.85 where at most 10 is attainable; bounded, 9.999, against
#'   a true value of 10.0. `print()` reports the share of next-state
#'   values clipped; the bootstrap resamples start from the full-data
#'   clipped set.}
#' \item{`"dr"`}{The weighted per-decision doubly robust estimator (WDR,
#'   Thomas and Brunskill 2016) with the FQE Q-function \eqn{\hat Q},
#'   \eqn{\hat V(s) = \sum_a \pi(a \mid s) \hat Q(s, a)}:
#'   \deqn{\frac1N \sum_i \hat V(s_{i0}) + \sum_t \gamma^t \frac{\sum_i
#'   \rho_{i,t} \delta_{i,t}}{\sum_i \rho_{i,t}},\quad \delta_{i,t} = R_{i,t} +
#'   \gamma \hat V(S'_{i,t}) - \hat Q(S_{i,t}, A_{i,t}),}
#'   with \eqn{\rho_{i,t} = \prod_{u \le t} \pi(A_{i,u} \mid S_{i,u}) /
#'   b(A_{i,u} \mid S_{i,u})} the cumulative importance ratio (no clipping)
#'   and \eqn{\hat V(S') = 0} after a terminal transition.}
#' \item{`"wis"`}{Per-decision weighted importance sampling:
#'   \eqn{\sum_t \gamma^t \sum_i \rho_{i,t} R_{i,t} / \sum_i \rho_{i,t}}.}
#' }
#' Self-normalisation at step t (both `"dr"` and `"wis"`): an individual
#' whose trajectory was cut short (follow-up ended without a terminal
#' transition) leaves the sums after its last transition: its future is
#' unobserved. An individual whose trajectory ended in a terminal (absorbing)
#' transition stays in the denominator with its last weight and contributes
#' zero reward (and zero \eqn{\delta}) afterwards. A step where all weights
#' are zero (no individual followed the policy that far) adds nothing: `"dr"`
#' then relies on \eqn{\hat Q} alone and `"wis"` counts no reward. The
#' effective sample size \eqn{(\sum_i \rho_{i,t})^2 / \sum_i \rho_{i,t}^2} of
#' the weights at each step is reported (`attr(, "diagnostics")$ess`, and by
#' `print()`), with the smallest fitted propensity of an observed action.
#'
#' @section Bootstrap:
#' Individuals are resampled with replacement (`num.boot` resamples, all
#' drawn up front from `seed`); each resample refits the FQE Q-function
#' (from per-individual sufficient statistics, so a resample costs one small
#' linear solve) and recomputes the DR and WIS weights' normalisation. The
#' behaviour model is fitted once on all the data and not refitted per
#' resample, so the intervals of `"dr"` and `"wis"` do not include its
#' estimation error; the basis is also kept fixed. The resamples run through
#' the package's parallel map in chunks of 20, so results are identical for
#' any `future::plan()`. `se` is the standard deviation of the bootstrap
#' estimates; `interval = "percentile"` gives their `(1 - level)/2` and
#' `(1 + level)/2` quantiles (`quantile()` type 7), `"bca"` the bias-corrected
#' and accelerated interval (Efron 1987) with the acceleration from the
#' jackknife over individuals.
#'
#' **A policy learned from the same data.** The bootstrap holds the policy
#' fixed and resamples the individuals it is evaluated on. When the policy
#' was learned from these same individuals, part of its estimation error is
#' shared with the evaluation data and the resamples do not see it: on the
#' 2-D study (`bench/README.md`, sections on coverage and on FQE bases) the
#' bootstrap se of FQE for the learned greedy policies of P4L and FQI was
#' 10 to 20% below the actual error's standard deviation, and the FQE value
#' was biased (-0.04 to +0.03 depending on the basis; a smooth basis
#' underestimates a greedy policy's value, a flexible one overestimates
#' the value of a policy greedy with respect to a Q-function fitted to the
#' same data). The 95% FQE intervals covered 67 to 88% there, the wider DR
#' intervals 92 to 94% (measured with the earlier default Q-function
#' groups). For a value to report, evaluate on individuals the policy was
#' not learned from (see the next section), or use `"dr"`.
#'
#' @section Evaluating on held-out individuals:
#' Split the data by individual (`subset(d, ids = )`), learn the policy on
#' one part and call `policy_value(fit, heldout)` on the other. A pooled
#' policy ([fqi()], [behaviour_policy()], ...) applies to anyone. A [p4l()]
#' fit places each individual it was not trained on once, by [p4l_assign()]
#' from that individual's transitions in `data` (all of them; a message says
#' how many were placed, and `attr(, "diagnostics")$new.individuals` counts
#' them), so the value is that of the policies P4L would deploy for these
#' individuals. Other individual policies (V-learning, ACPI) have no policy
#' for new individuals.
#'
#' On the 2-D study (`bench/README.md`, "Coverage of `policy_value()`
#' intervals on held-out individuals"; policies learned on 60 individuals,
#' evaluated on 60 new ones, 200 replications) this is the route whose 95%
#' intervals hold their level: with the default groups and basis, FQE
#' covered the truth in 93.5% of replications for P4L and 90.5% for FQI,
#' DR in 93 to 95%, and both 91.5 to 94% for the uniform and the fitted
#' behaviour policies.
#'
#' @section The evaluation basis:
#' With `basis = NULL` the Q-function (and the default behaviour model) use
#' [default_basis()] of `data` with \eqn{k = \min(64, \max(16, \lfloor n/50
#' \rfloor))}{k = min(64, max(16, floor(n / 50)))} RBF centres for n transitions
#' (one centre per 50 transitions, at least 16, the fits' default, and at
#' most 64), fewer (but not below 16) when the bootstrap's per-individual
#' statistics, N individuals x (|A| (centres + 1))^2 numbers, would pass
#' \eqn{2^{25}}{2^25} (256 MB). The RBF bandwidth is the median rule times
#' \eqn{(16/k)^{1/d}}{(16 / k)^(1 / d)} for d continuous state columns:
#' k-means centres in d dimensions lie about \eqn{k^{-1/d}}{k^(-1/d)} apart,
#' so each centre keeps the reach relative to its neighbours that the
#' 16-centre default has (64 centres on 2 columns: half the median distance;
#' on 20 columns 0.93 of it). The evaluation basis is built on the
#' evaluated data and need not be the policy's own.
#'
#' Why narrower: with the median bandwidth, more centres add little
#' resolution, and FQE underestimated the values of greedy policies on the
#' 2-D study even with 60,000 transitions (per-subgroup Q-functions, 64
#' centres: -0.028 for both P4L and FQI; at half the bandwidth -0.013 and
#' -0.012). The pooled Q-function of the earlier default hid this for pooled
#' policies, its overestimate cancelling the basis's underestimate. The rule
#' and the default `q.groups` were chosen together on development seeds
#' 7001 to 7024 (`bench/fqe-groups-dev.R`, 60 new individuals): mean FQE
#' error +0.001 (FQI) and 0.000 (P4L) against +0.005 and -0.014 before;
#' the number of centres was chosen earlier on development data (2-D
#' study, seeds 7001, 7002 and 7016 to 7018, FQI and P4L learned on 60
#' individuals and evaluated on 60 new ones, 6,000 transitions, median
#' bandwidth; `bench/README.md`): the FQE error of FQI (pooled Q-function)
#' was -0.025 with 16 centres, -0.005 with 36, +0.003 with 64 and +0.005
#' with 100; of P4L -0.048, -0.023, -0.014 and -0.012 (per-cluster
#' Q-functions). A narrower bandwidth then gave FQI's pooled estimate
#' +0.017: the overestimate of the pooled Q-function, no longer cancelled.
#'
#' With `by = "individual"` each row is one individual: for `"fqe"` the value
#' of the individual's policy from its own initial state under its group's
#' Q-fit, with intervals from the same resamples (the individual's initial
#' state is fixed; the Q-function varies). For `"dr"` and `"wis"` it is the
#' individual's own term of the estimator (the overall estimate is their
#' mean); a single trajectory's term has no bootstrap distribution over
#' individuals, so its `se`, `lower` and `upper` are `NA`.
#'
#' @param policy A fitted policy (class `p4l_policy`): [p4l()], [fqi()],
#'   [vlearning()], [acpi()], [uniform_policy()], [behaviour_policy()], ...
#'   An individual policy needs data of its training individuals, except a
#'   [p4l()] fit, which places new individuals (see Evaluating on held-out
#'   individuals).
#' @param data A [p4l_data()] object with the policy's states and actions.
#' @param method One or more of `"fqe"`, `"dr"`, `"wis"` (see Estimators),
#'   computed on the same resamples; `"fqe"` when not given.
#' @param gamma Discount factor in \[0, 1); `NULL` takes the policy's.
#' @param basis The basis of the Q-function and of the default behaviour
#'   model: any `p4l_basis` on the data's states, or `NULL` for
#'   [default_basis()] of `data` with a number of RBF centres that grows with
#'   the number of transitions (16 to 64; see The evaluation basis), seeded
#'   by `seed`.
#' @param behaviour For `"dr"` and `"wis"`: the behaviour policy, a
#'   `p4l_policy` (e.g. [uniform_policy()] when it is known), or `NULL` to
#'   fit [behaviour_policy()] on `data` with `basis`.
#' @param q.groups The groups of individuals that get their own Q-function
#'   (FQE, and the Q-function of DR): `NULL` (default) for the subgroups
#'   [select_groups()] finds in `data` with its defaults (one pooled
#'   Q-function when it finds one, or when it cannot run on the data: a
#'   message says so), `"policy"` for the policy's clusters when it has
#'   several (else pooled), `"pooled"` for one Q-function for all, or one
#'   group label per individual of `data` (in the order of `data$ids`, or
#'   named by id). Each group's fit uses only its individuals' transitions,
#'   so it needs enough of them. The default is the same for every policy on
#'   the same data, so estimates of different policies are comparable; it
#'   runs [select_groups()] at each call (a fraction of a second on long
#'   trajectories, about 5 s per 1,000 short ICU stays), so give the groups
#'   (`select_groups(data)$cluster`) to reuse them across calls.
#' @param ridge Ridge penalty per transition of the FQE solve (added to the
#'   diagonal times the number of transitions). It shrinks the Q-function
#'   towards 0 and so the value too: on [sim_linear2d()] (60 individuals x
#'   100 steps, seeds 9001 to 9004) the default of [fqi()], 1e-4, lowered the
#'   FQE value of fitted policies by about 0.02 (of 3.5), 1e-6 by less than
#'   0.001 compared with 1e-8; hence the default 1e-6.
#' @param bounded Clip the next-state values of the fitted-Q evaluation
#'   (and of the Q-function of `"dr"`) to the attainable range (see
#'   Estimators).
#' @param num.boot Number of bootstrap resamples (0: no standard errors or
#'   intervals; otherwise at least 2).
#' @param level Confidence level of the intervals.
#' @param interval `"percentile"` or `"bca"`.
#' @param by `"overall"` (one row per method) or `"individual"` (one row per
#'   method and individual).
#' @param seed Random seed of the resamples and of the default basis (`NULL`
#'   draws one from R's generator).
#' @param num.threads Number of threads (see [p4l-package]).
#' @return A data frame of class `p4l_value` with columns `method`, `id`
#'   (`"overall"` or the individual's id), `estimate`, `se`, `lower`, `upper`
#'   and `n` (individuals), and attributes `level`, `interval`, `num.boot`,
#'   `gamma`, `seed`, `diagnostics` (a list: `ess` per step, `min.propensity`
#'   and `num.small` (observed actions with propensity below 0.01) of the
#'   behaviour policy, `num.transitions`, `basis.dim`, `new.individuals`
#'   (individuals a P4L fit placed by [p4l_assign()]), `q.groups` (the
#'   number of individuals in each group with its own Q-function), and for
#'   the bounded
#'   Q-function `bounded`, `clipped` (the share of next-state values
#'   clipped) and `settled` (the active-set iteration converged)) and `replicates`
#'   (the bootstrap estimates, one column per row, used by
#'   [compare_policies()] for paired differences), `value.range` (the
#'   discounted values any policy can attain on `data`: the per-step reward
#'   range, widened to 0 when episodes end, over \eqn{1-\gamma}{1 - gamma})
#'   and `out.of.range` (one flag per row). An estimate outside that range
#'   is a Q-function extrapolating where the policy leaves the data: it
#'   raises a warning and must not be reported. `as.data.frame()` drops
#'   the class and attributes.
#' @references Thomas, P. and Brunskill, E. (2016). Data-efficient off-policy
#'   policy evaluation for reinforcement learning. ICML.
#'   Le, H., Voloshin, C. and Yue, Y. (2019). Batch policy learning under
#'   constraints. ICML. Efron, B. (1987). Better bootstrap confidence
#'   intervals. JASA 82, 171-185.
#' @seealso [behaviour_policy()], [evaluate_policy()], [compare_policies()]
#' @examples
#' sim <- sim_linear2d(num.per.group = 4, T = 20, seed = 1)
#' d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
#' fit <- fqi(d, seed = 1)
#' policy_value(fit, d, method = c("fqe", "dr"), num.boot = 50, seed = 1)
#' # The data's behaviour is known here (uniformly random):
#' unif <- uniform_policy(c(0, 1), c("s1", "s2"))
#' policy_value(unif, d, method = "wis", behaviour = unif, num.boot = 50, seed = 1)
#' # Learn on some individuals, evaluate on the others
#' test <- subset(d, ids = c(1, 5, 9))  # one of each subgroup
#' train <- subset(d, ids = setdiff(d$ids, c(1, 5, 9)))
#' fit <- p4l(train, K = 3, seed = 1)
#' policy_value(fit, test, num.boot = 50, seed = 1)
#' @export
policy_value <- function(policy, data, method = c("fqe", "dr", "wis"), gamma = NULL,
                         basis = NULL, behaviour = NULL, q.groups = NULL, ridge = 1e-6,
                         bounded = TRUE, num.boot = 200, level = 0.95, interval = c("percentile", "bca"),
                         by = c("overall", "individual"), seed = NULL, num.threads = NULL) {
  if (!inherits(policy, "p4l_policy")) {
    stop_arg("`policy` must be a fitted policy (p4l_policy); got an object of class '",
             class(policy)[1], "'.")
  }
  check_p4l_data_arg(data)
  method <- if (missing(method)) "fqe" else check_methods(method)
  interval <- check_choice(interval, c("percentile", "bca"), "interval")
  by <- check_choice(by, c("overall", "individual"), "by")
  gamma <- resolve_value_gamma(gamma, policy)
  ridge <- check_ridge(ridge)
  check_flag(bounded, "bounded")
  num.boot <- check_num_boot(num.boot)
  level <- check_number(level, "level", 0, 1, lower.open = TRUE, upper.open = TRUE)
  num.threads <- resolve_threads(num.threads)
  seed <- resolve_seed(seed)
  check_policy_data(policy, data, "policy")
  placed <- value_place_new(policy, data, num.threads)
  policy <- placed$policy
  # WIS alone uses no Q-function: no groups to find (select_groups() can take
  # seconds) and no per-group fits that could fail.
  qgroup <- if (is.null(q.groups) && !any(method %in% c("fqe", "dr"))) rep(1L, length(data$ids))
            else resolve_q_groups(q.groups, policy, data, num.threads)
  basis <- value_basis(basis, data, seed, num.threads)
  need.is <- any(method %in% c("dr", "wis"))
  if (need.is) behaviour <- resolve_behaviour(behaviour, data, basis, seed, num.threads)
  prep <- value_prepare(policy, data, gamma, basis, if (need.is) behaviour, ridge, num.threads,
                        qgroup, bound = if (bounded) p4l_value_range(data) / (1 - gamma))
  prep <- value_bounded_reference(prep)
  out <- value_run(prep, method, by, num.boot, level, interval, seed)
  attr(out, "diagnostics")$new.individuals <- placed$num.new
  attr(out, "diagnostics")$q.groups <- tabulate(qgroup)
  value_check_range(out, data, gamma)
}

# A P4L fit evaluated on individuals it was not trained on: place them once,
# from their transitions in `data` (p4l_assign()), so that the policy at
# their states and at their next states is the same policy. (predict() would
# place them from whatever rows it is given, and the next states are not a
# history.)
value_place_new <- function(policy, data, num.threads) {
  if (!inherits(policy, "p4l_fit")) return(list(policy = policy, num.new = 0L))
  unseen <- unique(data$ids[is.na(match_ids(data$ids, policy$ids))])
  if (length(unseen) == 0L) return(list(policy = policy, num.new = 0L))
  out <- p4l_with_new(policy, data, unseen, "auto", quiet = TRUE, num.threads)
  message("policy_value(): ", length(unseen), " individual(s) of `data` were not in the ",
          "training data of the P4L fit; each was placed once by p4l_assign() from its ",
          "transitions in `data`.")
  list(policy = out, num.new = length(unseen))
}

# The basis of the Q-function (and of the default behaviour model) when
# `basis = NULL`: default_basis() with a number of RBF centres that grows
# with the data, min(64, max(16, floor(n / 50))) for n transitions (one
# centre per 50 transitions between 16 and 64), fewer (not below 16) when
# the per-individual statistics of the bootstrap would pass 2^25 numbers
# (256 MB). See the section "The evaluation basis" of ?policy_value.
value_basis <- function(basis, data, seed, num.threads) {
  if (!is.null(basis)) return(resolve_basis(basis, data, seed, num.threads))
  n <- nrow(data$S)
  N <- length(data$ids)
  m <- length(data$action.levels)
  k <- min(64L, max(16L, as.integer(floor(n / 50))))
  # RBF part has k centres plus an intercept (and indicator columns when
  # some states are discrete, which only make the bound conservative).
  while (k > 16L && as.numeric(N) * (m * (k + 1))^2 > 2^25) k <- k - 1L
  b <- default_basis(data, num.centers = k, seed = seed, num.threads = num.threads)
  narrow_rbf_bandwidth(b)
}

# The RBF part of the evaluation basis with its median-rule bandwidth times
# (16 / k)^(1 / d) for k centres on d state columns: k-means centres in d
# dimensions lie about k^(-1/d) apart, so this keeps each centre's reach
# relative to its neighbours what the fits' 16-centre default has. (With the
# median rule alone, more centres add no resolution: on the 2-D study a
# 64-centre basis underestimated greedy policies' values by 0.02 to 0.03
# even with 60,000 transitions; see ?policy_value, The evaluation basis.)
narrow_rbf_bandwidth <- function(basis) {
  if (inherits(basis, "rbf_basis")) {
    k <- nrow(basis$centers)
    d <- length(basis$columns)
    if (k > 16L && d >= 1L) basis$bandwidth <- basis$bandwidth * (16 / k)^(1 / d)
    return(basis)
  }
  if (!is.null(basis$parts)) basis$parts <- lapply(basis$parts, narrow_rbf_bandwidth)
  basis
}

# The discounted values any policy can attain on these data (the per-step
# reward range, widened to 0 where episodes end, over 1 - gamma); estimates
# outside it are flagged (attribute `out.of.range`) and warned about.
value_check_range <- function(out, data, gamma) {
  rg <- p4l_value_range(data) / (1 - gamma)
  attr(out, "value.range") <- rg
  tol <- 1e-8 * max(1, abs(rg))
  bad <- is.finite(out$estimate) & (out$estimate < rg[1] - tol | out$estimate > rg[2] + tol)
  attr(out, "out.of.range") <- bad
  if (any(bad)) {
    b <- which(bad)[1]
    warning("policy_value(): ", sum(bad), " estimate(s) lie outside the values any policy can ",
            "attain on these data [", format(rg[1], digits = 4), ", ", format(rg[2], digits = 4),
            "] (e.g. ", out$method[b], " ", format(out$estimate[b], digits = 4), " for ",
            out$id[b], "): the Q-function extrapolates where the policy leaves the data. Do not ",
            "report it; try method = \"dr\", a smaller basis or a larger `ridge`.", call. = FALSE)
  }
  out
}

check_methods <- function(method) {
  choices <- c("fqe", "dr", "wis")
  if (!is.character(method) || length(method) == 0L || anyNA(method) ||
      !all(method %in% choices)) {
    stop_arg("`method` must be one or more of \"fqe\", \"dr\", \"wis\".")
  }
  unique(method)
}

resolve_value_gamma <- function(gamma, policy) {
  if (is.null(gamma)) gamma <- policy$gamma
  if (is.null(gamma)) stop_arg("Give `gamma`: the policy has none.")
  check_gamma(gamma)
}

check_num_boot <- function(num.boot) {
  num.boot <- check_count(num.boot, "num.boot", lower = 0L)
  if (num.boot == 1L) stop_arg("`num.boot` must be 0 (no bootstrap) or at least 2; got 1.")
  num.boot
}

# The policy must read the data's states and choose among its actions (in any
# order), and an individual policy must know the data's individuals.
check_policy_data <- function(policy, data, arg) {
  if (!identical(as.character(policy$state.names), as.character(data$state.names))) {
    stop_arg("`", arg, "` was fitted on the states (", paste(policy$state.names, collapse = ", "),
             ") but `data` has the states (", paste(data$state.names, collapse = ", "), ").")
  }
  # the same actions in another order (character actions are ordered by first
  # appearance, so two data sets of one study can differ) are matched by label
  # (value_probs())
  pa <- as.character(policy$action.levels)
  da <- as.character(data$action.levels)
  if (length(pa) != length(da) || !setequal(pa, da)) {
    stop_arg("`", arg, "` chooses among the actions (",
             paste(policy$action.levels, collapse = ", "), ") but `data` has the actions (",
             paste(data$action.levels, collapse = ", "), ").")
  }
  # Individuals the policy has no policy for: predict() says which.
  invisible(policy)
}

resolve_behaviour <- function(behaviour, data, basis, seed, num.threads) {
  if (is.null(behaviour)) {
    return(behaviour_policy(data, basis = basis, seed = seed, num.threads = num.threads))
  }
  if (!inherits(behaviour, "p4l_policy")) {
    stop_arg("`behaviour` must be NULL or a p4l_policy (e.g. behaviour_policy() or ",
             "uniform_policy()); got an object of class '", class(behaviour)[1], "'.")
  }
  check_policy_data(behaviour, data, "behaviour")
  behaviour
}

# Action probabilities of `policy` at the states `x` of the data's
# individuals `ind` (1-based), through predict() (ids for individual policies).
value_probs <- function(policy, data, x, ind, num.threads) {
  d <- data
  d$S <- x
  d$individual <- ind
  P <- tryCatch(predict(policy, d, type = "prob", num.threads = num.threads),
                error = function(e) {
                  stop_arg("The ", policy$method, " policy cannot give action probabilities ",
                           "for `data`: ", conditionMessage(e))
                })
  if (anyNA(P) || any(!is.finite(P))) stop_arg("The policy gave missing action probabilities.")
  # columns in the data's action order (check_policy_data(): the same labels)
  cols <- match(as.character(data$action.levels), colnames(P))
  if (!is.null(colnames(P)) && !anyNA(cols)) P <- P[, cols, drop = FALSE]
  unname(P)
}

# Everything the estimators need, ordered by individual and step; the
# per-individual sufficient statistics of the LSTD-Q solve.
value_prepare <- function(policy, data, gamma, basis, behaviour, ridge, num.threads,
                          qgroup = rep(1L, length(data$ids)), bound = NULL) {
  ord <- order(data$individual, data$time)
  ind <- data$individual[ord]
  N <- length(data$ids)
  n <- length(ord)
  m <- length(data$action.levels)
  A <- data$A[ord]
  R <- as.numeric(data$R[ord])
  term <- as.logical(data$terminal[ord])
  S <- data$S[ord, , drop = FALSE]
  S.next <- data$S_next[ord, , drop = FALSE]
  step <- as.integer(stats::ave(seq_len(n), ind, FUN = seq_along))  # 1-based
  first <- which(step == 1L)
  if (length(first) != N) {
    stop_arg("Every individual of `data` needs at least one transition.")
  }
  psi <- basis_features(basis, S, num.threads)
  psi.next <- basis_features(basis, S.next, num.threads)
  psi0 <- psi[first, , drop = FALSE]
  d <- ncol(psi)
  D <- m * d
  P <- value_probs(policy, data, S, ind, num.threads)
  Pn <- value_probs(policy, data, S.next, ind, num.threads)
  P0 <- P[first, , drop = FALSE]
  Phi <- matrix(0, n, D)
  Phibar <- matrix(0, n, D)
  phi0 <- matrix(0, N, D)
  for (a in seq_len(m)) {
    cols <- (a - 1L) * d + seq_len(d)
    Phi[, cols] <- psi * (A == a)
    Phibar[, cols] <- psi.next * (Pn[, a] * !term)
    phi0[, cols] <- psi0 * P0[, a]
  }
  Z <- Phi - gamma * Phibar
  if (as.numeric(N) * D * D > 2^27) {
    stop_arg("policy_value() keeps a ", D, " x ", D, " matrix per individual (", m,
             " actions x ", d, " basis features) for the bootstrap: ", N, " individuals need ",
             format(8 * as.numeric(N) * D * D / 2^30, digits = 3), " GB. Use a smaller `basis`.")
  }
  rows <- split(seq_len(n), ind)
  Cstat <- matrix(0, N, D * D)
  bstat <- matrix(0, N, D)
  for (i in seq_len(N)) {
    r <- rows[[i]]
    Cstat[i, ] <- as.vector(crossprod(Phi[r, , drop = FALSE], Z[r, , drop = FALSE]))
    bstat[i, ] <- as.vector(crossprod(Phi[r, , drop = FALSE], R[r]))
  }
  prep <- list(N = N, n = n, D = D, ridge = ridge, gamma = gamma, Cstat = Cstat, bstat = bstat,
               num.trans = as.numeric(tabulate(ind, N)), phi0 = phi0, ids = data$ids,
               basis.dim = d, is = FALSE, qgroup = qgroup, num.groups = max(qgroup),
               bound = bound)
  if (!is.null(bound)) {
    # What the bounded solve needs per transition (value_fqe_bounded()).
    live <- which(!term)
    prep$bounded <- list(Phi = Phi[live, , drop = FALSE], Phibar = Phibar[live, , drop = FALSE],
                         ind = ind[live], group = qgroup[ind[live]])
  }
  if (!is.null(behaviour)) {
    prep <- value_prepare_weights(prep, behaviour, data, S, ind, step, A, R, P, Phi, Phibar,
                                  term, qgroup, gamma, num.threads)
  }
  prep
}

# The importance weights of value_prepare() under the behaviour policy:
# per-step self-normalised weights rho, the weight carried by terminated
# individuals, the discounts and the effective sample sizes.
value_prepare_weights <- function(prep, behaviour, data, S, ind, step, A, R, P, Phi, Phibar,
                                  term, qgroup, gamma, num.threads) {
  n <- length(ind)
  B <- value_probs(behaviour, data, S, ind, num.threads)
  pa <- P[cbind(seq_len(n), A)]
  ba <- B[cbind(seq_len(n), A)]
  if (any(ba <= 0)) {
    bad <- which(ba <= 0)[1]
    stop_arg("The behaviour policy gives probability 0 to the observed action of individual ",
             format(data$ids[ind[bad]]), " at its transition ", step[bad],
             ": importance weights are undefined.")
  }
  lr <- ifelse(pa > 0, log(pa) - log(ba), -Inf)
  logrho <- stats::ave(lr, ind, FUN = cumsum)
  Tmax <- max(step)
  # Scale of each step: the largest log-weight observed there (weights
  # are self-normalised per step, so the scale cancels; it avoids overflow).
  M <- as.vector(tapply(logrho, step, max))
  M[!is.finite(M)] <- 0
  rho <- exp(logrho - M[step])
  last <- c(which(diff(ind) != 0L), n)
  tl <- last[term[last]]  # terminal last transitions
  carry <- list(step = step[tl], ind = ind[tl], logrho = logrho[tl])
  G <- if (length(tl) > 0L && any(is.finite(carry$logrho))) max(carry$logrho) else 0
  carry$w <- exp(carry$logrho - G)
  carry$scale <- exp(G - M)  # carried weight at step t: scale[t] * w
  prep <- utils::modifyList(prep, list(is = TRUE, ind = ind, step = step, Tmax = Tmax, R = R,
                                       Phi = Phi, Phibar = Phibar, term = term,
                                       qgroup.t = qgroup[ind], rho = rho, carry = carry,
                                       disc = gamma^(seq_len(Tmax) - 1L),
                                       min.propensity = min(ba), num.small = sum(ba < 0.01)))
  prep$ess <- value_ess(prep)
  prep
}

# Carried (terminated) weight in the denominator at each step, for counts cnt.
carry_den <- function(prep, cnt) {
  cr <- prep$carry
  out <- numeric(prep$Tmax)
  if (length(cr$step) == 0L) return(out)
  add <- numeric(prep$Tmax + 1L)
  rs <- rowsum(cnt[cr$ind] * cr$w, cr$step + 1L)
  add[as.integer(rownames(rs))] <- rs[, 1]
  cum <- cumsum(add)[seq_len(prep$Tmax)]
  ifelse(cum > 0, cum * cr$scale, 0)
}

value_ess <- function(prep) {
  s1 <- as.vector(rowsum(prep$rho, prep$step))
  s2 <- as.vector(rowsum(prep$rho^2, prep$step))
  cr <- prep$carry
  for (k in seq_along(cr$step)) {
    t <- seq_len(prep$Tmax)
    t <- t[t > cr$step[k]]
    v <- cr$w[k] * cr$scale[t]
    s1[t] <- s1[t] + v
    s2[t] <- s2[t] + v^2
  }
  ifelse(s2 > 0, s1^2 / s2, 0)
}

# Estimates for individual weights (counts) cnt: the overall value of each
# method, then (individual = TRUE) the FQE value of every individual.
value_stat <- function(prep, cnt, method, individual) {
  W <- value_fqe_weights(prep, cnt)
  V0 <- value_initial(prep, W)
  fqe <- sum(cnt * V0) / sum(cnt)
  out <- c(fqe = fqe, dr = NA_real_, wis = NA_real_)
  if (prep$is && any(method %in% c("dr", "wis"))) {
    wt <- cnt[prep$ind] * prep$rho
    delta <- if ("dr" %in% method) value_delta(prep, W) else 0
    sums <- rowsum(cbind(wt, wt * delta, wt * prep$R), prep$step)
    den <- sums[, 1] + carry_den(prep, cnt)
    ratio <- function(num) sum(prep$disc * ifelse(den > 0, num / den, 0))
    out["dr"] <- fqe + ratio(sums[, 2])
    out["wis"] <- ratio(sums[, 3])
  }
  out <- out[method]
  if (individual) out <- c(out, V0)
  out
}

# Per-individual terms of DR and WIS on the full data (their mean is the estimate).
value_individual_terms <- function(prep, V0, W) {
  cnt <- rep(1, prep$N)
  wt <- prep$rho
  sums <- rowsum(wt, prep$step)
  den <- sums[, 1] + carry_den(prep, cnt)
  f <- ifelse(den > 0, prep$N * prep$disc / den, 0)[prep$step]
  delta <- value_delta(prep, W)
  list(dr = V0 + as.vector(rowsum(wt * delta * f, prep$ind)),
       wis = as.vector(rowsum(wt * prep$R * f, prep$ind)))
}

# One task of the bootstrap (or jackknife): estimates for each column of cnts.
value_boot_task <- function(cnts, prep, method, individual) {
  do.call(rbind, lapply(seq_len(ncol(cnts)), function(j) {
    value_stat(prep, cnts[, j], method, individual)
  }))
}

# Runs p4l_map over columns of a count matrix in chunks; returns a matrix
# (one row per column of cnts).
value_map <- function(cnts, prep, method, individual, label) {
  chunks <- split(seq_len(ncol(cnts)), ceiling(seq_len(ncol(cnts)) / 20))
  X <- lapply(chunks, function(j) cnts[, j, drop = FALSE])
  res <- p4l_map(X, value_boot_task, prep = prep, method = method, individual = individual,
                 label = label)
  do.call(rbind, res)
}

# Bootstrap counts (N x num.boot), drawn up front from the seed.
boot_counts <- function(N, num.boot, seed) {
  local_seed(seed)
  idx <- matrix(sample.int(N, N * num.boot, replace = TRUE), N, num.boot)
  apply(idx, 2, tabulate, nbins = N)
}

value_run <- function(prep, method, by, num.boot, level, interval, seed) {
  individual <- by == "individual"
  N <- prep$N
  full <- value_stat(prep, rep(1, N), method, TRUE)
  est.overall <- full[method]
  V0 <- full[-seq_along(method)]
  boot <- jack <- NULL
  if (num.boot > 0L) {
    boot <- value_map(boot_counts(N, num.boot, seed), prep, method, individual, "bootstrap")
    if (interval == "bca") {
      cnts <- matrix(1, N, N)
      diag(cnts) <- 0
      jack <- value_map(cnts, prep, method, individual, "jackknife")
    }
  }
  rows <- list()
  reps <- list()
  for (k in seq_along(method)) {
    mth <- method[k]
    if (!individual) {
      ci <- boot_interval(est.overall[k], boot[, k], jack[, k], level, interval)
      rows[[mth]] <- data.frame(method = mth, id = "overall", estimate = unname(est.overall[k]),
                                se = ci[["se"]], lower = ci[["lower"]], upper = ci[["upper"]], n = N,
                                stringsAsFactors = FALSE)
      if (!is.null(boot)) reps[[mth]] <- boot[, k]
    } else {
      if (mth == "fqe") {
        est <- V0
        cis <- vapply(seq_len(N), function(i) {
          col <- length(method) + i
          boot_interval(V0[i], boot[, col], jack[, col], level, interval)
        }, numeric(3))
      } else {
        W <- value_fqe_weights(prep, rep(1, N))
        est <- value_individual_terms(prep, V0, W)[[mth]]
        cis <- matrix(NA_real_, 3, N)
      }
      rows[[mth]] <- data.frame(method = mth, id = as.character(prep$ids), estimate = unname(est),
                                se = cis[1, ], lower = cis[2, ], upper = cis[3, ], n = 1L,
                                stringsAsFactors = FALSE)
    }
  }
  out <- do.call(rbind, rows)
  rownames(out) <- NULL
  fw <- value_fqe_weights(prep, rep(1, N), info = TRUE)
  if (!fw$settled) {
    warning("policy_value(): the bounded fitted-Q evaluation did not settle (its set of clipped ",
            "next-state values kept changing); the estimates use the last iterate. Try a ",
            "smaller basis or a larger `ridge`.", call. = FALSE)
  }
  diag.list <- list(num.transitions = prep$n, basis.dim = prep$basis.dim,
                    bounded = !is.null(prep$bound), clipped = fw$clipped, settled = fw$settled,
                    ess = if (prep$is) prep$ess, min.propensity = if (prep$is) prep$min.propensity,
                    num.small = if (prep$is) prep$num.small)
  attr(out, "level") <- level
  attr(out, "interval") <- interval
  attr(out, "num.boot") <- num.boot
  attr(out, "gamma") <- prep$gamma
  attr(out, "seed") <- seed
  attr(out, "diagnostics") <- diag.list
  attr(out, "replicates") <- if (length(reps) > 0L) do.call(cbind, reps)
  attr(out, "jackknife") <- if (!individual && !is.null(jack)) jack[, seq_along(method), drop = FALSE]
  class(out) <- c("p4l_value", "data.frame")
  out
}

# FQE weights (D x groups) for individual weights cnt: one LSTD-Q solve per
# group of individuals (a group absent from a resample keeps weights 0), then,
# when bounded, the solve with the next-state values clipped to the attainable
# range (value_fqe_bounded()). With `info = TRUE` a list: W, the fraction of
# live transitions whose next-state value was clipped, and whether the
# active-set iteration settled in every group, and the clipped set of each
# live transition (-1, 0, 1).
value_fqe_weights <- function(prep, cnt, info = FALSE) {
  D <- prep$D
  W <- matrix(0, D, prep$num.groups)
  clipped <- 0
  settled <- TRUE
  state <- if (is.null(prep$bound)) NULL else integer(nrow(prep$bounded$Phi))
  for (g in seq_len(prep$num.groups)) {
    cg <- cnt * (prep$qgroup == g)
    if (sum(cg) == 0) next
    Amat <- matrix(crossprod(prep$Cstat, cg), D, D)
    diag(Amat) <- diag(Amat) + prep$ridge * sum(cg * prep$num.trans)
    bvec <- crossprod(prep$bstat, cg)
    W[, g] <- value_solve(Amat, bvec, prep)
    if (!is.null(prep$bound)) {
      res <- value_fqe_bounded(prep, cnt, g, Amat, bvec, W[, g])
      W[, g] <- res$w
      clipped <- clipped + res$clipped
      settled <- settled && res$settled
      keep <- prep$bounded$group == g
      if (!is.null(res$state)) state[keep] <- res$state[keep]
    }
  }
  if (!info) return(W)
  live <- if (is.null(prep$bounded)) 0 else sum(cnt[prep$bounded$ind])
  list(W = W, clipped = if (live > 0) clipped / live else 0, settled = settled, state = state)
}

value_solve <- function(Amat, bvec, prep) {
  tryCatch(solve(Amat, bvec), error = function(e) {
    stop_arg("The FQE system is singular (", conditionMessage(e), "); increase `ridge`",
             if (prep$num.groups > 1L) " or use fewer `q.groups`", ".")
  })
}

# Bounded FQE for group g: the fixed point of
#   Q = Proj[R + gamma * clip(V(S'), lo, hi)],
# V(S') = sum_a pi(a | S') Q(S', a), lo and hi the values any policy can
# attain, i.e. the root of
#   F(w) = Amat w - bvec + gamma * sum_t c_t phi_t (v_t - clip(v_t)),
# v_t = phibar_t' w (Amat, bvec: the LSTD-Q system). Semi-smooth Newton with
# a backtracking line search on |F|: with the set of clipped transitions
# fixed the system is linear (Jacobian Amat + gamma * sum over the clipped
# transitions of c_t phi_t phibar_t'). It starts from the reference set
# B$state (the full-data solution's, whose terms are kept per individual in
# B$Cact and B$bact, so that a bootstrap resample costs a few transitions'
# updates), or from the LSTD-Q solution w (nothing clipped: the same
# solution). Settled when |F| is below 1e-10 of |bvec| + |Amat w| plus the
# clipping term (a relative backward error). Where Newton stalls (at a kink
# of the clipping) the averaged fixed-point iteration takes over.
value_fqe_bounded <- function(prep, cnt, g, Amat, bvec, w, max.iter = 50L, max.fixed = 5000L) {
  B <- prep$bounded
  lo <- prep$bound[1]
  hi <- prep$bound[2]
  gamma <- prep$gamma
  # All live transitions, weighted by their individual's count (0 outside
  # group g and for individuals not drawn), so that nothing is copied.
  c.t <- cnt[B$ind] * (B$group == g)
  if (!any(c.t > 0)) return(list(w = w, clipped = 0, settled = TRUE))
  # Only the transitions of group g's drawn individuals enter the system.
  sel <- which(c.t > 0)
  Phi <- B$Phi[sel, , drop = FALSE]
  Phibar <- B$Phibar[sel, , drop = FALSE]
  ref <- if (is.null(B$state)) integer(length(sel)) else B$state[sel]
  c.t <- c.t[sel]
  tgt <- function(st) ifelse(st > 0L, hi, ifelse(st < 0L, lo, 0))
  bvec <- as.vector(bvec)
  A0 <- Amat
  b0 <- bvec
  if (any(ref != 0L)) {
    cg <- cnt * (prep$qgroup == g)
    A0 <- A0 + gamma * matrix(crossprod(B$Cact, cg), prep$D, prep$D)
    b0 <- b0 + gamma * as.vector(crossprod(B$bact, cg))
  }
  # The linear system of a clipped set `st`: Jacobian and right-hand side.
  system <- function(st) {
    ch <- which(st != ref)
    J <- A0
    rhs <- b0
    if (length(ch) > 0L) {
      sgn <- (st[ch] != 0L) - (ref[ch] != 0L)  # +1 newly clipped, -1 no longer
      Pc <- Phi[ch, , drop = FALSE] * c.t[ch]
      J <- J + gamma * crossprod(Pc * sgn, Phibar[ch, , drop = FALSE])
      rhs <- rhs + gamma * as.vector(crossprod(Pc, tgt(st[ch]) - tgt(ref[ch])))
    }
    list(J = J, rhs = rhs)
  }
  eval_at <- function(w) {
    v <- as.vector(Phibar %*% w)
    ex <- v - pmin(pmax(v, lo), hi)
    Fw <- as.vector(Amat %*% w) - bvec + gamma * as.vector(crossprod(Phi, c.t * ex))
    list(st = as.integer(ex > 0) - as.integer(ex < 0), F = Fw, norm = sqrt(sum(Fw^2)),
         scale = sqrt(sum(bvec^2)) + sqrt(sum((Fw + bvec)^2)))
  }
  if (any(ref != 0L)) {
    sys <- system(ref)
    w <- value_solve(sys$J, sys$rhs, prep)
  }
  cur <- eval_at(w)
  settled <- cur$norm <= 1e-10 * cur$scale
  it <- 0L
  while (!settled && it < max.iter) {
    it <- it + 1L
    sys <- system(cur$st)
    step <- value_solve(sys$J, sys$rhs, prep) - w  # the full Newton step
    t <- 1
    repeat {
      nxt <- eval_at(w + t * step)
      if (nxt$norm <= (1 - 1e-4 * t) * cur$norm || t < 1e-10) break
      t <- t / 2
    }
    if (nxt$norm >= cur$norm) break  # no progress along the Newton direction
    w <- w + t * step
    cur <- nxt
    settled <- cur$norm <= 1e-10 * cur$scale
  }
  if (!settled) {
    fx <- value_fqe_fixed_point(w, Amat, bvec, Phi, Phibar, c.t, lo, hi, gamma, prep, eval_at,
                                max.fixed)
    w <- fx$w
    cur <- fx$cur
    settled <- fx$settled
  }
  state <- integer(length(B$ind))
  state[sel] <- cur$st
  list(w = as.vector(w), clipped = sum(c.t[cur$st != 0L]), settled = settled, state = state)
}

# The fallback of value_fqe_bounded() where Newton stalls at a kink of the
# clipping: the averaged fixed-point iteration w <- (w + M^-1 (bvec + gamma
# sum_t c_t phi_t clip(v_t))) / 2, M = Amat + gamma sum_t c_t phi_t
# phibar_t', checked every 10 steps with eval_at(). Returns list(w, cur,
# settled), cur = eval_at(w).
value_fqe_fixed_point <- function(w, Amat, bvec, Phi, Phibar, c.t, lo, hi, gamma, prep, eval_at,
                                  max.fixed) {
  M <- Amat + gamma * crossprod(Phi * c.t, Phibar)
  ch <- tryCatch(chol(M), error = function(e) NULL)
  Minv <- function(b) if (is.null(ch)) value_solve(M, b, prep) else
    backsolve(ch, forwardsolve(t(ch), b))
  for (k in seq_len(max.fixed)) {
    v <- as.vector(Phibar %*% w)
    w.new <- as.vector(Minv(bvec + gamma * crossprod(Phi, c.t * pmin(pmax(v, lo), hi))))
    w <- (w + w.new) / 2
    if (k %% 10L == 0L) {
      cur <- eval_at(w)
      if (cur$norm <= 1e-10 * cur$scale) return(list(w = w, cur = cur, settled = TRUE))
    }
  }
  list(w = w, cur = eval_at(w), settled = FALSE)
}

# Keeps the full-data solution's clipped set as the reference of the
# bootstrap resamples, with its terms per individual.
value_bounded_reference <- function(prep) {
  if (is.null(prep$bound)) return(prep)
  B <- prep$bounded
  N <- prep$N
  D <- prep$D
  # The full-data solve (no reference set yet: it starts from LSTD-Q).
  state <- value_fqe_weights(prep, rep(1, N), info = TRUE)$state
  act <- which(state != 0L)
  B$Cact <- matrix(0, N, D * D)
  B$bact <- matrix(0, N, D)
  if (length(act) > 0L) {
    tv <- ifelse(state[act] > 0L, prep$bound[2], prep$bound[1])
    for (i in unique(B$ind[act])) {
      r <- act[B$ind[act] == i]
      B$Cact[i, ] <- as.vector(crossprod(B$Phi[r, , drop = FALSE], B$Phibar[r, , drop = FALSE]))
      B$bact[i, ] <- as.vector(crossprod(B$Phi[r, , drop = FALSE], tv[match(r, act)]))
    }
  }
  B$state <- state
  prep$bounded <- B
  prep
}

# Value at the next state (V(S') = 0 after a terminal transition), clipped
# to the attainable range when bounded.
value_next <- function(prep, W) {
  v <- group_products(prep$Phibar, W, prep$qgroup.t)
  if (!is.null(prep$bound)) v <- pmin(pmax(v, prep$bound[1]), prep$bound[2]) * !prep$term
  v
}

# TD residuals R + gamma V(S') - Q(S, A) of every transition.
value_delta <- function(prep, W) {
  prep$R + prep$gamma * value_next(prep, W) -
    group_products(prep$Phi, W, prep$qgroup.t)
}

# Row t of X times the weights of its group: X[t, ] %*% W[, group[t]].
group_products <- function(X, W, group) {
  if (ncol(W) == 1L) return(as.vector(X %*% W))
  (X %*% W)[cbind(seq_len(nrow(X)), group)]
}

# Value of each individual's policy at their initial state (clipped when bounded).
value_initial <- function(prep, W) {
  V0 <- group_products(prep$phi0, W, prep$qgroup)
  if (!is.null(prep$bound)) V0 <- pmin(pmax(V0, prep$bound[1]), prep$bound[2])
  V0
}

# Group of each individual for the Q-fits: NULL = the subgroups that
# select_groups() finds in `data` (one pooled fit when it finds one),
# "policy" = the policy's clusters when it has several, "pooled" = one fit.
resolve_q_groups <- function(q.groups, policy, data, num.threads = 1L) {
  N <- length(data$ids)
  key <- as.character(data$ids)
  if (is.null(q.groups)) return(data_q_groups(data, num.threads))
  if (identical(q.groups, "pooled")) return(rep(1L, N))
  if (identical(q.groups, "policy")) {
    cl <- policy$cluster
    if (is.null(cl) || length(policy$ids) == 0L) return(rep(1L, N))
    g <- cl[match(key, as.character(policy$ids))]
    if (anyNA(g) || length(unique(g)) < 2L) return(rep(1L, N))
    return(as.integer(factor(g)))
  }
  if (!is.atomic(q.groups) || length(q.groups) != N || anyNA(q.groups)) {
    stop_arg("`q.groups` must be NULL, \"pooled\", \"policy\", or one group label per ",
             "individual of `data` (", N, ", in the order of `data$ids` or named by id).")
  }
  if (!is.null(names(q.groups))) {
    if (!setequal(names(q.groups), key)) {
      stop_arg("The names of `q.groups` must be the ids of `data`.")
    }
    q.groups <- q.groups[key]
  }
  as.integer(factor(q.groups))
}

# The default groups of the value estimates' Q-functions: the subgroups
# select_groups() finds in `data` (its default method and seed), as integer
# labels in the order of `data$ids`; all 1 (one pooled Q-function) with
# fewer than 3 individuals, when it finds one subgroup, or when it cannot
# run on these data (a message says why). Shared by policy_value(),
# compare_policies() and tune_p4l(), so that every policy is scored by the
# same model.
data_q_groups <- function(data, num.threads = 1L) {
  N <- length(data$ids)
  if (N < 3L) return(rep(1L, N))
  cl <- tryCatch(suppressMessages(select_groups(data, max.K = min(6L, N - 1L),
                                                num.threads = num.threads))$cluster,
                 error = function(e) {
                   message("The value estimate uses one pooled Q-function: select_groups() ",
                           "could not group these individuals (", conditionMessage(e), ").")
                   NULL
                 })
  if (is.null(cl) || length(unique(cl)) < 2L) return(rep(1L, N))
  as.integer(factor(cl))
}

# se, lower, upper from bootstrap replicates (NULL: all NA).
boot_interval <- function(est, boot, jack, level, interval) {
  if (is.null(boot) || length(boot) == 0L) return(c(se = NA_real_, lower = NA_real_, upper = NA_real_))
  alpha <- c((1 - level) / 2, (1 + level) / 2)
  if (interval == "bca") {
    B <- length(boot)
    p0 <- (sum(boot < est) + 0.5 * sum(boot == est)) / B
    p0 <- min(max(p0, 1 / (2 * B)), 1 - 1 / (2 * B))
    z0 <- stats::qnorm(p0)
    u <- mean(jack) - jack
    den <- 6 * sum(u^2)^1.5
    acc <- if (den > 0) sum(u^3) / den else 0
    z <- stats::qnorm(alpha)
    alpha <- stats::pnorm(z0 + (z0 + z) / (1 - acc * (z0 + z)))
  }
  q <- stats::quantile(boot, alpha, names = FALSE)
  c(se = stats::sd(boot), lower = q[1], upper = q[2])
}

#' @export
print.p4l_value <- function(x, digits = 4, ...) {
  nb <- attr(x, "num.boot")
  cat("<p4l_value> off-policy value (discounted return, gamma = ", attr(x, "gamma"), ")\n",
      sep = "")
  if (isTRUE(nb > 0)) {
    cat("  ", format(100 * attr(x, "level")), "% ", attr(x, "interval"),
        " bootstrap intervals over individuals (", nb, " resamples)\n", sep = "")
  } else {
    cat("  no bootstrap (num.boot = 0)\n")
  }
  df <- as.data.frame(x)
  num <- vapply(df, is.numeric, logical(1))
  df[num & names(df) != "n"] <- lapply(df[num & names(df) != "n"], signif, digits = digits)
  if (nrow(df) > 30L) {
    print(df[seq_len(20L), , drop = FALSE], row.names = FALSE)
    cat("... and ", nrow(df) - 20L, " more rows (as.data.frame() gives all)\n", sep = "")
  } else {
    print(df, row.names = FALSE)
  }
  dg <- attr(x, "diagnostics")
  if (!is.null(dg$ess)) {
    steps <- unique(pmin(c(1L, 2L, 5L, 10L, 20L), length(dg$ess)))
    cat("Importance weights: smallest behaviour propensity ", format(dg$min.propensity, digits = 3),
        " (", dg$num.small, " below 0.01); effective sample size at step ",
        paste0(steps, ": ", format(dg$ess[steps], digits = 3), collapse = ", "), "\n", sep = "")
  }
  if (length(dg$q.groups) > 1L) {
    cat("Q-functions: one per group of individuals, ", length(dg$q.groups), " groups (sizes ",
        paste(dg$q.groups, collapse = ", "), "; `q.groups`)\n", sep = "")
  }
  if (isTRUE(dg$clipped > 0)) {
    cat("Bounded Q-function: ", format(100 * dg$clipped, digits = 3), "% of the next-state values ",
        "were clipped to the attainable range\n", sep = "")
  }
  bad <- attr(x, "out.of.range")
  if (any(bad)) {
    rg <- attr(x, "value.range")
    cat("NOTE: ", sum(bad), " estimate(s) outside the attainable range [", format(rg[1], digits = 4),
        ", ", format(rg[2], digits = 4), "]; do not report them (see the warning)\n", sep = "")
  }
  invisible(x)
}

#' @export
as.data.frame.p4l_value <- function(x, row.names = NULL, optional = FALSE, ...) {
  out <- data.frame(method = x$method, id = x$id, estimate = x$estimate, se = x$se,
                    lower = x$lower, upper = x$upper, n = x$n, stringsAsFactors = FALSE)
  out
}
