reversed_study <- function(n, T, seed) {
  g <- linear2d_groups()
  g["c", "reward.sign"] <- -1
  sim <- sim_linear2d(num.per.group = n, T = T, groups = g, seed = seed)
  list(sim = sim, d = p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2")))
}

test_that("tune_p4l() cross-fits: each individual's policy comes from the fold fit without them", {
  d <- reversed_study(4, 30, 11)$d
  tn <- tune_p4l(d, K = 1:2, folds = 3, num.boot = 20, seed = 5, num.threads = 1)
  expect_s3_class(tn, "p4l_tuning")
  expect_equal(nrow(tn$grid), 2L)
  expect_equal(tabulate(tn$folds), c(4L, 4L, 4L))
  # Rebuild fold 2 of setting K = 2 by hand from the documented recipe.
  seeds <- task_seeds(5, 3L)
  basis <- resolve_basis(NULL, d, seeds[1], 1L)
  fold.of <- tune_folds(length(d$ids), 3L, seeds[2])
  expect_equal(unname(tn$folds), fold.of)
  tasks <- expand.grid(setting = 1:2, fold = 1:3)
  j <- which(tasks$setting == 2 & tasks$fold == 2)
  task.seed <- task_seeds(seeds[3], nrow(tasks))
  held <- which(fold.of == 2)
  fit <- suppressWarnings(p4l(subset(d, ids = seq_along(d$ids)[-held], by = "index"), K = 2,
                              gamma = 0.8, basis = basis, seed = task.seed[j], num.threads = 1))
  expect_false(any(d$ids[held] %in% fit$ids))
  new <- p4l_assign(fit, subset(d, ids = held, by = "index"))
  pol <- tn$policies[[2]]
  for (k in seq_along(held)) {
    id <- d$ids[held[k]]
    expect_equal(pol$policy.coef[[held[k]]], new$policy.coef[[new$slot[k]]], ignore_attr = TRUE)
    expect_equal(unname(pol$cluster[held[k]]), unname(new$cluster[k]))
  }
  # The grid's value is policy_value() of that cross-fitted policy.
  v <- policy_value(pol, d, basis = basis, q.groups = tn$q.groups, num.boot = 20, seed = seeds[3] + 1,
                    num.threads = 1)
  expect_equal(tn$grid$estimate[2], v$estimate[v$id == "overall"])
  expect_equal(tn$grid$lower[2], v$lower[v$id == "overall"])
  # Paired differences: the chosen row is 0, the other is the difference of estimates.
  b <- tn$best.index
  expect_equal(tn$differences$difference[b], 0)
  expect_equal(tn$differences$difference[3 - b], tn$grid$estimate[3 - b] - tn$grid$estimate[b])
  expect_s3_class(tn$fit, "p4l_fit")
  expect_equal(tn$fit$K, tn$best$K)
  expect_output(print(tn), "Chosen by the fewest clusters not significantly below the best")
  expect_output(print(summary(tn)), "Differences to the chosen setting")
  expect_equal(as.data.frame(tn), tn$grid)
})

test_that("tune_p4l() prefers personalising when one subgroup's reward is reversed", {
  st <- reversed_study(8, 40, 21)
  tn <- tune_p4l(st$d, K = 1:3, folds = 4, num.boot = 50, seed = 3, num.threads = 1)
  # True values of the cross-fitted policies, by simulation in each individual's environment.
  truth <- vapply(tn$policies, function(p)
    mean(evaluate_policy(p, st$sim$env, num.episodes = 200, seed = 1)$value), numeric(1))
  expect_gt(truth[2], truth[1] + 0.3)  # the planted structure: personalising pays
  expect_gt(tn$grid$estimate[2], tn$grid$estimate[1])
  expect_gte(tn$best$K, 2L)
})

test_that("tune_p4l() gives the same result for any future plan", {
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  d <- reversed_study(3, 25, 31)$d
  run <- function() tune_p4l(d, K = 1:2, folds = 3, num.boot = 20, seed = 9, refit = FALSE,
                             num.threads = 1)$grid
  old <- future::plan(future::sequential)
  on.exit(future::plan(old), add = TRUE)
  a <- run()
  future::plan(future::multisession, workers = 2)
  b <- run()
  a$time <- b$time <- NULL
  expect_identical(a, b)
})

test_that("tune_p4l() checks its arguments", {
  d <- reversed_study(2, 20, 41)$d
  expect_error(tune_p4l(d, K = 0), "`K`")
  expect_error(tune_p4l(d, K = 1:2, folds = 7), "folds")
  expect_error(tune_p4l(d, K = 5, folds = 2), "training part")
  expect_error(tune_p4l(d, K = 1, alpha = -1), "alpha")
  expect_error(tune_p4l(d, K = 1, seed = 1, mu = 1, basis = NULL, rank = 1, gamma = 2), "gamma")
  expect_error(tune_p4l(list(), K = 1), "p4l_data")
})
