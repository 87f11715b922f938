# CartPole: dynamics against the equations computed in R, the simulator, the
# behaviour policy, and p4l_data(terminal = <column>).

cartpole_step_r <- function(s, a, length, force) {
  s <- unname(s)
  g <- 9.8; mc <- 1; mp <- 0.1; tau <- 0.02
  M <- mc + mp; pml <- mp * length
  f <- if (a == 1) force else -force
  temp <- (f + pml * s[4]^2 * sin(s[3])) / M
  thetaacc <- (g * sin(s[3]) - cos(s[3]) * temp) / (length * (4 / 3 - mp * cos(s[3])^2 / M))
  xacc <- temp - pml * thetaacc * cos(s[3]) / M
  nxt <- c(s[1] + tau * s[2], s[2] + tau * xacc, s[3] + tau * s[4], s[4] + tau * thetaacc)
  list(state = nxt, done = abs(nxt[1]) > 2.4 || abs(nxt[3]) > 12 * 2 * pi / 360)
}

state.names <- c("x", "x_dot", "theta", "theta_dot")

test_that("env_step follows the CartPole equations", {
  set.seed(1)
  for (k in 1:40) {
    len <- runif(1, 0.1, 1); frc <- runif(1, 1, 12)
    s <- c(runif(1, -2.4, 2.4), rnorm(1), runif(1, -0.2, 0.2), rnorm(1))
    a <- k %% 2
    env <- env_cartpole(length = len, force = frc)
    got <- env_step(env, s, a)
    ref <- cartpole_step_r(s, a, len, frc)
    expect_equal(unname(got$state), ref$state, tolerance = 1e-12)
    expect_identical(names(got$state), state.names)
    expect_identical(got$done, ref$done)
    expect_identical(got$reward, 1)
  }
})

test_that("env_step flags failures at the thresholds", {
  env <- env_cartpole()
  expect_true(env_step(env, c(2.399, 1, 0, 0), 1)$done)            # x leaves [-2.4, 2.4]
  expect_false(env_step(env, c(2.3, 1, 0, 0), 1)$done)
  lim <- 12 * 2 * pi / 360
  expect_true(env_step(env, c(0, 0, lim - 0.001, 0.1), 1)$done)    # theta beyond 12 degrees
  expect_true(env_step(env, c(0, 0, -lim + 0.001, -0.1), 0)$done)
  expect_false(env_step(env, c(0, 0, lim - 0.01, 0.1), 1)$done)
})

test_that("env_cartpole validates its arguments", {
  expect_error(env_cartpole(length = 0), "`length`")
  expect_error(env_cartpole(force = -1), "`force`")
  expect_error(env_cartpole(force = c(1, 2)), "`force`")
  env <- env_cartpole(0.85, 5)
  expect_s3_class(env, "p4l_env")
  expect_identical(env$state.names, state.names)
  expect_error(env_step(env, c(0, 0, 0), 1), "length 4")
  expect_error(env_step(env, c(0, 0, 0, 0), 2), "`action`")
  expect_output(print(env), "cartpole")
})

test_that("sim_cartpole trajectories replay under the dynamics", {
  st <- cartpole_settings("C")
  sim <- sim_cartpole(st, num.traj = 8, epsilon = 0.2, seed = 3)
  d <- sim$data
  expect_named(d, c("id", "time", "action", "reward", state.names, "terminal"))
  expect_identical(levels(sim$group), rownames(st))
  expect_identical(as.integer(table(sim$group)), rep(8L, 3))
  expect_identical(names(sim$env), as.character(1:24))
  expect_equal(sim$params$length, rep(st$length, each = 8))
  for (i in c(1, 9, 24)) {
    tr <- d[d$id == i, ]
    L <- nrow(tr) - 1L
    expect_identical(sim$params$steps[i], L)
    expect_identical(tr$time, 0:L)
    expect_true(all(abs(unlist(tr[1, state.names])) <= 0.05))
    expect_true(all(is.na(tr$action[L + 1])) && is.na(tr$reward[L + 1]))
    expect_true(all(tr$reward[1:L] == 1))
    S <- as.matrix(tr[, state.names])
    ref <- lapply(seq_len(L), function(t) {
      cartpole_step_r(S[t, ], tr$action[t], sim$params$length[i], sim$params$force[i])
    })
    expect_equal(unname(S[-1, , drop = FALSE]), do.call(rbind, lapply(ref, `[[`, "state")),
                 tolerance = 1e-12)
    expect_identical(tr$terminal[1:L], vapply(ref, `[[`, logical(1), "done"))
    expect_false(tr$terminal[L + 1])
  }
})

test_that("sim_cartpole: behaviour policy, truncation, seeds and threads", {
  st <- data.frame(length = 0.85, force = 2)   # long episodes: some reach the cap
  sim0 <- sim_cartpole(st, num.traj = 30, epsilon = 0, max.steps = 60, seed = 2)
  d <- sim0$data
  act <- !is.na(d$action)
  expect_identical(d$action[act], as.integer(d$theta[act] > 0))
  trunc <- sim0$params$steps == 60
  expect_true(any(trunc))
  done.ids <- d$id[d$terminal]
  expect_setequal(done.ids, sim0$params$id[!trunc])
  expect_true(all(sim0$params$steps <= 60))
  # epsilon: about epsilon / 2 of the actions go against sign(theta)
  sim <- sim_cartpole(cartpole_settings("B"), num.traj = 50, epsilon = 0.4, seed = 5)
  act <- !is.na(sim$data$action)
  against <- mean(sim$data$action[act] != as.integer(sim$data$theta[act] > 0))
  expect_equal(against, 0.2, tolerance = 0.15)
  # reproducible and independent of threads
  a <- sim_cartpole(cartpole_settings("A"), num.traj = 10, seed = 9, num.threads = 1)
  b <- sim_cartpole(cartpole_settings("A"), num.traj = 10, seed = 9, num.threads = 2)
  expect_identical(a, b)
  expect_false(identical(a$data, sim_cartpole(cartpole_settings("A"), num.traj = 10,
                                               seed = 10)$data))
  # settings as a list, unnamed rows get force/length labels
  s2 <- sim_cartpole(list(length = c(0.5, 0.15), force = c(10, 2)), num.traj = c(2, 3), seed = 1)
  expect_identical(levels(s2$group), c("10/0.5", "2/0.15"))
  expect_identical(as.integer(table(s2$group)), c(2L, 3L))
})

test_that("sim_cartpole validates its arguments", {
  expect_error(sim_cartpole(data.frame(length = 0.5)), "'force'")
  expect_error(sim_cartpole(data.frame(length = -1, force = 2)), "'length'")
  expect_error(sim_cartpole(cartpole_settings("A"), num.traj = c(1, 2)), "`num.traj`")
  expect_error(sim_cartpole(cartpole_settings("A"), epsilon = 2), "`epsilon`")
  expect_error(sim_cartpole(cartpole_settings("A"), max.steps = 0), "`max.steps`")
  expect_error(sim_cartpole("A"), "`settings`")
})

test_that("p4l_data marks failures, not truncations, as terminal", {
  sim <- sim_cartpole(data.frame(length = 0.85, force = 2), num.traj = 30, epsilon = 0,
                      max.steps = 60, seed = 2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", state.names, terminal = "terminal")
  expect_true(d$is.terminal)
  expect_identical(length(d$R), sum(sim$params$steps))
  last <- !duplicated(d$individual, fromLast = TRUE)
  expect_identical(d$terminal[last], sim$params$steps < 60)
  expect_false(any(d$terminal[!last]))
  expect_true(all(d$next.observed))
  dT <- p4l_data(sim$data, "id", "time", "action", "reward", state.names, terminal = TRUE)
  expect_true(all(dT$terminal[last]))
  expect_identical(dT$S_next, d$S_next)
  # a last row with action and reward but no next state, flagged terminal
  tiny <- data.frame(id = c(1, 1, 2, 2), t = c(0, 1, 0, 1), a = c(0, 1, 1, 0), r = 1,
                     s = c(0.1, 0.2, 0.3, 0.4), done = c(FALSE, TRUE, FALSE, NA))
  expect_warning(td <- p4l_data(tiny, "id", "t", "a", "r", "s", terminal = "done"),
                 "1 individual")
  expect_identical(td$terminal, c(FALSE, TRUE, FALSE))
  tiny3 <- data.frame(id = 1, t = 0:2, a = c(0, 1, NA), r = c(1, 1, NA), s = 1:3,
                      done = c(TRUE, FALSE, FALSE))
  expect_error(p4l_data(tiny3, "id", "t", "a", "r", "s", terminal = "done"),
               "TRUE at row 1 .*not the individual's last transition")
  tiny3$done <- c(FALSE, TRUE, FALSE)
  expect_identical(p4l_data(tiny3, "id", "t", "a", "r", "s", terminal = "done")$terminal,
                   c(FALSE, TRUE))
  tiny3$done <- c(FALSE, FALSE, TRUE)  # a flag on the final-state row is not a transition
  expect_error(p4l_data(tiny3, "id", "t", "a", "r", "s", terminal = "done"), "TRUE at row 3")
  expect_error(p4l_data(tiny, "id", "t", "a", "r", "s", terminal = "nope"), "not in `data`")
  expect_error(p4l_data(transform(tiny, done = "yes"), "id", "t", "a", "r", "s",
                        terminal = "done"), "must be logical")
  expect_error(p4l_data(tiny, "id", "t", "a", "r", "s", terminal = "s"), "another role")
  expect_error(p4l_data(tiny, "id", "t", "a", "r", "s", terminal = c("done", "s")),
               "TRUE, FALSE or the name")
})

test_that("the behaviour policy is sign(theta) and evaluate_policy counts steps", {
  pol <- cartpole_behaviour_policy()
  nd <- data.frame(x = 0, x_dot = 0, theta = c(-0.1, 0, 0.1), theta_dot = 0)
  expect_identical(predict(pol, nd), c(0L, 0L, 1L))
  expect_equal(unname(predict(cartpole_behaviour_policy(0.5), nd, type = "prob")[, 2]),
               c(0.25, 0.25, 0.75))
  expect_error(cartpole_behaviour_policy(epsilon = -0.1), "`epsilon`")
  env <- env_cartpole(0.5, 5)
  ev <- evaluate_policy(cartpole_behaviour_policy(0.2, gamma = 0.95), env, ids = 1,
                        num.episodes = 400, horizon = 300, seed = 4)
  sim <- sim_cartpole(data.frame(length = 0.5, force = 5), num.traj = 400, epsilon = 0.2,
                      seed = 8)
  se <- sqrt(ev$steps.se^2 + var(sim$params$steps) / 400)
  expect_lt(abs(ev$steps - mean(sim$params$steps)), 4 * se)
  expect_equal(ev$total.reward, ev$steps)
  expect_true(ev$value <= (1 - 0.95^ev$steps) / 0.05 + 1e-8)  # Jensen: E f(L) <= f(E L)
  # an always-push-right policy: every episode has the same length (deterministic, tiny start)
  right <- cartpole_behaviour_policy()
  right$policy.coef[[1]][] <- 0
  right$policy.coef[[1]][1, 2] <- 1
  ev2 <- evaluate_policy(right, env, ids = 1, num.episodes = 50, horizon = 300, seed = 1)
  expect_lt(ev2$steps, 20)
  # the 300-step cap
  ev3 <- evaluate_policy(cartpole_behaviour_policy(), env_cartpole(0.85, 2), ids = 1,
                         num.episodes = 50, horizon = 300, seed = 1)
  expect_lte(ev3$steps, 300)
})

test_that("cartpole_settings are the paper's Table 2", {
  expect_identical(rownames(cartpole_settings("A")), c("2/0.85", "5/0.85", "10/0.85"))
  expect_identical(rownames(cartpole_settings("B")), c("5/0.15", "5/0.5", "5/0.85"))
  expect_identical(rownames(cartpole_settings("C")), c("2/0.15", "10/0.85", "5/0.5"))
  expect_error(cartpole_settings("D"))
})
