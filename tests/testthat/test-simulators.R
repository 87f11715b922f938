test_that("sim_linear2d has the documented shape and groups", {
  sim <- sim_linear2d(num.per.group = 4, T = 12, seed = 1)
  expect_named(sim$data, c("id", "time", "action", "reward", "s1", "s2"))
  expect_equal(nrow(sim$data), 12 * 13)
  expect_identical(levels(sim$group), c("a", "b", "c"))
  expect_identical(as.integer(table(sim$group)), c(4L, 4L, 4L))
  expect_identical(names(sim$group), as.character(1:12))
  last <- sim$data$time == 12
  expect_true(all(is.na(sim$data$action[last])) && all(is.na(sim$data$reward[last])))
  expect_true(all(sim$data$action[!last] %in% 0:1))
  expect_equal(sim$params$c1, rep(c(0, 0.6, -0.7), each = 4))
  expect_length(sim$env, 12)
  expect_s3_class(sim$env[["5"]], "p4l_env")
  expect_equal(unname(sim$env[["5"]]$params[c("c1", "c2")]), c(0.6, 0.4))
})

test_that("simulator coefficients and reward are recovered by regression", {
  sim <- sim_linear2d(num.per.group = 30, T = 100, seed = 7)
  d <- as.data.frame(p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2")))
  grp <- sim$group[as.character(d$id)]
  tab <- linear2d_groups()
  for (k in rownames(tab)) {
    sub <- d[grp == k, ]
    sg <- 2 * sub$action - 1
    f1 <- lm(next_s1 ~ 0 + I(sg * s1) + s2, sub)
    f2 <- lm(next_s2 ~ 0 + s1 + I(sg * s2), sub)
    expect_near(unname(coef(f1)), c(0.8, tab[k, "c1"]), 0.03)
    expect_near(unname(coef(f2)), c(tab[k, "c2"], -0.8), 0.03)
    expect_near(var(resid(f1)), 0.25, 0.02)
    # reward = expit(-(2A-1)(s1 - 2 s2)) * 0.9 + U(-0.1, 0.1)
    mean.r <- 0.9 / (1 + exp(sg * (sub$s1 - 2 * sub$s2)))
    noise <- sub$reward - mean.r
    expect_true(all(abs(noise) <= 0.1))
    expect_equal(var(noise), 0.2^2 / 12, tolerance = 0.1)
  }
  expect_near(mean(d$action), 0.5, 0.02)
  s0 <- as.matrix(sim$data[sim$data$time == 0, c("s1", "s2")])
  expect_near(unname(colMeans(s0)), c(0, 0), 0.3)
})

test_that("reversed reward flips which action is rewarded", {
  g <- linear2d_groups()[1, ]
  g$reward.sign <- -1
  sim <- sim_linear2d(num.per.group = 5, T = 50, groups = g, seed = 2)
  d <- sim$data[!is.na(sim$data$action), ]
  sg <- 2 * d$action - 1
  expect_true(all(abs(d$reward - 0.9 / (1 + exp(-sg * (d$s1 - 2 * d$s2)))) <= 0.1))
})

test_that("simulation is reproducible and independent of threads", {
  a <- sim_linear2d(num.per.group = 3, T = 20, seed = 5, num.threads = 1)
  b <- sim_linear2d(num.per.group = 3, T = 20, seed = 5, num.threads = 2)
  expect_identical(a, b)
  set.seed(9); c1 <- sim_linear2d(num.per.group = 2, T = 5)
  set.seed(9); c2 <- sim_linear2d(num.per.group = 2, T = 5)
  expect_identical(c1$data, c2$data)
})

test_that("env_step follows the transition equations", {
  env <- env_linear2d(0.6, 0.4)
  expect_output(print(env), "linear2d")
  # The noise of a step is reproducible: the same seed gives the same draw, so
  # two actions from the same state differ exactly as the equations say.
  s <- c(1, -0.5)
  o1 <- env_step(env, s, 1, seed = 3)
  o0 <- env_step(env, s, 0, seed = 3)
  expect_equal(unname(o1$state - o0$state), c(2 * 0.8 * s[1], -2 * 0.8 * s[2]))
  expect_equal(o1$reward - o0$reward,
               0.9 / (1 + exp(s[1] - 2 * s[2])) - 0.9 / (1 + exp(-(s[1] - 2 * s[2]))))
  expect_false(o1$done)
  expect_error(env_step(env, c(1, 2, 3), 1), "`state` must be a finite numeric vector of length 2")
  expect_error(env_step(env, s, 2), "`action` must be one of 0, 1")
  expect_error(env_linear2d(0, 0, reward.sign = 2), "`reward.sign` must be 1 or -1")
})

test_that("sim_linear2d checks its arguments", {
  expect_error(sim_linear2d(num.per.group = 0), "`num.per.group` must be between")
  expect_error(sim_linear2d(T = 1.5), "`T` must be a single whole number")
  expect_error(sim_linear2d(groups = data.frame(c1 = 1)), "column 'c2'")
  expect_error(sim_linear2d(groups = data.frame(c1 = 1, c2 = 1, reward.sign = 0)),
               "'reward.sign' of `groups` must be 1 or -1")
})
