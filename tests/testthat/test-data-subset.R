test_that("subset() keeps exactly the chosen individuals' transitions", {
  sim <- sim_linear2d(num.per.group = 2, T = 6, seed = 3)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  keep <- d$ids[c(5, 2)]
  s <- subset(d, ids = keep)
  expect_s3_class(s, "p4l_data")
  expect_equal(s$ids, d$ids[c(2, 5)])  # order of x
  # Reference: build the data again from the rows of those individuals.
  ref <- p4l_data(sim$data[sim$data$id %in% keep, ], "id", "time", "action", "reward",
                  c("s1", "s2"))
  for (f in c("S", "S_next", "A", "R", "terminal", "individual", "S0", "num.transitions")) {
    expect_equal(unname(s[[f]]), unname(ref[[f]]), info = f)
  }
  expect_identical(s$action.levels, d$action.levels)
  expect_equal(subset(d, ids = c(5, 2), by = "index")$S, s$S)
  expect_error(subset(d, ids = "nobody"), "not in `x`")
  expect_error(subset(d, ids = 99, by = "index"), "positions between 1 and 6")
  expect_error(subset(d, ids = character(0)), "at least one")
})

test_that("subset() keeps the action coding when a part lacks an action", {
  df <- data.frame(id = rep(1:2, each = 3), time = rep(1:3, 2),
                   a = c("x", "x", "x", "y", "x", "y"), r = 1:6, s = rnorm(6))
  d <- suppressWarnings(p4l_data(df, "id", "time", "a", "r", "s"))
  s <- subset(d, ids = 1)
  expect_identical(s$action.levels, d$action.levels)
  expect_true(all(s$A == 1L))
})
