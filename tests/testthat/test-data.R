test_that("p4l_data builds transitions, next states and indices", {
  df <- toy_long()
  d <- p4l_data(df, "pid", "t", "trt", "rew", c("x1", "x2"))
  expect_s3_class(d, "p4l_data")
  expect_identical(d$ids, c("a", "b"))
  expect_identical(d$num.transitions, c(2L, 3L))
  # Character actions keep their order of first appearance (a at t = 0: "y").
  expect_identical(d$action.levels, c("y", "x"))
  # individual a: t=0 (y, 2) -> t=1 (x, 1) -> t=2 final
  expect_equal(d$S[1:2, ], rbind(c(x1 = 1, x2 = -1), c(x1 = 1.5, x2 = -1.5)))
  expect_equal(d$S_next[1:2, ], rbind(c(x1 = 1.5, x2 = -1.5), c(x1 = 2, x2 = -2)))
  expect_identical(d$A[1:2], c(1L, 2L))
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

# Issue 13: roles, coding, missing values, the last row ---------------------

clinical_long <- function() {
  # Three individuals, rows out of order; a factor and a logical state, a
  # character baseline and a numeric baseline, character actions.
  df <- data.frame(
    id = c(2, 1, 1, 1, 2, 2, 3, 3, 3),
    t = c(0, 2, 0, 1, 1, 2, 0, 1, 2),
    dose = c("mid", NA, "low", "high", "low", NA, "high", "low", NA),
    r = c(1, NA, 0.5, 2, -1, NA, 0, 1, NA),
    crp = c(3, 1.2, 1, 1.5, 2.5, 2, 4, 3.5, 3),
    grade = factor(c("b", "a", "a", "c", "b", "c", "a", "b", "c"), levels = c("a", "b", "c")),
    vent = c(TRUE, FALSE, FALSE, TRUE, TRUE, FALSE, FALSE, FALSE, TRUE),
    age = c(70, 50, 50, 50, 70, 70, 60, 60, 60),
    sex = c("m", "f", "f", "f", "m", "m", "f", "f", "f"),
    stringsAsFactors = FALSE
  )
  df
}

test_that("factor, logical and character columns are coded as model.matrix does", {
  df <- clinical_long()
  d <- p4l_data(df, "id", "t", "dose", "r", c("crp", "grade", "vent"), baseline = c("age", "sex"))
  srt <- df[order(df$id, df$t), ]
  # Independent reference: model.matrix with treatment contrasts.
  mm <- stats::model.matrix(~ crp + grade + vent, srt)[, -1]
  expect_identical(d$state.names, c("crp", "gradeb", "gradec", "ventTRUE"))
  expect_identical(colnames(mm), d$state.names)
  rows <- c(1, 2, 4, 5, 7, 8)  # rows with a next row
  expect_equal(d$S, unname(mm[rows, ]) |> `colnames<-`(d$state.names))
  expect_equal(d$S_next, unname(mm[rows + 1, ]) |> `colnames<-`(d$state.names))
  expect_equal(unname(d$S0), unname(mm[c(1, 4, 7), ]))
  expect_identical(d$discrete, c(crp = FALSE, gradeb = TRUE, gradec = TRUE, ventTRUE = TRUE))
  expect_identical(d$state.columns, c("crp", "grade", "vent"))
  # Baseline: one row per individual, in the order of ids.
  mb <- stats::model.matrix(~ age + sex, srt[c(1, 4, 7), ])[, -1, drop = FALSE]
  expect_equal(d$baseline, unname(mb) |> `colnames<-`(c("age", "sexm")))
  expect_identical(d$baseline.names, c("age", "sexm"))
  expect_identical(d$baseline.columns, c("age", "sex"))
  expect_identical(d$coding$state$grade$levels, c("a", "b", "c"))
  expect_identical(d$coding$state$grade$type, "factor")
  expect_identical(d$coding$baseline$sex$type, "character")
  expect_identical(d$coding$baseline$sex$names, "sexm")
  # Character levels are sorted (C locale), whatever the order of appearance.
  df2 <- df
  df2$grade <- c("b", "a", "a", "C", "b", "C", "a", "b", "C")
  d2 <- p4l_data(df2, "id", "t", "dose", "r", c("crp", "grade"))
  expect_identical(d2$coding$state$grade$levels, c("C", "a", "b"))
  expect_identical(d2$state.names, c("crp", "gradea", "gradeb"))
  # The formula interface gives the same object.
  d3 <- p4l_data(df, "id", "t", "dose", "r", ~ crp + grade + vent, baseline = ~ age + sex)
  expect_identical(d3, d)
  expect_error(p4l_data(df, "id", "t", "dose", "r", ~ log(crp)), "`state` must list column names only")
  expect_error(p4l_data(df, "id", "t", "dose", "r", ~ crp, baseline = ~ age:sex), "`baseline` must list")
  expect_error(p4l_data(df, "id", "t", "dose", "r", y ~ crp), "one-sided formula")
  # Numeric inputs give the same object as before (no coding changes).
  d4 <- p4l_data(df, "id", "t", "dose", "r", c("crp", "age"))
  expect_false(any(d4$discrete))
  expect_null(d4$baseline)
  expect_identical(d4$state.names, c("crp", "age"))
})

test_that("a baseline column must be constant within each individual", {
  df <- clinical_long()
  df$age[df$id == 3 & df$t == 2] <- 61
  expect_error(p4l_data(df, "id", "t", "dose", "r", "crp", baseline = "age"),
               "Baseline column 'age' is not constant within individual 3")
  df$age[df$id == 3 & df$t == 2] <- NA  # NA is ignored
  expect_error(p4l_data(df, "id", "t", "dose", "r", "crp", baseline = "age",
                        na.action = "locf") |> suppressMessages(), NA)
  df <- clinical_long()
  expect_error(p4l_data(df, "id", "t", "dose", "r", "crp", baseline = "crp"), "used twice")
  df$sexm <- 1
  expect_error(p4l_data(df, "id", "t", "dose", "r", c("crp", "sexm"), baseline = "sex"),
               "coded column name 'sexm' arises twice")
  df <- clinical_long()
  df$crp <- as.character(df$crp)
  expect_error(p4l_data(df, "id", "t", "dose", "r", "crp"), "State column 'crp' must be numeric")
  df <- clinical_long()
  df$grade <- factor("a")
  expect_error(p4l_data(df, "id", "t", "dose", "r", "grade"), "takes only one value")
})

test_that("predict() codes raw new data with the training coding", {
  sim <- sim_linear2d(num.per.group = 4, T = 12, seed = 5)
  df <- sim$data
  df$zone <- factor(ifelse(df$s1 > 0.5, "high", ifelse(df$s1 < -0.5, "low", "mid")),
                    levels = c("low", "mid", "high"))
  df$alarm <- df$s2 > 0
  d <- p4l_data(df, "id", "time", "action", "reward", c("s2", "zone", "alarm"))
  fit <- fqi(d, gamma = 0.5)
  expect_identical(fit$coding, d$coding)
  nd <- df[1:25, c("id", "s2", "zone", "alarm")]
  coded <- stats::model.matrix(~ s2 + zone + alarm, nd)[, -1]
  expect_identical(colnames(coded), d$state.names)
  coded.df <- as.data.frame(coded)
  for (type in c("q", "prob", "action")) {
    expect_equal(predict(fit, nd, type = type), predict(fit, coded.df, type = type))
  }
  # The coded matrix through the basis gives the same Q-values.
  q.ref <- basis_features(fit$basis, unname(coded), 1L) %*% fit$q.coef[[1]]
  expect_equal(unname(predict(fit, nd, type = "q")), unname(q.ref))
  # Character new data for a factor column is fine; an unseen level is not.
  nd2 <- nd
  nd2$zone <- as.character(nd2$zone)
  expect_equal(predict(fit, nd2, type = "q"), predict(fit, nd, type = "q"))
  nd2$zone[3] <- "extreme"
  expect_error(predict(fit, nd2), "Column 'zone' of `newdata` has the level 'extreme'")
  expect_error(predict(fit, nd[, c("s2", "zone")]), "lacks the column\\(s\\) 'alarm'")
  # encode_columns on its own.
  expect_equal(unname(encode_columns(nd, d$coding$state)), unname(coded))
  expect_error(encode_columns(nd2, d$coding$state, arg = "x"), "of `x` has the level 'extreme'")
})

test_that("na.action = \"fail\", \"locf\" and \"omit\"", {
  df <- clinical_long()
  # Sorted rows: id 1: t 0 1 2; id 2: t 0 1 2; id 3: t 0 1 2.
  df$crp[df$id == 1 & df$t == 0] <- NA   # row 3 of df
  df$crp[df$id == 2 & df$t == 1] <- NA   # row 5 of df
  df$crp[df$id == 2 & df$t == 2] <- NA   # row 6 of df
  df$grade[df$id == 3 & df$t == 1] <- NA # row 8 of df
  expect_error(p4l_data(df, "id", "t", "dose", "r", c("crp", "grade")),
               "State column 'crp' is missing or not finite at row 3 \\(individual 1\\)")
  expect_message(d <- p4l_data(df, "id", "t", "dose", "r", c("crp", "grade"), na.action = "locf"),
                 "filled 4 missing value\\(s\\) \\('crp': 3, 'grade': 1\\)")
  # Hand-computed: id 1 crp (NA, 1.5, 1.2) -> (1.5, 1.5, 1.2); id 2 (3, NA, NA) -> (3, 3, 3);
  # id 3 grade (a, NA, c) -> (a, a, c).
  expect_equal(unname(d$S[, "crp"]), c(1.5, 1.5, 3, 3, 4, 3.5))
  expect_equal(unname(d$S_next[, "crp"]), c(1.5, 1.2, 3, 3, 3.5, 3))
  expect_equal(unname(d$S[, "gradeb"]), c(0, 0, 1, 1, 0, 0))
  expect_equal(unname(d$S_next[, "gradec"]), c(1, 0, 0, 1, 0, 1))
  expect_identical(d$na.action, "locf")
  all.na <- df
  all.na$crp[all.na$id == 2] <- NA
  expect_error(p4l_data(all.na, "id", "t", "dose", "r", "crp", na.action = "locf") |>
                 suppressMessages(),
               "State column 'crp' is missing on every row of individual 2")
  inf <- df
  inf$crp[1] <- Inf
  expect_error(p4l_data(inf, "id", "t", "dose", "r", "crp", na.action = "locf"),
               "'crp' is not finite at row 1 \\(individual 2\\)")
  # omit: 4 rows dropped; id 2 keeps t = 0 only... so give id 2 another row.
  df2 <- rbind(df, data.frame(id = 2, t = 3, dose = NA, r = NA, crp = 2.2,
                              grade = factor("a", levels = c("a", "b", "c")),
                              vent = TRUE, age = 70, sex = "m"))
  df2$dose[df2$id == 2 & df2$t == 2] <- "low"
  df2$r[df2$id == 2 & df2$t == 2] <- 0
  expect_message(d2 <- p4l_data(df2, "id", "t", "dose", "r", c("crp", "grade"), na.action = "omit"),
                 "dropped 4 row\\(s\\) with missing values \\('crp': 3, 'grade': 1\\)")
  expect_identical(d2$num.transitions, c(1L, 1L, 1L))
  # id 2: t = 0 joins t = 3 (rows at t = 1, 2 dropped), with the action of t = 0.
  expect_equal(unname(d2$S[2, "crp"]), 3)
  expect_equal(unname(d2$S_next[2, "crp"]), 2.2)
  expect_identical(d2$action.levels[d2$A[2]], "mid")
  expect_error(p4l_data(df, "id", "t", "dose", "r", "crp", na.action = "drop"),
               "`na.action` must be one of")
})

test_that("last = \"end\" equals a hand-built terminal column", {
  df <- data.frame(id = c(1, 1, 1, 2, 2, 3, 3, 3), t = c(0, 1, 2, 0, 1, 0, 1, 2),
                   a = c(0, 1, 1, 1, 0, 1, 1, NA), r = c(1, 2, 3, 4, 5, 6, 7, NA),
                   s = c(0.1, 0.2, 0.3, -0.1, -0.2, 1, 2, 3))
  expect_warning(d.drop <- p4l_data(df, "id", "t", "a", "r", "s"),
                 "2 individual\\(s\\).*`last = \"end\"` if the course ends there.*`terminal = TRUE`")
  expect_identical(d.drop$num.transitions, c(2L, 1L, 2L))
  # choosing "drop" explicitly is silent and gives the same data
  expect_silent(d.drop2 <- p4l_data(df, "id", "t", "a", "r", "s", last = "drop"))
  expect_identical(d.drop2$S, d.drop$S)
  expect_warning(d.end <- p4l_data(df, "id", "t", "a", "r", "s", last = "end"), NA)
  ref <- df
  ref$term <- c(FALSE, FALSE, TRUE, FALSE, TRUE, FALSE, FALSE, FALSE)
  d.ref <- p4l_data(ref, "id", "t", "a", "r", "s", terminal = "term")
  for (f in c("S", "S_next", "A", "R", "terminal", "next.observed", "individual", "time",
              "num.transitions", "S0")) {
    expect_identical(d.end[[f]], d.ref[[f]], label = f)
  }
  expect_identical(d.end$terminal, c(FALSE, FALSE, TRUE, FALSE, TRUE, FALSE, FALSE))
  expect_false(d.end$is.terminal)
  # The transition into id 3's final-state row is not absorbing under last = "end" ...
  expect_false(d.end$terminal[7])
  # ... but is under terminal = TRUE, which also ends the last rows.
  d.term <- p4l_data(df, "id", "t", "a", "r", "s", terminal = TRUE)
  expect_identical(d.term$terminal, c(FALSE, FALSE, TRUE, FALSE, TRUE, FALSE, TRUE))
  expect_identical(d.term$S, d.end$S)
  expect_output(print(d.end), "last = \"end\"")
  # terminal = TRUE already ends the last rows: last = "end" changes nothing.
  expect_identical(p4l_data(df, "id", "t", "a", "r", "s", terminal = TRUE, last = "end")$terminal,
                   d.term$terminal)
  # With a terminal column, unflagged last rows with an action and a reward also end.
  col <- df
  col$term <- c(FALSE, FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE)
  expect_warning(d.col <- p4l_data(col, "id", "t", "a", "r", "s", terminal = "term"), "1 individual")
  expect_identical(d.col$num.transitions, c(3L, 1L, 2L))
  d.col.end <- p4l_data(col, "id", "t", "a", "r", "s", terminal = "term", last = "end")
  expect_identical(d.col.end$terminal, d.end$terminal)
  bad <- df
  bad$r[3] <- Inf
  expect_error(p4l_data(bad, "id", "t", "a", "r", "s", last = "end"),
               "`reward`\\) is not finite at row 3 \\(individual 1\\)")
  expect_error(p4l_data(df, "id", "t", "a", "r", "s", last = "keep"), "`last` must be one of")
})

test_that("state_matrix() keeps accepting coded columns and matrices", {
  df <- clinical_long()
  d <- p4l_data(df, "id", "t", "dose", "r", c("crp", "grade"))
  coded <- d$S
  expect_identical(state_matrix(coded, d$state.names, coding = d$coding$state), coded)
  expect_identical(state_matrix(as.data.frame(coded), d$state.names, coding = d$coding$state),
                   coded)
  expect_identical(state_matrix(unname(coded), d$state.names, coding = d$coding$state), coded)
  raw <- df[order(df$id, df$t), ][c(1, 2, 4, 5, 7, 8), c("grade", "crp")]
  expect_identical(state_matrix(raw, d$state.names, coding = d$coding$state), coded)
  expect_error(state_matrix(raw, d$state.names, arg = "x"), "`x` lacks the state column")
})

test_that("character actions keep their order of first appearance", {
  df <- data.frame(id = c(1, 1, 1, 2, 2, 2), t = c(1, 0, 2, 0, 1, 2),
                   a = c("low", "mid", NA, "high", "low", NA), r = c(1, 2, NA, 3, 4, NA),
                   s = 1:6)
  d <- p4l_data(df, "id", "t", "a", "r", "s")
  expect_identical(d$action.levels, c("mid", "low", "high"))
  expect_identical(d$A, c(1L, 2L, 3L, 2L))
  df$a <- factor(df$a, levels = c("low", "mid", "high"))
  expect_identical(p4l_data(df, "id", "t", "a", "r", "s")$action.levels, c("low", "mid", "high"))
  df$a <- c(2, 1, NA, 10, 2, NA)
  expect_identical(p4l_data(df, "id", "t", "a", "r", "s")$action.levels, c(1, 2, 10))
})

test_that("print and summary do not pad labels and describe the coding", {
  df <- data.frame(id = c(1, 1, 1, 2, 2, 2), t = c(0, 1, 2, 0, 1, 2),
                   a = c("low", "mid", NA, "high", "low", NA), r = c(1, 2, NA, 3, 4, NA),
                   crp = c(1, 2, 3, 4, 5, 6), dose_prev = c("0", "low", "mid", "0", "low", "mid"),
                   sex = c("f", "f", "f", "m", "m", "m"))
  df$dose_prev <- factor(df$dose_prev, levels = c("0", "low", "mid"))
  d <- p4l_data(df, "id", "t", "a", "r", c("crp", "dose_prev"), baseline = "sex")
  expect_output(print(d), "actions : low, mid, high (character)", fixed = TRUE)
  expect_output(print(d), "states  : crp, dose_prev (factor: 2 dummy columns)", fixed = TRUE)
  expect_output(print(d), "baseline: sex (character: 1 dummy column)", fixed = TRUE)
  s <- summary(d)
  expect_identical(names(s$actions), c("low", "mid", "high"))
  expect_equal(unname(s$baseline["sexm", "mean"]), 0.5)
  expect_output(print(s), "Baseline covariates")
})

test_that("as.data.frame keeps the class of time and adds baseline columns", {
  df <- clinical_long()
  df$t <- as.Date("2021-05-01") + df$t
  d <- p4l_data(df, "id", "t", "dose", "r", "crp", baseline = "sex")
  out <- as.data.frame(d)
  expect_s3_class(out$t, "Date")
  expect_identical(out$t, as.Date("2021-05-01") + c(0, 1, 0, 1, 0, 1))
  expect_identical(out$sexm, c(0, 0, 1, 1, 0, 0))
  df$t <- as.POSIXct("2021-05-01 08:00:00", tz = "Europe/Zurich") + 3600 * c(0, 2, 0, 1, 1, 2, 0, 1, 2)
  out <- as.data.frame(p4l_data(df, "id", "t", "dose", "r", "crp"))
  expect_s3_class(out$t, "POSIXct")
  expect_identical(attr(out$t, "tzone"), "Europe/Zurich")
  expect_equal(as.numeric(out$t),
               as.numeric(as.POSIXct("2021-05-01 08:00:00", tz = "Europe/Zurich")) + 3600 * c(0, 1, 0, 1, 0, 1))
  df$t <- c(0, 2, 0, 1, 1, 2, 0, 1, 2)
  expect_type(as.data.frame(p4l_data(df, "id", "t", "dose", "r", "crp"))$t, "double")
})

test_that("na.action = \"locf\" or \"omit\" on data without missing values changes nothing", {
  sim <- sim_dose_study(num.patients = 6, num.visits = 4, seed = 1)
  ref <- p4l_data(sim$data, "id", "visit", "dose", "reward", "crp", last = "end")
  for (na in c("locf", "omit")) {
    d <- expect_silent(p4l_data(sim$data, "id", "visit", "dose", "reward", "crp",
                                na.action = na, last = "end"))
    expect_equal(d$S, ref$S)
    expect_equal(d$R, ref$R)
    expect_equal(d$terminal, ref$terminal)
  }
})

test_that("a baseline covariate recorded on some rows only is used on all of them", {
  df <- data.frame(id = rep(1:3, each = 3), t = rep(0:2, 3), a = c(0, 1, NA, 1, 0, NA, 1, 1, NA),
                   r = c(1, 2, NA, 3, 4, NA, 5, 6, NA), s = c(0.1, 0.3, 0.2, -1, 0, 1, 2, 1, 0),
                   age = c(60, NA, NA, NA, 71, NA, 55, 55, 55),
                   sex = factor(c("f", NA, NA, NA, NA, "m", "m", "m", NA)))
  full <- df
  full$age <- rep(c(60, 71, 55), each = 3)
  full$sex <- factor(rep(c("f", "m", "m"), each = 3))
  ref <- p4l_data(full, "id", "t", "a", "r", "s", baseline = c("age", "sex"))
  for (na in c("fail", "locf", "omit")) {
    d <- expect_silent(p4l_data(df, "id", "t", "a", "r", "s", baseline = c("age", "sex"),
                                na.action = na))
    expect_equal(d$baseline, ref$baseline)
    expect_equal(d$S, ref$S)
  }
  df$age[df$id == 2] <- NA                 # no value at all for individual 2
  expect_error(p4l_data(df, "id", "t", "a", "r", "s", baseline = "age"), "age")
})
