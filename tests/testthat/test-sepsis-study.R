# sepsis_study(): the paper's Table 3 protocol through run_study().

test_that("sepsis_study() evaluates each fit in the simulator of the drawn stays", {
  syn <- sim_sepsis_cohort(40, num.blocks = c(4, 6), seed = 3)
  d <- suppressMessages(sepsis_data(syn$data, num.pcs = 3))
  ps <- suppressWarnings(persim(d, rank = 1, num.centers = 0, seed = 1))
  st <- sepsis_study(d, simulator = ps, num.stays = 25, methods = c("FQI", "Clinicians"),
                     num.episodes = 4, horizon = 3, num.centers = 4)
  expect_identical(st$simulator, ps)
  res <- run_study(st$design, st$methods, st$simulate, st$evaluate, replications = 1,
                   seed = 7, verbose = FALSE)
  expect_equal(nrow(res), 2L)
  expect_true(all(is.na(res$error)))
  # Independent reference: the same draw, fit and evaluation by hand.
  sim <- local({
    p4l:::local_seed(7)
    st$simulate(list(stays = 25), 7)
  })
  expect_length(sim$data$ids, 25L)
  expect_true(all(sim$data$ids %in% d$ids))
  expect_identical(names(sim$env), as.character(sim$data$ids))
  fit <- st$methods$FQI(sim, 7)
  hand <- evaluate_policy(fit, persim_env(ps, sim$data$ids), num.episodes = 4, horizon = 3,
                          gamma = 0.8, seed = 7)
  expect_equal(res$value[res$method == "FQI"], mean(hand$value), tolerance = 1e-12)
  # the evaluation's drawn stays are the simulate() draw
  expect_equal(st$design$stays, 25L)
})

test_that("sepsis_study() uses every stay when there are fewer than num.stays, and checks", {
  syn <- sim_sepsis_cohort(12, num.blocks = c(3, 4), seed = 4)
  d <- suppressMessages(sepsis_data(syn$data, num.pcs = 2))
  ps <- persim(d, rank = 1, num.centers = 0, seed = 1)
  st <- sepsis_study(d, simulator = ps, methods = "Clinicians", num.centers = 3)
  expect_setequal(st$simulate(list(), 1)$data$ids, d$ids)
  expect_error(sepsis_study(d, simulator = list()), "persim")
  expect_error(sepsis_study(d, simulator = ps, methods = "X"), "should be one of")
  expect_error(sepsis_study(d, simulator = ps, num.stays = 1), "num.stays")
  sub <- subset(d, ids = d$ids[1:5])
  ps5 <- persim(sub, rank = 1, num.centers = 0, seed = 1)
  expect_error(sepsis_study(d, simulator = ps5), "not fitted on every individual")
})

test_that("a subset of a study prints as a data frame", {
  syn <- sim_sepsis_cohort(12, num.blocks = c(3, 4), seed = 4)
  d <- suppressMessages(sepsis_data(syn$data, num.pcs = 2))
  st <- sepsis_study(d, simulator = persim(d, rank = 1, num.centers = 0, seed = 1),
                     methods = "Clinicians", num.centers = 3, num.episodes = 2, horizon = 2)
  res <- run_study(st$design, st$methods, st$simulate, st$evaluate, seed = 1, verbose = FALSE)
  expect_output(print(res[, c("method", "value")]), "Clinicians")
})

test_that("on the MIMIC-III demo cohort, P4L, ACPI, VL, FQI and the clinicians fit and the simulator evaluates them", {
  d <- suppressMessages(sepsis_data(sepsis_demo()))
  expect_length(d$action.levels, 9L)
  ps <- persim(d, seed = 1)
  expect_true(ps$converged)
  st <- sepsis_study(d, simulator = ps, num.episodes = 5, horizon = 6, seed = 1)
  res <- suppressWarnings(run_study(st$design, st$methods, st$simulate, st$evaluate,
                                    replications = 1, seed = 2, verbose = FALSE))
  expect_setequal(as.character(res$method), c("P4L", "ACPI", "VL", "FQI", "Clinicians"))
  expect_true(all(is.na(res$error)))
  # every value is a discounted sum of 6 rewards in the observed reward range
  span <- sum(0.8^(0:5))
  expect_true(all(res$value >= min(d$R) * span - 1e-9 & res$value <= max(d$R) * span + 1e-9))
})
