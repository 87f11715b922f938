test_that("p4l_data builds transitions, next states and indices", {
  df <- toy_long()
  d <- p4l_data(df, "pid", "t", "trt", "rew", c("x1", "x2"))
  expect_s3_class(d, "p4l_data")
  expect_identical(d$ids, c("a", "b"))
  expect_identical(d$num.transitions, c(2L, 3L))
  expect_identical(d$action.levels, c("x", "y"))
  # individual a: t=0 (y, 2) -> t=1 (x, 1) -> t=2 final
  expect_equal(d$S[1:2, ], rbind(c(x1 = 1, x2 = -1), c(x1 = 1.5, x2 = -1.5)))
  expect_equal(d$S_next[1:2, ], rbind(c(x1 = 1.5, x2 = -1.5), c(x1 = 2, x2 = -2)))
  expect_identical(d$A[1:2], c(2L, 1L))
  expect_equal(d$R, c(2, 1, 3, -1, 0.5))
  expect_equal(d$S_next[5, ], c(x1 = 4, x2 = -4))
  expect_equal(unname(d$S0), rbind(c(1, -1), c(0, 0)))
  expect_false(any(d$terminal))
  df2 <- as.data.frame(d)
  expect_named(df2, c("pid", "t", "trt", "rew", "x1", "x2", "next_x1", "next_x2", "terminal"))
  expect_identical(df2$trt, c("y", "x", "x", "x", "y"))
  expect_equal(df2$next_x1, c(1.5, 2, 1, 3, 4))
})

test_that("p4l_data is invariant to row order", {
  sim <- sim_linear2d(num.per.group = 3, T = 15, seed = 3)
  d1 <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  set.seed(1)
  shuffled <- sim$data[sample(nrow(sim$data)), ]
  d2 <- p4l_data(shuffled, "id", "time", "action", "reward", c("s1", "s2"))
  expect_identical(d1, d2)
})

test_that("action coding is kept for factor, numeric and character actions", {
  sim <- sim_linear2d(num.per.group = 2, T = 10, seed = 1)
  df <- sim$data
  df$action <- factor(ifelse(df$action == 1, "treat", "control"), levels = c("treat", "control", "none"))
  d <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"))
  expect_identical(d$action.levels, c("treat", "control"))
  expect_identical(d$action.type, "factor")
  out <- as.data.frame(d)$action
  expect_s3_class(out, "factor")
  expect_identical(levels(out), c("treat", "control"))
  expect_identical(as.character(out), as.character(df$action[!is.na(df$action)]))
  df$action <- ifelse(is.na(sim$data$action), NA, sim$data$action * 10 + 5)
  d <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"))
  expect_identical(d$action.levels, c(5, 15))
  expect_identical(d$A, as.integer(sim$data$action[!is.na(sim$data$action)] + 1))
})

test_that("terminal episodes: final-state rows and rows without a next state", {
  ep <- data.frame(id = c(1, 1, 1, 2, 2), t = c(0, 1, 2, 0, 1), a = c(0, 1, NA, 1, 0),
                   r = c(1, 1, NA, 1, 1), s = c(0.1, 0.2, 0.3, -0.1, -0.2))
  d <- p4l_data(ep, "id", "t", "a", "r", "s", terminal = TRUE)
  expect_identical(d$terminal, c(FALSE, TRUE, FALSE, TRUE))
  expect_identical(d$num.transitions, c(2L, 2L))
  expect_identical(d$next.observed, c(TRUE, TRUE, TRUE, FALSE))
  expect_equal(as.numeric(d$S_next[1:2, 1]), c(0.2, 0.3))
  # Without terminal = TRUE the last row of id 2 cannot form a transition.
  expect_warning(d2 <- p4l_data(ep, "id", "t", "a", "r", "s"), "1 individual")
  expect_identical(d2$num.transitions, c(2L, 1L))
  expect_false(any(d2$terminal))
})

test_that("time may be a Date, POSIXct or text", {
  df <- toy_long()
  df$t <- as.Date("2020-01-01") + df$t
  d1 <- p4l_data(df, "pid", "t", "trt", "rew", c("x1", "x2"))
  df$t <- format(df$t)
  d2 <- p4l_data(df, "pid", "t", "trt", "rew", c("x1", "x2"))
  expect_identical(d1$S, d2$S)
  expect_identical(d1$A, d2$A)
})

test_that("bad input gets errors that name the argument, column and individual", {
  df <- toy_long()
  args <- list("pid", "t", "trt", "rew", c("x1", "x2"))
  call_with <- function(data, ...) {
    a <- utils::modifyList(list(id = "pid", time = "t", action = "trt", reward = "rew",
                                state = c("x1", "x2")), list(...))
    do.call(p4l_data, c(list(data = data), a))
  }
  expect_error(call_with(as.matrix(df)), "`data` must be a data frame")
  expect_error(call_with(df, id = "who"), "Column 'who' named in `id` is not in `data`")
  expect_error(call_with(df, state = c("x1", "x9")), "'x9' named in `state` not in `data`")
  expect_error(call_with(df, state = character(0)), "`state` is empty")
  expect_error(call_with(df, state = c("x1", "rew")), "Column 'rew' is used twice")
  bad <- df; bad$x2[3] <- NaN
  expect_error(call_with(bad), "State column 'x2' is missing or not finite at row 3 \\(individual a\\)")
  bad <- df; bad$x1[1] <- Inf
  expect_error(call_with(bad), "State column 'x1' .* row 1 \\(individual b\\)")
  bad <- df; bad$rew[2] <- NA
  expect_error(call_with(bad), "`reward`\\) is missing or not finite at row 2 \\(individual a\\)")
  bad <- df; bad$trt[2] <- NA
  expect_error(call_with(bad), "`action`\\) is missing at row 2 \\(individual a\\)")
  bad <- df; bad$t[1] <- 1
  expect_error(call_with(bad), "Individual b has two rows at time 1")
  bad <- df; bad$x1 <- as.character(bad$x1)
  expect_error(call_with(bad), "State column 'x1' must be numeric")
  bad <- df; bad$rew <- as.character(bad$rew)
  expect_error(call_with(bad), "`reward`\\) must be numeric")
  bad <- df; bad$t <- c("a", bad$t[-1])
  expect_error(call_with(bad), "`time`\\) could not be parsed .* row 1")
  bad <- df; bad$pid[4] <- NA
  expect_error(call_with(bad), "`id`\\) is missing at row 4")
  bad <- df; bad$trt <- ifelse(is.na(bad$trt), NA, "x")
  expect_error(call_with(bad), "fewer than two distinct values")
  bad <- rbind(df, data.frame(pid = "c", t = 0, trt = NA, rew = NA, x1 = 0, x2 = 0))
  expect_error(call_with(bad), "Individual c has no transition")
  bad <- df; bad$rew[2] <- Inf
  expect_error(call_with(bad), "`reward`\\) is missing or not finite at row 2")
  bad <- df; bad$t[2] <- NA
  expect_error(call_with(bad), "`time`\\) is missing or not finite at row 2")
  expect_error(call_with(df[0, ]), "`data` has no rows")
  expect_error(call_with(df, terminal = NA), "`terminal` must be TRUE, FALSE or the name of a logical column")
})

test_that("print and summary describe the data", {
  sim <- sim_linear2d(num.per.group = 2, T = 10, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  expect_output(print(d), "6 individuals, 60 transitions")
  s <- summary(d)
  expect_equal(s$num.transitions, 60)
  expect_equal(as.numeric(s$actions), as.numeric(table(d$A)))
  expect_equal(unname(s$states[, "mean"]), unname(colMeans(d$S)))
  expect_output(print(s), "Actions")
})
