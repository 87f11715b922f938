test_that("the uniform policy's value matches an R simulation of the same model", {
  env <- env_linear2d(0.6, 0.4)
  pol <- uniform_policy(c(0, 1), c("s1", "s2"), gamma = 0.8)
  ev <- evaluate_policy(pol, env, ids = 1, num.episodes = 4000, horizon = 30, seed = 1)
  # Independent reference: the same process simulated in R with R's generator.
  set.seed(1)
  ref <- replicate(4000, {
    s <- rnorm(2); G <- 0
    for (t in 0:29) {
      a <- rbinom(1, 1, 0.5); sg <- 2 * a - 1
      G <- G + 0.8^t * (0.9 / (1 + exp(sg * (s[1] - 2 * s[2]))) + runif(1, -0.1, 0.1))
      s <- c(0.8 * sg * s[1] + 0.6 * s[2], 0.4 * s[1] - 0.8 * sg * s[2]) + rnorm(2, sd = 0.5)
    }
    G
  })
  expect_near(ev$value, mean(ref), 4 * sqrt(ev$se^2 + var(ref) / 4000))
  expect_equal(ev$se, sd(ref) / sqrt(4000), tolerance = 0.1)
  expect_equal(ev$steps, 30)
})

test_that("evaluation is deterministic across threads and checks its inputs", {
  sim <- sim_linear2d(num.per.group = 2, T = 5, seed = 1)
  pol <- uniform_policy(c(0, 1), c("s1", "s2"))
  a <- evaluate_policy(pol, sim$env, num.episodes = 50, seed = 3, num.threads = 1)
  b <- evaluate_policy(pol, sim$env, num.episodes = 50, seed = 3, num.threads = 2)
  expect_identical(a, b)
  expect_identical(a$id, names(sim$env))
  expect_error(evaluate_policy(pol, list(1)), "`env` must be a p4l_env")
  expect_error(evaluate_policy(pol, env_linear2d(0, 0)), "Give `ids`")
  expect_error(evaluate_policy(pol, sim$env, ids = 99), "no environment for id\\(s\\) 99")
  # ids of different widths are listed without padding
  expect_error(evaluate_policy(pol, sim$env, ids = c(99, 1000)),
               "no environment for id\\(s\\) 99, 1000\\.")
  expect_error(evaluate_policy(uniform_policy(c("x", "y"), c("s1", "s2")), sim$env),
               "not actions of the environment")
  expect_error(evaluate_policy(pol, sim$env, num.episodes = 1), "`num.episodes` must be between")
})

test_that("predict on the contract: slots, ids and action coding", {
  b <- rbf_basis(matrix(rnorm(40), 20, 2, dimnames = list(NULL, c("s1", "s2"))), 3, seed = 1)
  coefs <- list(matrix(c(0, 0, 0, 0, 1, 0, 0, 0), 4, 2), matrix(c(0, 0, 0, 0, -1, 0, 0, 0), 4, 2))
  pol <- p4l:::new_p4l_policy("test", "test_fit", basis = b, gamma = 0.8,
                              action.levels = c("lo", "hi"), action.type = "factor",
                              state.names = c("s1", "s2"), id.column = "pid",
                              ids = c("u", "v"), slot = c(1, 2), policy.coef = coefs)
  nd <- data.frame(pid = c("u", "v"), s1 = c(0, 0), s2 = c(1, 1))
  pr <- predict(pol, nd, type = "prob")
  expect_equal(unname(pr[, 2]), c(plogis(1), plogis(-1)))
  act <- predict(pol, nd)
  expect_identical(act, factor(c("hi", "lo"), levels = c("lo", "hi")))
  expect_error(predict(pol, data.frame(pid = "w", s1 = 0, s2 = 0)),
               "Individual\\(s\\) w of `newdata` were not in the training data")
  expect_error(predict(pol, data.frame(s1 = 0, s2 = 0)), "needs the id column 'pid'")
  expect_error(predict(pol, nd, type = "q"), "has no Q-function")
})
