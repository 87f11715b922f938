# The ICU course: the enumerated model against an R transcription of the
# documented dynamics, the exact solution against a dense solve in R and
# Monte Carlo, the simulator, and argument checks.

icu.states <- c("sofa_cardio", "sofa_resp", "sofa_renal", "on_fluids", "on_vaso", "on_vent")
icu.labels <- c("none", "fluids", "vaso", "fluids+vaso", "vent", "fluids+vent", "vaso+vent",
                "fluids+vaso+vent")

# The dynamics as written in ?env_icu: list(death, discharge, next (k x 6), prob).
icu_ref <- function(s, a, atypical) {
  x <- s[1:3]; f <- s[4:6]
  F <- a %% 2; V <- (a %/% 2) %% 2; M <- a %/% 4
  d <- c(0, 0.002, 0.008, 0.02, 0.05)
  h <- 0.001 + sum(d[x + 1]) + 0.003 * V + 0.005 * M
  q <- if (all(x == 0) && a == 0) 0.8 else 0
  imp <- c(0.05 + (if (atypical) 0 else 0.35) * F + 0.30 * V,
           0.05 + 0.45 * M,
           0.15 + (if (atypical) 0 else 0.25) * F)
  wor <- c(0.20 + 0.25 * (f[2] == 1 && V == 0 && x[1] >= 1),
           0.15 + (if (atypical) 0.30 else 0.10 * (x[1] == 0)) * F +
             0.25 * (f[3] == 1 && M == 0 && x[2] >= 2),
           0.05 + 0.15 * (x[1] >= 3) + 0.05 * V)
  imp[x == 0] <- 0
  wor[x == 4] <- 0
  mv <- as.matrix(expand.grid(-1:1, -1:1, -1:1))
  pm <- function(j, m) ifelse(m == -1, imp[j], ifelse(m == 1, wor[j], 1 - imp[j] - wor[j]))
  pr <- (1 - h) * (1 - q) * pm(1, mv[, 1]) * pm(2, mv[, 2]) * pm(3, mv[, 3])
  nx <- cbind(sweep(mv, 2, x, "+"), F, V, M)
  keep <- pr > 0
  list(death = h, discharge = (1 - h) * q, nxt = nx[keep, , drop = FALSE], prob = pr[keep])
}

test_that("icu_transitions matches the documented dynamics and sums to 1", {
  set.seed(2)
  for (k in 1:30) {
    s <- c(sample(0:4, 3, replace = TRUE), sample(0:1, 3, replace = TRUE))
    if (k <= 3) s <- c(0, 0, 0, k %% 2, 1, 0)      # discharge-eligible scores
    a <- if (k <= 3) 0L else sample(0:7, 1)
    sg <- if (k %% 2) "typical" else "atypical"
    got <- icu_transitions(s, a, sg)
    ref <- icu_ref(s, a, sg == "atypical")
    expect_equal(sum(got$prob), 1, tolerance = 1e-12)
    expect_equal(sum(got$prob[got$outcome == "death"]), ref$death, tolerance = 1e-12)
    expect_equal(sum(got$prob[got$outcome == "discharge"]), ref$discharge, tolerance = 1e-12)
    cont <- got[got$outcome == "continue", ]
    key.got <- do.call(paste, cont[icu.states])
    key.ref <- do.call(paste, as.data.frame(ref$nxt))
    expect_setequal(key.got, key.ref)
    expect_equal(cont$prob, ref$prob[match(key.got, key.ref)], tolerance = 1e-12)
    expect_true(all(got$reward == c(continue = 0, death = -1, discharge = 1)[got$outcome]))
  }
  # every state and action of both subgroups
  for (sg in c("typical", "atypical")) {
    m <- p4l:::icu_model(sg)
    tot <- rowsum(m$prob, m$from * 8 + m$action)
    expect_length(tot, 8000)
    expect_lt(max(abs(tot - 1)), 1e-12)
    expect_true(all(m$prob >= 0))
  }
  # discharge only from all-normal scores with every treatment stopped
  expect_gt(sum(icu_transitions(c(0, 0, 0, 1, 1, 1), "none")$outcome == "discharge"), 0)
  expect_false(any(icu_transitions(c(0, 0, 0, 0, 0, 0), "vent")$outcome == "discharge"))
  expect_false(any(icu_transitions(c(0, 1, 0, 0, 0, 0), "none")$outcome == "discharge"))
})

test_that("env_step samples the enumerated transitions", {
  env <- env_icu("atypical")
  s <- c(2, 1, 3, 1, 0, 1)
  n <- 3000
  draws <- vapply(seq_len(n), function(i) {
    st <- env_step(env, s, "fluids+vaso", seed = i)
    if (st$done) if (st$reward < 0) "death" else "discharge" else paste(st$state, collapse = " ")
  }, character(1))
  tr <- icu_transitions(s, "fluids+vaso", "atypical")
  key <- ifelse(tr$outcome == "continue", do.call(paste, tr[icu.states]), tr$outcome)
  freq <- as.numeric(table(factor(draws, levels = key))) / n
  expect_true(all(draws %in% key))
  expect_true(all(abs(freq - tr$prob) <= 4 * sqrt(tr$prob * (1 - tr$prob) / n) + 1e-3))
  st <- env_step(env, c(sofa_cardio = 0, sofa_resp = 0, sofa_renal = 0, on_fluids = 0,
                        on_vaso = 0, on_vent = 0), "vaso", seed = 1)
  expect_identical(names(st$state), icu.states)
  expect_identical(unname(st$state[4:6]), c(0, 1, 0))   # flags record the action
  expect_error(env_step(env, c(5, 0, 0, 0, 0, 0), "none"), "state")
  expect_error(env_step(env, s, "dialysis"), "`action`")
})

test_that("the exact optimum satisfies the Bellman equation (dense solve in R)", {
  opt <- icu_optimum()
  p0 <- icu_states()$initial
  expect_equal(sum(p0), 1)
  for (sg in c("typical", "atypical")) {
    m <- p4l:::icu_model(sg)
    cont <- m$to >= 0
    act <- match(opt$actions[[sg]], icu.labels) - 1L
    # dense P_pi and r_pi of the optimal policy
    sel <- cont & m$action == act[m$from + 1L]
    P <- matrix(0, 1000, 1000)
    P[cbind(m$from[sel] + 1L, m$to[sel] + 1L)] <- m$prob[sel]
    r <- m$reward[cbind(1:1000, act + 1L)]
    V <- solve(diag(1000) - 0.99 * P, r)
    expect_equal(unname(opt$V[, sg]), V, tolerance = 1e-10)
    # no action is better anywhere: Q(s, a) <= V(s)
    Q <- m$reward
    w <- m$prob[cont] * V[m$to[cont] + 1L]
    EV <- tapply(w, factor(m$from[cont] * 8 + m$action[cont], levels = 0:7999), sum, default = 0)
    Q <- Q + 0.99 * matrix(EV, 1000, 8, byrow = TRUE)
    expect_lt(max(apply(Q, 1, max) - V), 1e-10)
    expect_equal(opt$values$optimal[opt$values$subgroup == sg], sum(p0 * V), tolerance = 1e-10)
  }
  v <- opt$values
  expect_true(all(v$optimal > v$behaviour + 0.01))
  expect_gt(v$share.differ[2], 0.5)                            # the atypical optimum differs
  expect_false(any(grepl("fluids", opt$actions$atypical)))      # and never gives fluids
  expect_gt(v$optimal[2] - v$typical.optimal[2], 0.1)           # the typical optimum harms them
  expect_output(print(opt), "atypical")
})

test_that("exact values agree with evaluate_policy over a long horizon", {
  opt <- icu_optimum()
  v <- opt$values
  pols <- list(typical = icu_optimal_policy("typical"), atypical = icu_optimal_policy("atypical"),
               behaviour = icu_behaviour_policy(0.05))
  # the table policies evaluate 1000 basis functions per step: fewer episodes
  # in the quick set (4 s.e. is then about 0.1), 20000 at P4L_TEST_LEVEL=2
  episodes <- if (test_level() >= 2L) 20000L else 1000L
  for (sg in c("typical", "atypical")) {
    for (p in c(sg, "behaviour")) {
      ev <- evaluate_policy(pols[[p]], env_icu(sg), ids = 1, num.episodes = episodes,
                            horizon = 500, gamma = 0.99, seed = 11)
      exact <- if (p == "behaviour") v$behaviour[v$subgroup == sg] else v$optimal[v$subgroup == sg]
      expect_near(ev$value, exact, 4 * ev$se)
      expect_lt(ev$steps, 30)
    }
  }
  # a stochastic (softmax) policy through predict(type = "prob")
  uni <- uniform_policy(icu.labels, icu.states, gamma = 0.99)
  ex <- icu_policy_value(uni)
  for (sg in c("typical", "atypical")) {
    ev <- evaluate_policy(uni, env_icu(sg), ids = 1, num.episodes = 3000, horizon = 500, seed = 5)
    expect_near(ev$value, ex$value[ex$subgroup == sg], 4 * ev$se)
  }
  expect_true(all(ex$regret > 0))
})

test_that("icu_policy_value: the behaviour policy, the optima, individual policies", {
  opt <- icu_optimum()
  b <- icu_policy_value(icu_behaviour_policy())
  expect_identical(b$subgroup, c("typical", "atypical"))
  expect_equal(b$value, opt$values$behaviour, tolerance = 1e-10)
  expect_equal(b$regret, opt$values$optimal - opt$values$behaviour, tolerance = 1e-10)
  o <- icu_policy_value(icu_optimal_policy("atypical"), subgroup = "atypical")
  expect_equal(o$regret, 0, tolerance = 1e-10)
  # an individual policy (two slots on the raw state) evaluated per id
  coefs <- list(matrix(rnorm(56, sd = 0.3), 7, 8), matrix(rnorm(56, sd = 0.3), 7, 8))
  pol <- p4l:::new_p4l_policy("test", "test_fit", basis = NULL, gamma = 0.99,
                              action.levels = icu.labels, action.type = "character",
                              state.names = icu.states, id.column = "id", ids = c("a", "b"),
                              slot = c(1L, 2L), policy.coef = coefs, raw.state = TRUE)
  grp <- c(a = "atypical", b = "typical")
  pv <- icu_policy_value(pol, subgroup = grp)
  expect_identical(pv$id, c("a", "b"))
  pa <- p4l:::new_p4l_policy("test", "test_fit", basis = NULL, gamma = 0.99,
                             action.levels = icu.labels, action.type = "character",
                             state.names = icu.states, id.column = "id", ids = character(0),
                             slot = integer(0), policy.coef = coefs[1], raw.state = TRUE)
  expect_equal(pv$value[1], icu_policy_value(pa, subgroup = "atypical")$value, tolerance = 1e-12)
  ev <- evaluate_policy(pol, list(a = env_icu("atypical"), b = env_icu("typical")),
                        num.episodes = 3000, horizon = 500, gamma = 0.99, seed = 2)
  expect_near(ev$value, pv$value, 4 * max(ev$se))
  # a policy on a subset of the actions, coded 0..7
  sub <- uniform_policy(c(0L, 2L), icu.states, gamma = 0.99)
  expect_true(all(is.finite(icu_policy_value(sub)$value)))
})

test_that("sim_icu: behaviour value, episodes, p4l_data, seeds and threads", {
  opt <- icu_optimum()
  for (sg in c("typical", "atypical")) {
    sim <- sim_icu(3000, max.decisions = 500, atypical.share = as.numeric(sg == "atypical"),
                   seed = 7)
    expect_true(all(sim$group == sg))
    d <- sim$data[!is.na(sim$data$reward), ]
    G <- tapply(0.99^d$time * d$reward, d$id, sum)
    expect_near(mean(G), opt$values$behaviour[opt$values$subgroup == sg],
                4 * sd(G) / sqrt(length(G)))
  }
  sim <- sim_icu(400, seed = 3)
  d <- sim$data
  expect_named(d, c("id", "time", "action", "reward", icu.states, "terminal"))
  expect_true(all(d$action %in% c(icu.labels, NA)))
  expect_true(all(d$reward[d$terminal] %in% c(-1, 1)))
  expect_true(all(d$reward[!d$terminal & !is.na(d$reward)] == 0))
  expect_true(all(sim$params$steps <= 20))
  expect_gt(mean(sim$params$outcome != "censored"), 0.75)
  expect_equal(mean(sim$group == "atypical"), 0.2, tolerance = 0.3)
  expect_identical(names(sim$env), names(sim$group))
  expect_identical(sim$env[[which(sim$group == "atypical")[1]]]$subgroup, "atypical")
  # flags record the previous action
  nxt <- d[-1, ]; cur <- d[-nrow(d), ]
  same <- nxt$id == cur$id
  code <- match(cur$action[same], icu.labels) - 1L
  expect_identical(nxt$on_vaso[same], as.integer((code %/% 2) %% 2))
  pd <- p4l_data(d, "id", "time", "action", "reward", icu.states, terminal = "terminal")
  expect_equal(sum(pd$terminal), sum(d$terminal))
  expect_identical(sim_icu(50, seed = 9, num.threads = 1), sim_icu(50, seed = 9, num.threads = 2))
  expect_false(identical(sim_icu(50, seed = 9)$data, sim_icu(50, seed = 10)$data))
})

test_that("the ICU functions name their bad arguments", {
  expect_error(sim_icu(0), "`num.patients`")
  expect_error(sim_icu(10, max.decisions = 0), "`max.decisions`")
  expect_error(sim_icu(10, atypical.share = 1.5), "`atypical.share`")
  expect_error(sim_icu(10, behaviour.noise = -0.1), "`behaviour.noise`")
  expect_error(sim_icu(10, seed = -1), "`seed`")
  expect_error(sim_icu(10, num.threads = 0), "`num.threads`")
  expect_error(env_icu("severe"), "`subgroup`")
  expect_error(icu_optimum(gamma = 1), "`gamma`")
  expect_error(icu_optimum(behaviour.noise = 2), "`behaviour.noise`")
  expect_error(icu_behaviour_policy(noise = NA), "`noise`")
  expect_error(icu_optimal_policy("both"), "`subgroup`")
  expect_error(icu_transitions(c(0, 0, 0), "none"), "`state`")
  expect_error(icu_transitions(c(0, 0, 0, 0, 0, 2), "none"), "`state`")
  expect_error(icu_transitions(c(0, 0, 0, 0, 0, 0), 8), "`action`")
  expect_error(icu_policy_value(list()), "`policy`")
  expect_error(icu_policy_value(uniform_policy(c(0, 1), c("s1", "s2"))), "`policy`")
  expect_error(icu_policy_value(uniform_policy(c("a", "b"), icu.states)), "`policy`")
  expect_error(icu_policy_value(icu_behaviour_policy(), gamma = -1), "`gamma`")
  expect_error(icu_policy_value(icu_behaviour_policy(), subgroup = "x"), "`subgroup`")
  pol <- p4l:::new_p4l_policy("test", "test_fit", basis = NULL, gamma = 0.99,
                              action.levels = icu.labels, action.type = "character",
                              state.names = icu.states, id.column = "id", ids = c("a", "b"),
                              slot = c(1L, 2L), policy.coef = list(matrix(0, 7, 8), matrix(0, 7, 8)),
                              raw.state = TRUE)
  expect_error(icu_policy_value(pol), "`subgroup`")
  expect_error(icu_policy_value(pol, subgroup = c("typical", "atypical", "typical")), "`subgroup`")
})
