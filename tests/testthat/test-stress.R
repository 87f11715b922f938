# The quick subset of the stress suite (bench/stress.R, issue 12): P4L with
# default settings on small versions of the suite's data sets must converge,
# report values inside the range any policy can attain, and (where the suite
# requires it) beat the behaviour policy. The full suite and its table are in
# bench/README.md.

stress_values_ok <- function(fit) {
  v <- fit$values[fit$values$scale == "normalised", ]
  rg <- fit$value.range
  all(is.finite(c(v$pessimistic, v$point))) &&
    all(v$pessimistic >= rg[1] & v$pessimistic <= rg[2]) &&
    all(v$point >= rg[1] & v$point <= rg[2])
}

test_that("stress S1 (quick): CartPole at three discounts converges in range and beats behaviour", {
  sim <- sim_cartpole(cartpole_settings("C"), num.traj = 20, epsilon = 0.3, max.steps = 300,
                      seed = 3001)
  d <- p4l_data(sim$data, "id", "time", "action", "reward",
                c("x", "x_dot", "theta", "theta_dot"), terminal = "terminal")
  steps <- function(pol) {
    ev <- evaluate_policy(pol, sim$env, ids = names(sim$env), num.episodes = 4, horizon = 300,
                          gamma = 1, seed = 1)
    tapply(ev$steps, sim$group[as.character(ev$id)], mean)
  }
  beh <- steps(cartpole_behaviour_policy(epsilon = 0.3))
  for (g in c(0.9, 0.99)) {
    fit <- p4l(d, K = 3, gamma = g, seed = 1)
    expect_true(fit$converged)
    expect_true(stress_values_ok(fit))
    expect_true(all(steps(fit) > beh))
  }
})

test_that("stress S3 (quick): the ICU course at gamma 0.99 converges with attainable values", {
  sim <- sim_icu(150, seed = 301)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
                terminal = "terminal")
  fit <- p4l(d, K = 2, gamma = 0.99, seed = 1)
  expect_true(fit$converged)
  expect_true(stress_values_ok(fit))
  expect_identical(fit$value.range, c(-1, 1))
})

test_that("stress S5 (quick): the 2-D study and its reversed variant", {
  for (sign in c(1, -1)) {
    g <- linear2d_groups(); g["c", "reward.sign"] <- sign
    sim <- sim_linear2d(num.per.group = 6, T = 60, groups = g, seed = 1001)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    fit <- p4l(d, K = 3, seed = 1)
    expect_true(fit$converged)
    expect_true(stress_values_ok(fit))
    ev <- evaluate_policy(fit, sim$env, num.episodes = 100, seed = 1)
    be <- evaluate_policy(uniform_policy(c(0, 1), c("s1", "s2")), sim$env,
                          num.episodes = 100, seed = 1)
    grp <- sim$group[as.character(ev$id)]
    expect_true(all(tapply(ev$value, grp, mean) > tapply(be$value, grp, mean) + 0.5))
  }
})
