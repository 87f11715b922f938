# Issue 11, item 5: one convergence record for every estimator.

test_that("every estimator's fit reports convergence in one shape", {
  sim <- sim_linear2d(num.per.group = 3, T = 20, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  b <- rbf_basis(d, num.centers = 4, seed = 1)
  fits <- list(
    p4l = suppressWarnings(p4l(d, K = 2, basis = b, seed = 1, num.threads = 1,
                               control = p4l_control(max.iter = 30))),
    fqi = suppressWarnings(fqi(d, basis = b, seed = 1, num.threads = 1)),
    acpi = suppressWarnings(acpi(d, K = 2, basis = b, seed = 1, num.threads = 1,
                                 control = acpi_control(num.lambda = 5))),
    vlearning = suppressWarnings(vlearning(d, basis = b, propensity = rep(0.5, length(d$R)),
                                           seed = 1, num.threads = 1))
  )
  for (nm in names(fits)) {
    fit <- fits[[nm]]
    cv <- p4l:::fit_convergence(fit)
    expect_named(cv, c("converged", "iterations"))
    expect_type(cv$converged, "logical")
    expect_length(cv$converged, 1L)
    expect_false(is.na(cv$converged), label = nm)
    expect_type(cv$iterations, "integer")
    expect_true(cv$iterations >= 1L, label = nm)
    expect_identical(p4l:::fit_converged(fit), cv$converged)
    expect_true(is.list(fit$convergence), label = nm)
    if (nm != "acpi") {
      # P4L, FQI and V-learning keep `converged` and `iterations` in fit$convergence.
      expect_identical(as.logical(fit$convergence$converged), cv$converged)
      expect_identical(as.integer(fit$convergence$iterations), cv$iterations)
    }
  }
  expect_identical(fits$p4l$convergence$converged, fits$p4l$converged)
  expect_identical(fits$p4l$convergence$iterations, fits$p4l$iterations)
})
