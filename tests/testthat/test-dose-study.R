test_that("sim_dose_study() is reproducible and has the documented shape", {
  a <- sim_dose_study(num.patients = 12, num.visits = 4, seed = 3)
  b <- sim_dose_study(num.patients = 12, num.visits = 4, seed = 3)
  expect_identical(a, b)
  expect_equal(nrow(a$data), 12 * 4)
  expect_s3_class(a$data$date, "Date")
  expect_equal(as.numeric(diff(a$data$date[a$data$id == "pt01"])), rep(7, 3))
  expect_equal(a$data$reward, -a$data$symptom)
  expect_true(all(a$data$reward >= -15 & a$data$reward <= -2))
  expect_true(all(a$data$crp >= 0.5 & a$data$crp <= 25))
  expect_equal(as.vector(table(a$type)), c(6, 6))          # exactly half of each type
  expect_equal(unname(a$best.dose), unname(ifelse(a$type == "low", "low", "high")))
  expect_true(all(a$data$dose %in% c("low", "mid", "high")))
  # Baseline covariates are constant within a patient.
  expect_true(all(tapply(a$data$bmi, a$data$id, function(v) length(unique(v))) == 1))
})

test_that("sim_dose_study(): missing values and the final row leave the courses unchanged", {
  a <- sim_dose_study(num.patients = 30, num.visits = 6, seed = 5)
  m <- sim_dose_study(num.patients = 30, num.visits = 6, missing = 0.3, seed = 5)
  f <- sim_dose_study(num.patients = 30, num.visits = 6, final.state = TRUE, seed = 5)
  obs <- !is.na(m$data$crp)
  expect_true(mean(!obs) > 0.15 && mean(!obs) < 0.45)
  expect_equal(m$data$crp[obs], a$data$crp[obs])
  expect_equal(m$data[, -4], a$data[, -4])
  expect_equal(nrow(f$data), 30 * 7)
  fin <- f$data$visit == 7
  expect_true(all(is.na(f$data$dose[fin]) & is.na(f$data$reward[fin])))
  expect_equal(f$data[!fin, ], a$data, ignore_attr = TRUE)
})

test_that("dose_study_value(): each type's best dose beats the other fixed doses", {
  sim <- sim_dose_study(num.patients = 10, num.visits = 5, seed = 2)
  v <- sapply(c("best", "low", "mid", "high", "behaviour"), dose_study_value, sim = sim,
              num.episodes = 100, horizon = 5)
  by.type <- apply(v, 2, function(x) tapply(x, sim$type, mean))
  expect_equal(by.type["low", "best"], by.type["low", "low"])
  expect_equal(by.type["high", "best"], by.type["high", "high"])
  expect_true(by.type["low", "low"] > by.type["low", "high"] + 1)
  expect_true(by.type["high", "high"] > by.type["high", "low"] + 1)
  expect_true(all(v[, "best"] > v[, "behaviour"]))
  expect_error(dose_study_value("sometimes", sim), "`policy`")
  expect_error(dose_study_value("best", list()), "`sim`")
})

test_that("P4L with baseline covariates gives most patients of the dose study their best dose", {
  # Issue 13's criterion: the 40 x 15 study with missing CRP, a factor and
  # baseline covariates supplied, defaults otherwise: the right dose for at
  # least 90% of patients (the recommendation at most CRP values of a grid).
  sim <- sim_dose_study(num.patients = 40, num.visits = 15, missing = 0.05, seed = 2026)
  study <- sim$data
  study$dose <- factor(study$dose, levels = c("low", "mid", "high"))
  d <- suppressMessages(p4l_data(study, id = "id", time = "date", action = "dose",
                                 reward = "reward", state = ~ crp,
                                 baseline = ~ bmi + sex + smoking, na.action = "locf",
                                 last = "drop"))
  expect_equal(dim(d$baseline), c(40, 4))
  fit <- p4l(d, K = 2, gamma = 0.9, seed = 1)
  expect_true(fit$converged)
  grid <- merge(sim$patients[, c("id", "bmi", "sex", "smoking")],
                data.frame(crp = seq(4, 16, by = 2)))
  grid$dose <- as.character(predict(fit, grid))      # raw columns: coded by the fit
  right <- tapply(grid$dose == sim$best.dose[grid$id], grid$id, mean)
  expect_gte(mean(right > 0.5), 0.9)
  # summary() describes the clusters by the baseline covariates
  prof <- summary(fit)$cluster.profiles
  expect_equal(prof$size, as.vector(table(factor(fit$cluster, 1:2))))
  expect_equal(prof$bmi, as.vector(tapply(d$baseline[, "bmi"], factor(fit$cluster, 1:2), mean)))
  expect_equal(prof$sexmale,
               as.vector(tapply(d$baseline[, "sexmale"], factor(fit$cluster, 1:2), mean)))
})
