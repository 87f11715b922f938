test_that("compare_policies() returns a tidy table with the behaviour policy", {
  sim <- sim_linear2d(num.per.group = 2, T = 30, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  f <- fqi(d, seed = 1)
  a <- acpi(d, K = 2, seed = 1)
  cmp <- compare_policies(list(FQI = f, ACPI = a), sim$env, num.episodes = 30, seed = 2,
                          groups = sim$group)
  expect_s3_class(cmp, "p4l_comparison")
  expect_equal(names(cmp), c("method", "id", "subgroup", "value", "se"))
  expect_equal(levels(cmp$method), c("FQI", "ACPI", "behaviour"))
  expect_equal(nrow(cmp), 18L)
  expect_equal(as.character(cmp$subgroup[1:6]), as.character(sim$group))
  # same numbers as evaluate_policy() with the same seed
  ev <- evaluate_policy(f, sim$env, ids = names(sim$env), num.episodes = 30, seed = 2)
  expect_equal(cmp$value[cmp$method == "FQI"], ev$value)
  # subgroups from the environments' parameters when groups are not given
  cmp2 <- compare_policies(f, sim$env, num.episodes = 10, seed = 2, behaviour = FALSE)
  expect_equal(nlevels(cmp2$subgroup), 3L)
  expect_equal(levels(cmp2$method), "fqi")
  pdf(NULL); on.exit(grDevices::dev.off())
  expect_silent(plot(cmp, optimum = c(a = 3.58, b = 3.59, c = 3.55)))
  expect_error(compare_policies(list(1), sim$env), "`fits`")
  expect_error(compare_policies(list(f), "env"), "`env`")
  expect_error(compare_policies(list(f), sim$env, behaviour = "yes"), "`behaviour`")
  expect_error(compare_policies(list(f, f), sim$env), "distinct")
})

test_that("linear2d_optimum() is stable under grid refinement and bounds fitted policies", {
  coarse <- linear2d_optimum(grid.size = 121)
  fine <- linear2d_optimum(grid.size = 241)
  expect_equal(coarse$value, fine$value, tolerance = 2e-3)
  expect_true(all(fine$value > 3.5 & fine$value < 3.65))
  g <- linear2d_groups(); g$reward.sign <- -1
  expect_equal(linear2d_optimum(g, grid.size = 121)$value, coarse$value, tolerance = 1e-10)
  expect_error(linear2d_optimum(gamma = 1), "`gamma`")
})
