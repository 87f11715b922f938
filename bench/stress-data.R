# Stress suite (issue 12, item 7): data generators, evaluators and runners.
#
# Plain R, seeded; uses only p4l's public API (p4l(), fqi(), p4l_data(),
# evaluate_policy(), predict(), sim_*, cartpole_*, linear2d_*, uniform_policy()),
# so it runs against any version of the estimator. `bench/stress.R` is the
# command-line driver (child processes, time guards, CSV and markdown table);
# `stress_quick()` at the end is the small subset for the tests:
#
#   library(p4l); source("bench/stress-data.R"); res <- stress_quick()
#   stopifnot(all(res$error == "" | is.na(res$error)))
#
# Suites (one runner each, `stress_run_job()` dispatches):
#   S1  sim_cartpole() settings A, B, C at gamma 0.9 / 0.95 / 0.99, K = 3
#   S2  40 x 15 clinical toy, two latent response types, character doses
#       "low"/"mid"/"high", confounded dosing, K = 2; state CRP only, and CRP
#       with the baseline covariates (BMI, sex)
#   S3  sim_icu() (slot, runs when the package exports it), K = 2
#   S4  ICU-like stays, 300 and 16,000 stays, 9 (3 x 3) and 25 (5 x 5) actions
#       (fit time, convergence and value range only), K = 2
#   S5  sim_linear2d(), the paper's rewards and the reversed variant, K = 3
#
# Every fit uses P4L defaults: p4l(d, K = k, gamma = g, seed = r) and pooled
# fqi(d, gamma = g, seed = r), each building its own default basis.

# ---------------------------------------------------------------------------
# Reading a fit defensively (field names may change with the new estimator)
# ---------------------------------------------------------------------------

# How the fit's `value` is scaled: "normalised" ((1 - gamma) x discounted value,
# as documented in ?p4l) or "discounted" (the discounted value itself). A fit
# may say so in `fit$value.scale`; P4L_STRESS_VALUE_SCALE overrides.
stress_value_scale <- function(fit) {
  env <- Sys.getenv("P4L_STRESS_VALUE_SCALE")
  if (nzchar(env)) return(env)
  s <- fit$value.scale
  if (is.character(s) && length(s) == 1L) return(s)
  "normalised"
}

# One accessor for the fields the suite reads: converged, pessimistic value,
# point value and iterations, on the normalised scale (1 - gamma) V.
stress_fit_info <- function(fit, gamma = NULL) {
  first <- function(...) {
    for (x in list(...)) if (!is.null(x) && length(x) >= 1L) return(x)
    NULL
  }
  num <- function(x) if (is.null(x)) NA_real_ else suppressWarnings(as.numeric(x[[1]]))
  conv <- first(fit$converged, if (is.list(fit$convergence)) fit$convergence$converged)
  value <- first(fit$value, fit$pessimistic.value, fit$value.pessimistic,
                 fit$estimate$value, fit$values$pessimistic)
  point <- first(fit$point.value, fit$value.point, fit$lstd.value, fit$estimate$point.value,
                 fit$values$point)
  iters <- first(fit$iterations, fit$convergence$iterations, fit$diagnostics$iterations)
  # P4L fits with a value table: the reported values of the deployed policy
  if (is.data.frame(fit$values) && all(c("policy", "scale") %in% names(fit$values))) {
    dep <- if (isFALSE(fit$greedy)) "softmax" else "greedy"
    row <- fit$values[fit$values$policy == dep & fit$values$scale == "normalised", ]
    if (nrow(row) == 1L) {
      value <- row$pessimistic
      point <- row$point
    }
  }
  if (is.null(gamma)) gamma <- if (is.null(fit$gamma)) NA_real_ else fit$gamma
  mult <- if (identical(stress_value_scale(fit), "discounted")) 1 - gamma else 1
  list(converged = if (is.null(conv)) NA else isTRUE(as.logical(conv[[1]])),
       value = num(value) * mult, point.value = num(point) * mult,
       iterations = num(iters))
}

# Attainable range of the normalised value: [min R, max R], widened to 0 for
# episodic data with absorbing states (after absorption the reward is 0).
stress_value_range <- function(d) {
  lo <- min(d$R)
  hi <- max(d$R)
  if (any(d$terminal)) {
    lo <- min(lo, 0)
    hi <- max(hi, 0)
  }
  c(lo, hi)
}

stress_in_range <- function(v, rng) {
  tol <- 1e-8 + 1e-6 * max(abs(rng))
  is.finite(v) & v >= rng[1] - tol & v <= rng[2] + tol
}

stress_elapsed <- function() proc.time()[["elapsed"]]

# In a child process of bench/stress.R (option p4l.stress.child), a time-guard
# interrupt ends the process at once (status 124) instead of being recorded as
# a fit error, so the driver sees the timeout and keeps the last checkpoint.
stress_on_error <- function(e) {
  if (isTRUE(getOption("p4l.stress.child")) &&
      (inherits(e, "interrupt") || grepl("interrupt", conditionMessage(e), ignore.case = TRUE))) {
    quit(save = "no", status = 124)
  }
  if (inherits(e, "interrupt")) e <- simpleError("interrupted")
  e
}

# Fits P4L with defaults; an error is returned as the fit (never thrown).
# Replications run: 1..reps, shifted by the option p4l.stress.rep.offset (so
# that settings can be compared on data sets other than the reported ones).
stress_rep_ids <- function(reps) seq_len(reps) + getOption("p4l.stress.rep.offset", 0L)

# P4L with defaults, or with the control of the option p4l.stress.control and
# the alpha of the option p4l.stress.alpha (a function of (d, gamma, K)
# returning alpha; NULL: p4l()'s default), and the rank of the option
# p4l.stress.rank (a number, or a function of (d, gamma, K); NULL: p4l()'s
# default), for development runs.
stress_fit_p4l <- function(d, K, gamma, seed) {
  t0 <- stress_elapsed()
  warn <- character(0)
  ctl <- getOption("p4l.stress.control", p4l::p4l_control())
  alpha <- getOption("p4l.stress.alpha")
  if (is.function(alpha)) alpha <- alpha(d, gamma, K)
  rank <- getOption("p4l.stress.rank")
  if (is.function(rank)) rank <- rank(d, gamma, K)
  fit <- tryCatch(withCallingHandlers(
    if (is.null(rank)) p4l::p4l(d, K = K, gamma = gamma, seed = seed, alpha = alpha, control = ctl)
    else p4l::p4l(d, K = K, gamma = gamma, seed = seed, rank = rank, alpha = alpha,
                  control = ctl),
                                      warning = function(w) {
                                        warn <<- c(warn, conditionMessage(w))
                                        invokeRestart("muffleWarning")
                                      }),
                  error = stress_on_error, interrupt = stress_on_error)
  list(fit = fit, secs = stress_elapsed() - t0, warnings = warn)
}

stress_fit_fqi <- function(d, gamma, seed) {
  t0 <- stress_elapsed()
  fit <- tryCatch(suppressWarnings(p4l::fqi(d, gamma = gamma, seed = seed)),
                  error = stress_on_error, interrupt = stress_on_error)
  list(fit = fit, secs = stress_elapsed() - t0)
}

stress_is_error <- function(x) inherits(x, "error") || inherits(x, "condition")

# One result row per (suite, data set, gamma, rep, subgroup). `p4l` and `fqi`
# are the stress_fit_*() results; evals are named numeric vectors by subgroup.
stress_rows <- function(suite, dataset, gamma, rep, subgroups, d, K, p4l, fqi,
                        p4l.eval = NULL, behaviour.eval = NULL, fqi.eval = NULL,
                        optimum = NULL, metric = "value", optimum.tol = NA_real_,
                        fqi.ratio = NA_real_, error = "") {
  n <- length(subgroups)
  pick <- function(x) if (is.null(x)) rep(NA_real_, n) else as.numeric(x[subgroups])
  rng <- if (is.null(d)) c(NA_real_, NA_real_) else stress_value_range(d)
  info <- list(converged = NA, value = NA_real_, point.value = NA_real_, iterations = NA_real_)
  p4l.secs <- NA_real_
  msg <- error
  if (!is.null(p4l)) {
    p4l.secs <- p4l$secs
    if (stress_is_error(p4l$fit)) {
      msg <- paste0("p4l error: ", conditionMessage(p4l$fit))
    } else {
      info <- stress_fit_info(p4l$fit, gamma)
    }
  }
  fqi.secs <- NA_real_
  fqi.conv <- NA
  if (!is.null(fqi)) {
    fqi.secs <- fqi$secs
    if (stress_is_error(fqi$fit)) {
      msg <- paste(c(msg[nzchar(msg)], paste0("fqi error: ", conditionMessage(fqi$fit))),
                   collapse = "; ")
    } else {
      fqi.conv <- stress_fit_info(fqi$fit, gamma)$converged
    }
  }
  value.ok <- stress_in_range(info$value, rng)
  point.ok <- is.na(info$point.value) | stress_in_range(info$point.value, rng)
  if (is.na(info$value)) point.ok <- FALSE
  out <- data.frame(
    suite = suite, dataset = dataset, gamma = gamma, rep = rep, subgroup = subgroups,
    n.ids = if (is.null(d)) NA_integer_ else length(d$ids),
    n.transitions = if (is.null(d)) NA_integer_ else length(d$R),
    n.actions = if (is.null(d)) NA_integer_ else length(d$action.levels), K = K,
    converged = info$converged, iterations = info$iterations,
    p4l.value = info$value, p4l.point.value = info$point.value,
    range.lo = rng[1], range.hi = rng[2], value.in.range = value.ok & point.ok,
    metric = metric, p4l.eval = pick(p4l.eval), behaviour.eval = pick(behaviour.eval),
    fqi.eval = pick(fqi.eval), optimum = pick(optimum), fqi.converged = fqi.conv,
    p4l.secs = p4l.secs, fqi.secs = fqi.secs, optimum.tol = optimum.tol,
    fqi.ratio = fqi.ratio, error = msg, stringsAsFactors = FALSE)
  stress_criteria(out)
}

# PASS/FAIL columns ("" where a criterion does not apply).
stress_criteria <- function(x) {
  pf <- function(ok) ifelse(!is.na(ok) & ok, "PASS", "FAIL")
  ran <- !grepl("^not run", x$error)
  x$pass.converged <- ifelse(ran, pf(x$converged), "")
  x$pass.range <- ifelse(ran, pf(x$value.in.range), "")
  has.beh <- !is.na(x$behaviour.eval)
  x$pass.behaviour <- ifelse(has.beh, pf(x$p4l.eval > x$behaviour.eval), "")
  has.fqi <- !is.na(x$fqi.ratio) & !is.na(x$fqi.eval)
  x$pass.fqi <- ifelse(has.fqi, pf(x$p4l.eval >= x$fqi.ratio * x$fqi.eval), "")
  has.opt <- !is.na(x$optimum.tol) & !is.na(x$optimum)
  x$pass.optimum <- ifelse(has.opt, pf(x$optimum - x$p4l.eval <= x$optimum.tol), "")
  x
}

stress_not_run <- function(suite, dataset, gamma, K, message, subgroup = "all") {
  stress_rows(suite, dataset, gamma, NA_integer_, subgroup, NULL, K, NULL, NULL,
              error = message)
}

# ---------------------------------------------------------------------------
# S1: heterogeneous CartPole
# ---------------------------------------------------------------------------

# S1's data set of CartPole setting `s` and replication `r` (seed 1000 x
# setting + r): the simulation, its p4l_data and `steps(policy)`, the mean
# steps per environment of evaluate_policy(horizon = 300, gamma = 1) with
# `eval.episodes` episodes per trajectory (also used by bench/s1-*.R).
stress_s1_data <- function(s, r, num.traj = 100, eval.episodes = 10) {
  seed <- 1000 * match(s, c("A", "B", "C")) + r
  sim <- p4l::sim_cartpole(p4l::cartpole_settings(s), num.traj = num.traj, epsilon = 0.3,
                           max.steps = 300, seed = seed)
  d <- p4l::p4l_data(sim$data, "id", "time", "action", "reward",
                     c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
  steps <- function(pol) {
    ev <- p4l::evaluate_policy(pol, sim$env, ids = names(sim$env),
                               num.episodes = eval.episodes, horizon = 300, gamma = 1,
                               seed = seed + 7)
    tapply(ev$steps, sim$group[as.character(ev$id)], mean)
  }
  list(sim = sim, d = d, seed = seed, steps = steps)
}

stress_run_s1 <- function(reps = 1, settings = c("A", "B", "C"), gammas = c(0.9, 0.95, 0.99),
                          num.traj = 100, eval.episodes = 10, K = 3, checkpoint = NULL) {
  out <- list()
  for (r in stress_rep_ids(reps)) for (s in settings) {
    cp <- stress_s1_data(s, r, num.traj, eval.episodes)
    sim <- cp$sim
    d <- cp$d
    envs <- levels(sim$group)
    steps_by_env <- cp$steps
    beh <- steps_by_env(p4l::cartpole_behaviour_policy(epsilon = 0.3))
    for (g in gammas) {
      pf <- stress_fit_p4l(d, K, g, r)
      ff <- stress_fit_fqi(d, g, r)
      pe <- if (stress_is_error(pf$fit)) NULL else tryCatch(steps_by_env(pf$fit), error = function(e) NULL)
      fe <- if (stress_is_error(ff$fit)) NULL else tryCatch(steps_by_env(ff$fit), error = function(e) NULL)
      out[[length(out) + 1L]] <- stress_rows("S1", paste0("cartpole ", s), g, r, envs, d, K,
                                             pf, ff, pe, beh, fe, metric = "steps",
                                             fqi.ratio = 0.95)
      if (is.function(checkpoint)) checkpoint(do.call(rbind, out))
    }
  }
  do.call(rbind, out)
}

# ---------------------------------------------------------------------------
# S2: clinical toy with two latent response types and character doses
# ---------------------------------------------------------------------------

s2_doses <- c("low", "mid", "high")

# S2 is the package's dose study (?sim_dose_study: the true model, the
# clinicians' confounded dosing, two hidden response types correlated with BMI
# and sex), here with a final-state row per patient and no missing CRP.
sim_s2 <- function(num.patients = 40, num.visits = 15, seed = 1) {
  sim <- p4l::sim_dose_study(num.patients, num.visits, missing = 0, final.state = TRUE,
                             seed = seed)
  sim$data$sex <- as.integer(sim$data$sex == "male")   # numeric: usable as a state column
  sim
}

# Monte Carlo value per patient on the true dynamics (?dose_study_value).
s2_policy_value <- function(policy, sim, num.episodes = 200, horizon = 15, gamma = 0.9,
                            seed = 1) {
  p4l::dose_study_value(policy, sim, num.episodes = num.episodes, horizon = horizon,
                        gamma = gamma, seed = seed)
}

s2_by_type <- function(v, sim) tapply(v, sim$type[names(v)], mean)

stress_run_s2 <- function(reps = 1, gamma = 0.9, K = 2, num.patients = 40, num.visits = 15,
                          eval.episodes = 200, checkpoint = NULL) {
  # CRP as the state; with BMI and sex given in their role of baseline
  # covariates (p4l_data(baseline = )), which keeps them out of the state basis.
  variants <- list("CRP only" = list(state = "crp"),
                   "CRP, baseline BMI + sex" = list(state = "crp", baseline = c("bmi", "sex")))
  out <- list()
  for (r in stress_rep_ids(reps)) {
    sim <- sim_s2(num.patients, num.visits, seed = 100 + r)
    val <- function(pol) s2_by_type(s2_policy_value(pol, sim, eval.episodes, num.visits, gamma,
                                                    seed = 200 + r), sim)
    beh <- val("behaviour")
    fixed <- sapply(s2_doses, val)           # types x doses
    opt <- apply(fixed, 1, max)              # the true per-type optimal fixed rule
    types <- names(opt)
    for (v in names(variants)) {
      d <- p4l::p4l_data(sim$data, "id", "visit", "dose", "reward", variants[[v]]$state,
                         baseline = variants[[v]]$baseline)
      pf <- stress_fit_p4l(d, K, gamma, r)
      ff <- stress_fit_fqi(d, gamma, r)
      pe <- if (stress_is_error(pf$fit)) NULL else tryCatch(val(pf$fit), error = function(e) NULL)
      fe <- if (stress_is_error(ff$fit)) NULL else tryCatch(val(ff$fit), error = function(e) NULL)
      out[[length(out) + 1L]] <- stress_rows("S2", paste0("clinical toy, ", v), gamma, r,
                                             paste0("type ", types), d, K, pf, ff,
                                             stats::setNames(pe, paste0("type ", names(pe))),
                                             stats::setNames(beh, paste0("type ", names(beh))),
                                             stats::setNames(fe, paste0("type ", names(fe))),
                                             stats::setNames(opt, paste0("type ", types)))
      if (is.function(checkpoint)) checkpoint(do.call(rbind, out))
    }
  }
  do.call(rbind, out)
}

# ---------------------------------------------------------------------------
# S3: slot for the episodic clinical-course simulator sim_icu()
# ---------------------------------------------------------------------------
# S3: the episodic ICU course of sim_icu() (1,000 patients, at most 20
# decisions, hidden 20% atypical subgroup, gamma 0.99). Values are exact
# (icu_policy_value(): policy evaluation on the 1,000-state model), on the
# discounted scale; behaviour = icu_behaviour_policy(), optimum = icu_optimum().
stress_has_icu <- function() exists("sim_icu", envir = asNamespace("p4l"), inherits = FALSE)

stress_run_s3 <- function(reps = 1, gamma = 0.99, K = 2, num.patients = 1000) {
  if (!stress_has_icu()) {
    return(stress_not_run("S3", "sim_icu()", gamma, K, "not run (sim_icu() not in the package)"))
  }
  out <- list()
  opt <- p4l::icu_optimum(gamma = gamma)$values
  optv <- stats::setNames(opt$optimal, opt$subgroup)
  behv <- stats::setNames(opt$behaviour, opt$subgroup)
  for (r in stress_rep_ids(reps)) {
    res <- tryCatch({
      sim <- p4l::sim_icu(num.patients, seed = 300 + r)
      d <- p4l::p4l_data(sim$data, "id", "time", "action", "reward",
                         p4l::env_icu()$state.names, terminal = "terminal")
      grp <- sim$group
      val <- function(pol) {
        pooled <- length(pol$policy.coef) == 1L
        v <- if (pooled) p4l::icu_policy_value(pol, gamma = gamma)
             else p4l::icu_policy_value(pol, subgroup = grp, ids = d$ids, gamma = gamma)
        if (pooled) stats::setNames(v$value, v$subgroup)
        else tapply(v$value, as.character(v$subgroup), mean)
      }
      pf <- stress_fit_p4l(d, K, gamma, r)
      ff <- stress_fit_fqi(d, gamma, r)
      pe <- if (stress_is_error(pf$fit)) NULL else tryCatch(val(pf$fit), error = function(e) NULL)
      fe <- if (stress_is_error(ff$fit)) NULL else tryCatch(val(ff$fit), error = function(e) NULL)
      sg <- c("typical", "atypical")
      stress_rows("S3", "sim_icu()", gamma, r, sg, d, K, pf, ff, pe[sg], behv[sg], fe[sg],
                  optv[sg], optimum.tol = 0.1, fqi.ratio = 1)
    }, error = function(e) stress_not_run("S3", "sim_icu()", gamma, K,
                                          paste0("S3 error: ", conditionMessage(e))))
    out[[length(out) + 1L]] <- res
  }
  do.call(rbind, out)
}
# <<< end of S3 SLOT

# ---------------------------------------------------------------------------
# S4: ICU-like stays (speed)
# ---------------------------------------------------------------------------

# ICU-like stays: `num.stays` stays of at most `max.steps` steps; 4 continuous
# states (map, lactate, hr, sofa); actions are a levels x levels grid of
# (fluid, vasopressor) doses, labelled "f<i>v<j>" (9 actions for levels = 3,
# 25 for 5). Each stay has a latent severity. Discharge (reward +1) and death
# (reward -1) are absorbing; otherwise the reward is
# 1 - |MAP - 75| / 30 - 0.15 lactate clipped to [-1, 1]. The behaviour policy
# targets MAP-dependent doses with noise and takes a uniformly random action
# 30% of the time, so every action is covered.
sim_s4 <- function(num.stays = 300, levels = 3, max.steps = 20, seed = 1) {
  set.seed(seed)
  N <- num.stays
  doses <- s4_doses(levels)
  sev <- stats::rgamma(N, 2, 2)
  st <- list(map = stats::rnorm(N, 68 - 4 * sev, 8),
             lactate = pmax(0.5, stats::rlnorm(N, log(2 + sev), 0.3)),
             hr = stats::rnorm(N, 95 + 5 * sev, 10),
             sofa = pmax(0, stats::rnorm(N, 6 + 2 * sev, 2)))
  alive <- rep(TRUE, N)
  rows <- list()
  for (t in seq_len(max.steps)) {
    ix <- which(alive)
    if (length(ix) == 0L) break
    now <- lapply(st, `[`, ix)
    a <- p4l:::sample_rows_inverse(s4_behaviour_probs(now$map, doses), stats::runif(length(ix)))
    out <- s4_step(now, sev[ix], doses$f[a], doses$v[a])
    rows[[t]] <- data.frame(id = ix, time = t, action = doses$labels[a], reward = out$reward,
                            map = now$map, lactate = now$lactate, hr = now$hr, sofa = now$sofa,
                            terminal = out$absorbed, stringsAsFactors = FALSE)
    for (v in names(st)) st[[v]][ix] <- out$state[[v]]
    alive[ix[out$absorbed]] <- FALSE
  }
  # final-state rows for stays cut at max.steps (not absorbing)
  ix <- which(alive)
  if (length(ix) > 0L) {
    rows[[length(rows) + 1L]] <- data.frame(id = ix, time = max.steps + 1L,
                                            action = NA_character_, reward = NA_real_,
                                            map = st$map[ix], lactate = st$lactate[ix],
                                            hr = st$hr[ix], sofa = st$sofa[ix], terminal = NA,
                                            stringsAsFactors = FALSE)
  }
  data <- do.call(rbind, rows)
  data <- data[order(data$id, data$time), ]
  rownames(data) <- NULL
  list(data = data, actions = doses$labels, seed = seed, severity = sev, levels = levels,
       max.steps = max.steps)
}

# The levels x levels (fluid, vasopressor) dose grid: labels "f<i>v<j>" and
# the doses in [0, 1].
s4_doses <- function(levels) {
  grid <- expand.grid(f = seq_len(levels), v = seq_len(levels))
  list(labels = sprintf("f%dv%d", grid$f, grid$v), f = (grid$f - 1) / (levels - 1),
       v = (grid$v - 1) / (levels - 1))
}

# Behaviour policy: MAP-dependent target doses with noise, 30% uniform.
s4_behaviour_probs <- function(map, doses) {
  m <- length(doses$labels)
  ft <- stats::plogis((72 - map) / 6)
  vt <- stats::plogis((62 - map) / 5)
  score <- -(outer(ft, doses$f, "-")^2 + outer(vt, doses$v, "-")^2) / 0.08
  p <- exp(score - apply(score, 1, max))
  p <- p / rowSums(p)
  0.7 * p + 0.3 / m
}

# One step of the S4 dynamics for stays in state `st` (list of map, lactate,
# hr, sofa) with latent severity `sev` under fluid dose f and vasopressor dose
# v. Random numbers are drawn in a fixed order (4 normals, 2 uniforms per
# call), so the generator and the evaluator share it.
s4_step <- function(st, sev, f, v) {
  n <- length(sev)
  map.n <- st$map + 0.2 * (70 - 3 * sev - st$map) + 5 * f + 9 * v - 2 * f * v +
    stats::rnorm(n, 0, 3)
  lac.n <- pmax(0.5, 0.8 * st$lactate + 0.25 * (1 + sev) + 0.04 * pmax(0, 65 - map.n) +
                  0.3 * v - 0.3 * f + stats::rnorm(n, 0, 0.2))
  hr.n <- st$hr + 0.2 * (90 - st$hr) + 6 * v - 4 * f + stats::rnorm(n, 0, 4)
  sofa.n <- pmax(0, st$sofa + 0.1 * (lac.n - 2) - 0.05 * (map.n - 65) / 5 +
                   stats::rnorm(n, 0, 0.5))
  reward <- pmin(pmax(1 - abs(map.n - 75) / 30 - 0.15 * lac.n, -1), 1)
  dead <- (map.n < 50 | lac.n > 5) & stats::runif(n) < 0.5
  home <- !dead & lac.n < 2 & map.n > 65 & map.n < 90 & stats::runif(n) < 0.25
  reward[dead] <- -1
  reward[home] <- 1
  list(state = list(map = map.n, lactate = lac.n, hr = hr.n, sofa = sofa.n), reward = reward,
       absorbed = dead | home)
}

# True discounted value of a policy on S4 (Monte Carlo on the true dynamics):
# `num.episodes` episodes per stay from the stay's own first state, with its
# own latent severity, at most `horizon` steps, common random numbers across
# policies (seed). `policy`: "behaviour" or a fitted policy; each stay gets
# its own policy (`predict(type = "prob")` for its id). Returns one mean
# return per stay (named by id).
s4_policy_value <- function(policy, sim, num.episodes = 20, gamma = 0.9, horizon = 20,
                            seed = 1) {
  doses <- s4_doses(sim$levels)
  first <- sim$data[sim$data$time == 1, ]
  first <- first[order(first$id), ]
  N <- nrow(first)
  idx <- rep(seq_len(N), each = num.episodes)
  st <- lapply(first[c("map", "lactate", "hr", "sofa")], function(x) x[idx])
  sev <- sim$severity[first$id][idx]
  set.seed(seed)
  alive <- rep(TRUE, length(idx))
  ret <- numeric(length(idx))
  for (t in seq_len(horizon)) {
    ix <- which(alive)
    if (length(ix) == 0L) break
    now <- lapply(st, `[`, ix)
    if (identical(policy, "behaviour")) {
      p <- s4_behaviour_probs(now$map, doses)
    } else {
      nd <- data.frame(id = first$id[idx[ix]], now, stringsAsFactors = FALSE)
      pr <- stats::predict(policy, nd, type = "prob")
      p <- matrix(0, length(ix), length(doses$labels))
      p[, match(colnames(pr), doses$labels)] <- pr
    }
    a <- p4l:::sample_rows_inverse(p, stats::runif(length(ix)))
    out <- s4_step(now, sev[ix], doses$f[a], doses$v[a])
    ret[ix] <- ret[ix] + gamma^(t - 1) * out$reward
    for (v in names(st)) st[[v]][ix] <- out$state[[v]]
    alive[ix[out$absorbed]] <- FALSE
  }
  stats::setNames(as.numeric(tapply(ret, idx, mean)), first$id)
}

# Mean value by latent severity (the stays below and above the median).
s4_by_severity <- function(v, sim) {
  sev <- sim$severity[as.integer(names(v))]
  grp <- ifelse(sev > stats::median(sim$severity), "severe", "mild")
  tapply(v, grp, mean)
}

stress_s4_data <- function(num.stays, levels, seed = 1,
                           sim = sim_s4(num.stays, levels, seed = seed)) {
  p4l::p4l_data(sim$data, "id", "time", "action", "reward", c("map", "lactate", "hr", "sofa"),
                terminal = "terminal")
}

# One S4 data set (both fits). `checkpoint(rows)` is called after the FQI fit
# so that a time guard that stops the P4L fit keeps FQI's time. Values: true
# discounted values by Monte Carlo on the S4 dynamics (s4_policy_value(),
# about 15,000 episodes in all, at least one per stay), by latent severity
# (stays below / above the median); a data set with more than `max.eval`
# stays gets fit times only.
stress_run_s4 <- function(num.stays = 300, levels = 3, gamma = 0.9, K = 2, rep = 1,
                          checkpoint = NULL, max.eval = 2000) {
  ds <- sprintf("ICU-like, %d stays, %d actions", num.stays, levels^2)
  t0 <- stress_elapsed()
  seed <- 500 + rep
  sim <- tryCatch(sim_s4(num.stays, levels, seed = seed), error = function(e) e)
  d <- if (stress_is_error(sim)) sim else
    tryCatch(stress_s4_data(num.stays, levels, sim = sim), error = function(e) e)
  if (stress_is_error(d)) {
    return(stress_not_run("S4", ds, gamma, K, paste0("data error: ", conditionMessage(d))))
  }
  gen <- stress_elapsed() - t0
  evaluate <- num.stays <= max.eval
  groups <- if (evaluate) c("mild", "severe") else "all"
  metric <- if (evaluate) "value" else "fit time"
  E <- max(1L, ceiling(15000 / num.stays))
  val <- function(pol) s4_by_severity(s4_policy_value(pol, sim, E, gamma, seed = 600 + rep), sim)
  beh <- if (evaluate) val("behaviour") else NULL
  ff <- stress_fit_fqi(d, gamma, rep)
  fe <- if (evaluate && !stress_is_error(ff$fit)) tryCatch(val(ff$fit), error = function(e) NULL)
  if (is.function(checkpoint)) {
    checkpoint(stress_rows("S4", ds, gamma, rep, groups, d, K, NULL, ff, NULL, beh, fe,
                           metric = metric, error = "p4l pending"))
  }
  pf <- stress_fit_p4l(d, K, gamma, rep)
  pe <- if (evaluate && !stress_is_error(pf$fit)) tryCatch(val(pf$fit), error = function(e) NULL)
  out <- stress_rows("S4", ds, gamma, rep, groups, d, K, pf, ff, pe, beh, fe, metric = metric)
  attr(out, "data.secs") <- gen
  out
}

# ---------------------------------------------------------------------------
# S5: the paper's 2-D study and its reversed variant
# ---------------------------------------------------------------------------

stress_linear2d_variants <- function() {
  g <- p4l::linear2d_groups()
  rev <- g
  rev["c", "reward.sign"] <- -1
  list(paper = g, reversed = rev)
}

stress_run_s5 <- function(reps = 1, gamma = 0.8, K = 3, num.per.group = 20, T = 100,
                          eval.episodes = 200, optimum.grid = 241,
                          tol = c(paper = 0.03, reversed = 0.05), checkpoint = NULL) {
  variants <- stress_linear2d_variants()
  out <- list()
  for (v in names(variants)) {
    o <- p4l::linear2d_optimum(variants[[v]], gamma = gamma, horizon = 50,
                               grid.size = optimum.grid)
    opt <- stats::setNames(o$value, rownames(o))
    for (r in stress_rep_ids(reps)) {
      sim <- p4l::sim_linear2d(num.per.group = num.per.group, T = T, groups = variants[[v]],
                               seed = 1000 + r)
      d <- p4l::p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
      val <- function(pol) {
        ev <- p4l::evaluate_policy(pol, sim$env, ids = names(sim$env),
                                   num.episodes = eval.episodes, horizon = 50, gamma = gamma,
                                   seed = r)
        tapply(ev$value, sim$group[as.character(ev$id)], mean)
      }
      beh <- val(p4l::uniform_policy(c(0, 1), c("s1", "s2"), gamma = gamma))
      pf <- stress_fit_p4l(d, K, gamma, r)
      ff <- stress_fit_fqi(d, gamma, r)
      pe <- if (stress_is_error(pf$fit)) NULL else tryCatch(val(pf$fit), error = function(e) NULL)
      fe <- if (stress_is_error(ff$fit)) NULL else tryCatch(val(ff$fit), error = function(e) NULL)
      out[[length(out) + 1L]] <- stress_rows("S5", paste0("linear2d ", v), gamma, r,
                                             levels(sim$group), d, K, pf, ff, pe, beh, fe,
                                             opt, optimum.tol = tol[[v]])
      if (is.function(checkpoint)) checkpoint(do.call(rbind, out))
    }
  }
  do.call(rbind, out)
}

# ---------------------------------------------------------------------------
# Jobs and the quick subset
# ---------------------------------------------------------------------------

# Job names: "S1", "S2", "S3", "S5", and "S4:<stays>:<levels>" for S4.
stress_jobs <- function(suites) {
  jobs <- character(0)
  for (s in suites) {
    jobs <- c(jobs, if (s == "S4") c("S4:300:3", "S4:300:5", "S4:16000:3", "S4:16000:5") else s)
  }
  jobs
}

stress_run_job <- function(job, reps = 1, checkpoint = NULL) {
  parts <- strsplit(job, ":", fixed = TRUE)[[1]]
  switch(parts[1],
         S1 = stress_run_s1(reps, checkpoint = checkpoint),
         S2 = stress_run_s2(reps, checkpoint = checkpoint),
         S3 = stress_run_s3(reps),
         S4 = stress_run_s4(as.integer(parts[2]), as.integer(parts[3]), checkpoint = checkpoint),
         S5 = stress_run_s5(reps, checkpoint = checkpoint),
         stop("unknown stress job '", job, "'"))
}

# The quick subset for the tests: the same checks on small sizes (about a
# minute on 2 cores with the current estimator). Returns the result rows
# (columns as in bench/stress-results.csv); a test can assert on `error`,
# `converged`, `value.in.range` and the pass.* columns. `suites` picks a
# subset; S3 runs only when the package has sim_icu().
stress_quick <- function(suites = c("S1", "S2", "S3", "S4", "S5")) {
  out <- list()
  if ("S1" %in% suites) out$S1 <- stress_run_s1(1, settings = "C", gammas = 0.9, num.traj = 15,
                                                eval.episodes = 3)
  if ("S2" %in% suites) out$S2 <- stress_run_s2(1, num.patients = 16, num.visits = 10,
                                                eval.episodes = 20)
  if ("S3" %in% suites) out$S3 <- stress_run_s3(1)
  if ("S4" %in% suites) out$S4 <- stress_run_s4(60, 3)
  if ("S5" %in% suites) out$S5 <- stress_run_s5(1, num.per.group = 5, T = 50, eval.episodes = 50,
                                                optimum.grid = 61)
  res <- do.call(rbind, out)
  rownames(res) <- NULL
  res
}
