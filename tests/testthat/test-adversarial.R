# Adversarial inputs (issue 14): every defect of the reliability probe, hand-
# edited objects that must give R errors (never out-of-bounds reads), and
# seeded random malformed data frames for p4l_data() and predict(). Each call
# gives a valid result or an R error: never a crash, never a silent NaN/Inf.

# A raw-state policy (logits = (1, s) C[[slot]]) built directly, so that its
# action probabilities have a closed form to compare with.
raw_policy <- function(coefs, state.names = c("s1", "s2"), ids = character(0),
                       slot = integer(0), id.column = "id") {
  new_p4l_policy("test", "test_policy", basis = NULL, gamma = 0.9, action.levels = c(0, 1),
                 action.type = "numeric", state.names = state.names, id.column = id.column,
                 ids = ids, slot = slot, policy.coef = coefs, raw.state = TRUE)
}
softmax_ref <- function(z) exp(z - max(z)) / sum(exp(z - max(z)))

small_sim <- function(seed = 1) {
  sim <- sim_linear2d(num.per.group = 1, T = 6, seed = seed)
  sim
}

# ---- 1. evaluate_policy() matches the environment's states by name ----

test_that("evaluate_policy() matches states to the environment by name, not position", {
  env <- env_linear2d(c1 = 1, c2 = -1)
  C <- cbind(c(0, 0, 0), c(0.2, 3, -2))             # logits on (1, s1, s2)
  pol12 <- raw_policy(list(C), c("s1", "s2"))
  pol21 <- raw_policy(list(C[c(1, 3, 2), ]), c("s2", "s1"))  # the same policy, states swapped
  e12 <- evaluate_policy(pol12, env, ids = "a", num.episodes = 200, horizon = 10, seed = 3,
                         num.threads = 1)
  e21 <- evaluate_policy(pol21, env, ids = "a", num.episodes = 200, horizon = 10, seed = 3,
                         num.threads = 1)
  expect_identical(e21$value, e12$value)
  expect_identical(e21$steps, e12$steps)
  # the uniform policy differs from this one: the test can tell orders apart
  eu <- evaluate_policy(raw_policy(list(C * 0)), env, ids = "a", num.episodes = 200,
                        horizon = 10, seed = 3, num.threads = 1)
  expect_false(isTRUE(all.equal(eu$value, e12$value)))
  polu <- raw_policy(list(C), c("u", "v"))
  expect_error(evaluate_policy(polu, env, ids = "a", num.episodes = 10, seed = 1),
               "missing 'u', 'v'.*not in the fit 's1', 's2'")
  # compare_policies() goes through the same matching
  expect_error(compare_policies(list(U = polu), env, ids = "a", num.episodes = 10, seed = 1),
               "missing 'u'")
})

# ---- 2. predict() matches state names of a p4l_data and of data frames ----

test_that("predict() with a p4l_data matches its state names; swapped, renamed or fewer columns", {
  sim <- small_sim()
  d12 <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  d21 <- p4l_data(sim$data, "id", "time", "action", "reward", c("s2", "s1"))
  C <- cbind(c(0, 0, 0), c(0.3, 1.5, -0.7))
  pol <- raw_policy(list(C))
  ref <- t(apply(cbind(1, d12$S) %*% C, 1, softmax_ref))
  expect_equal(unname(predict(pol, d12, type = "prob")), ref, tolerance = 1e-12)
  expect_equal(unname(predict(pol, d21, type = "prob")), ref, tolerance = 1e-12)
  sim2 <- sim$data
  names(sim2)[names(sim2) == "s2"] <- "z"
  dz <- p4l_data(sim2, "id", "time", "action", "reward", c("s1", "z"))
  expect_error(predict(pol, dz), "missing 's2'.*not in the fit 'z'")
  d1 <- p4l_data(sim$data, "id", "time", "action", "reward", "s1")
  expect_error(predict(pol, d1), "missing 's2'")
  # a basis: the same rows, whatever the column order of the p4l_data
  b <- rbf_basis(d12, num.centers = 3, seed = 1)
  expect_equal(predict(b, d21), predict(b, d12))
  expect_error(predict(b, d1), "basis was fitted on the states.*missing 's2'")
  expect_error(predict(b, dz), "missing 's2'")
  # a data frame: by name, extra columns ignored
  nd <- data.frame(s2 = c(1, -1), junk = 0, s1 = c(0.5, 2))
  expect_equal(unname(predict(pol, nd, type = "prob")),
               t(apply(cbind(1, c(0.5, 2), c(1, -1)) %*% C, 1, softmax_ref)), tolerance = 1e-12)
})

# ---- 3. ids by value ----

test_that("ids match by value: integer vs double storage, and no collision of close doubles", {
  C1 <- cbind(c(0, 0, 0), c(2, 0, 0))
  C2 <- cbind(c(0, 0, 0), c(-2, 0, 0))
  pol <- raw_policy(list(C1, C2), ids = c(100000, 100001), slot = 1:2)
  p.dbl <- predict(pol, data.frame(id = c(100000, 100001), s1 = 0, s2 = 0), type = "prob")
  p.int <- predict(pol, data.frame(id = c(100000L, 100001L), s1 = 0, s2 = 0), type = "prob")
  expect_equal(p.int, p.dbl)
  expect_equal(unname(p.int[1, ]), softmax_ref(c(0, 2)))
  expect_equal(unname(p.int[2, ]), softmax_ref(c(0, -2)))
  env <- env_linear2d(c1 = 1, c2 = -1)
  envs <- stats::setNames(list(env, env), as.character(c(100000, 100001)))  # "1e+05"
  e.int <- evaluate_policy(pol, envs, ids = c(100000L, 100001L), num.episodes = 20, horizon = 3,
                           seed = 2, num.threads = 1)
  e.dbl <- evaluate_policy(pol, envs, ids = c(100000, 100001), num.episodes = 20, horizon = 3,
                           seed = 2, num.threads = 1)
  expect_identical(e.int$value, e.dbl$value)
  # 1 and 1 + 1e-15 print alike but are distinct individuals
  ids <- c(1, 1 + 1e-15)
  pol2 <- raw_policy(list(C1, C2), ids = ids, slot = 1:2)
  p <- predict(pol2, data.frame(id = ids, s1 = 0, s2 = 0), type = "prob")
  expect_equal(unname(p[1, ]), softmax_ref(c(0, 2)))
  expect_equal(unname(p[2, ]), softmax_ref(c(0, -2)))
  expect_error(predict(pol2, data.frame(id = 1 + 2e-15, s1 = 0, s2 = 0)), "not in the training")
  expect_identical(id_key(c(100000L, NA)), c("100000", NA))
  expect_identical(id_key(c(1e5, -0, 0.1)), c("100000", "0", "0.10000000000000001"))
})

# ---- 4. overflow-safe standardisation ----

test_that("huge states are standardised without overflow, or give an error naming the column", {
  set.seed(4)
  x <- matrix(stats::rnorm(200), 100, 2, dimnames = list(NULL, c("a", "b")))
  b1 <- rbf_basis(x, num.centers = 4, seed = 1, num.threads = 1)
  xb <- x
  xb[, "b"] <- xb[, "b"] * 1e155
  b2 <- rbf_basis(xb, num.centers = 4, seed = 1, num.threads = 1)
  expect_true(is.finite(b2$bandwidth))
  expect_equal(b2$bandwidth, b1$bandwidth, tolerance = 1e-10)
  expect_equal(unname(b2$scale[2]), unname(b1$scale[2]) * 1e155, tolerance = 1e-10)
  expect_equal(predict(b2, xb), predict(b1, x), tolerance = 1e-8)
  lb <- linear_basis(xb)
  expect_equal(predict(lb, xb)[, 2:3], predict(linear_basis(x), x)[, 2:3], tolerance = 1e-10)
  xo <- x
  xo[1:50, "a"] <- 1.79e308
  xo[51:100, "a"] <- -1.79e308
  expect_error(rbf_basis(xo, num.centers = 4, seed = 1), "column 'a' is too large to standardise")
  expect_error(rbf_basis(xb, num.centers = 4, seed = 1, scale = FALSE),
               "column 'b' is too large.*squared distances")
})

test_that("select_groups() keeps a huge state dimension (scale invariant)", {
  sim <- sim_linear2d(num.per.group = 2, T = 12, seed = 5)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  big <- sim$data
  big$s2 <- big$s2 * 1e160
  db <- p4l_data(big, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  g <- select_groups(d, max.K = 3, num.threads = 1)
  gb <- select_groups(db, max.K = 3, num.threads = 1)
  expect_identical(gb$settings$state.dims, c("s1", "s2"))
  expect_equal(gb$distance, g$distance, tolerance = 1e-8)
  bad <- sim$data
  bad$s2[1:6] <- 1.7e308
  bad$s2[7:12] <- -1.7e308
  dbad <- p4l_data(bad, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  expect_error(select_groups(dbad, max.K = 3, num.threads = 1), "column 's2'")
})

# ---- 5. bounded memory and a clear upper bound in evaluate_policy() ----

test_that("evaluate_policy() streams episodes and refuses absurd sizes with a clear error", {
  env <- env_linear2d(c1 = 1, c2 = -1)
  pol <- raw_policy(list(cbind(c(0, 0, 0), c(0.1, 1, -1))))
  expect_error(evaluate_policy(pol, env, ids = "a", num.episodes = 2e9, seed = 1),
               "would simulate up to .*num.episodes")
  # across the 2^15-episode blocks: identical for 1 and 2 threads, and the
  # standard error is the one of the mean (horizon 1: one Bernoulli-driven step)
  e1 <- evaluate_policy(pol, env, ids = c("a", "b"), num.episodes = 20000, horizon = 1,
                        seed = 9, num.threads = 1)
  e2 <- evaluate_policy(pol, env, ids = c("a", "b"), num.episodes = 20000, horizon = 1,
                        seed = 9, num.threads = 2)
  expect_identical(e1$value, e2$value)
  expect_identical(e1$se, e2$se)
  expect_true(all(is.finite(e1$se)) && all(e1$se > 0))
  expect_equal(e1$steps, c(1, 1))
  expect_equal(e1$steps.se, c(0, 0))
})

# ---- 6. hand-edited objects: R errors, never out-of-bounds reads ----

test_that("hand-edited policies, data and bases give R errors", {
  sim <- small_sim(2)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  C1 <- cbind(c(0, 0, 0), c(1, 0, 0))
  pol <- raw_policy(list(C1, -C1), ids = d$ids, slot = rep(1:2, length.out = length(d$ids)))
  env <- env_linear2d(c1 = 1, c2 = -1)
  bad <- pol
  bad$slot[1] <- 99L
  expect_error(predict(bad, d), "damaged: `slot`")
  expect_error(evaluate_policy(bad, env, num.episodes = 5, seed = 1), "damaged: `slot`")
  bad <- pol
  bad$policy.coef[[2]] <- bad$policy.coef[[2]][1:2, ]
  expect_error(predict(bad, d), "coefficient set 2 must be a 3 x 2")
  expect_error(evaluate_policy(bad, env, num.episodes = 5, seed = 1), "coefficient set 2")
  # the C++ binding itself checks the slot and action indices
  expect_error(evaluate_policy_cpp(list(), list(C1), FALSE, 0, TRUE,
                                   list(list(type = "linear2d", params = c(1, -1, 1))), 0L, 5L,
                                   0:1, integer(0), 2L, 2L, 0.9, 1, 1L), "slot")
  expect_error(evaluate_policy_cpp(list(), list(C1), FALSE, 0, TRUE,
                                   list(list(type = "linear2d", params = c(1, -1, 1))), 0L, 0L,
                                   c(0L, 7L), integer(0), 2L, 2L, 0.9, 1, 1L), "action map")
  expect_error(evaluate_policy_cpp(list(), list(C1), FALSE, 0, TRUE,
                                   list(list(type = "linear2d", params = c(1, -1, 1))), 0L, 0L,
                                   0:1, c(0L, 4L), 2L, 2L, 0.9, 1, 1L), "state map")
  # data
  dA <- d
  dA$A[1] <- 7L
  expect_error(fqi(dA, basis = linear_basis(d)), "damaged.*`A`")
  expect_error(select_groups(dA), "damaged.*`A`")
  dI <- d
  dI$individual[1] <- 99L
  expect_error(fqi(dI, basis = linear_basis(d)), "damaged.*`individual`")
  expect_error(predict(pol, dI), "damaged.*`individual`")
  dN <- d  # the row counts (the cores' row offsets) disagree with `individual`
  dN$num.transitions[1:2] <- dN$num.transitions[1:2] + c(1L, -1L)
  expect_error(fqi(dN, basis = linear_basis(d)), "damaged.*`num.transitions`")
  dS <- d
  dS$S <- dS$S[, 1, drop = FALSE]
  expect_error(predict(pol, dS), "damaged")
  expect_error(rbf_basis(dS, 3), "damaged")
  # kde binding: owner and evaluation indices out of range
  X <- matrix(0, 4, 1); Y <- matrix(0, 4, 1)
  expect_error(kde_cross_loglik_cpp(X, Y, rep(0L, 4), c(0L, 0L, 1L, 5L), 2L,
                                    list(0:1, 2:3), 1, 1, 1, 0L, 1L), "owner")
  expect_error(kde_cross_loglik_cpp(X, Y, rep(0L, 4), c(0L, 0L, 1L, 1L), 2L,
                                    list(0:1, c(2L, 9L)), 1, 1, 1, 0L, 1L), "evaluation rows")
  # bases: truncated centres, shift or scale
  b <- rbf_basis(d, num.centers = 3, seed = 1)
  bc <- b
  bc$centers <- bc$centers[, 1, drop = FALSE]
  expect_error(predict(bc, d), "invalid basis")
  bs <- b
  bs$scale <- bs$scale[1]
  expect_error(predict(bs, d), "invalid basis")
  lb <- linear_basis(d)
  lb$shift <- lb$shift[1]
  expect_error(predict(lb, d), "invalid basis")
  expect_error(rbf_features_cpp(matrix(0, 2, 3), b$centers, 1, c(0, 0), c(1, 1), 1L),
               "one entry per state column")
})

# ---- 7. p4l_data(): last rows, as.data.frame() names, text times ----

test_that("the bindings read the one transition object strictly, naming a bad element", {
  d <- p4l_data(small_sim()$data, "id", "time", "action", "reward", c("s1", "s2"))
  tr <- p4l:::transition_inputs(d, cbind(1, d$S), cbind(1, d$S_next))
  fit <- function(x) p4l:::fqi_cpp(x, 0.8, 1e-4, fqi_control(), matrix(0, 0, 0), 1L)
  expect_identical(dim(fit(tr)$W), c(3L, 2L))
  bad <- tr
  names(bad)[names(bad) == "psi_next"] <- "psi_nxt"
  expect_error(fit(bad), "unknown element 'psi_nxt'")
  expect_error(fit(tr[names(tr) != "start"]), "no element 'start'")
  expect_error(fit(c(tr, list(individual = 0L))), "unknown element 'individual'")
  expect_error(fit(unname(tr)), "named list")
  bad <- tr
  storage.mode(bad$psi) <- "integer"
  expect_error(fit(bad), "`transitions\\$psi` must be a double matrix")
  bad <- tr
  bad$psi_next <- as.numeric(bad$psi_next)  # no dim attribute
  expect_error(fit(bad), "`transitions\\$psi_next` must be a double matrix")
  bad <- tr
  bad$action <- as.numeric(bad$action)
  expect_error(fit(bad), "`transitions\\$action` must be an integer vector")
  bad <- tr
  bad$terminal[1] <- 2L
  expect_error(fit(bad), "terminal")
  bad <- tr
  bad$start <- rev(bad$start)
  expect_error(fit(bad), "fqi: start")
  expect_error(p4l:::lstdq_cpp(tr, 5L, matrix(0, 0, 0), 0.9, 1e-3), "members")
  # P4L: the same reader, then P4L's stricter checks (every individual owns a row)
  psi0 <- cbind(1, d$S0)
  dual <- function(x) p4l:::p4l_dual_cpp(x, psi0, matrix(0, 3, 1), matrix(1, length(d$ids), 1),
                                         0.8, 0.1, 1e-6, FALSE, 1L)
  expect_true(is.finite(dual(tr)$V))
  bad <- tr
  names(bad)[names(bad) == "psi"] <- "Psi"
  expect_error(dual(bad), "unknown element 'Psi'")
  bad <- tr
  bad$start <- c(0L, bad$start)
  expect_error(dual(bad), "invalid P4L inputs: .*every individual")
})

test_that("terminal = TRUE warns when a last row's action or reward is dropped", {
  df <- data.frame(id = rep(1:2, each = 3), t = rep(0:2, 2), a = c(0, 1, 1, 1, 0, NA),
                   r = c(1, 0, NA, 0, 1, 2), s = c(0.1, 0.5, 0.9, -0.3, 0.2, 0.4))
  expect_warning(d <- p4l_data(df, "id", "t", "a", "r", "s", terminal = TRUE),
                 "2 individual\\(s\\) have an action without a reward or a reward without")
  expect_equal(length(d$R), 4L)
  df2 <- df
  df2$a[3] <- NA
  df2$r[6] <- NA
  expect_silent(p4l_data(df2, "id", "t", "a", "r", "s", terminal = TRUE))
})

test_that("as.data.frame() of a p4l_data never overwrites a state column", {
  df <- data.frame(id = rep(1:2, each = 3), t = rep(0:2, 2), a = c(0, 1, NA, 1, 0, NA),
                   r = c(1, 0, NA, 0, 1, NA), terminal = c(5, 6, 7, 8, 9, 10),
                   next_terminal = c(-1, -2, -3, -4, -5, -6))
  d <- p4l_data(df, "id", "t", "a", "r", c("terminal", "next_terminal"))
  out <- as.data.frame(d)
  expect_equal(out$terminal, c(5, 6, 8, 9))
  expect_equal(out$next_terminal, c(-1, -2, -4, -5))
  expect_equal(out$next_terminal_, c(6, 7, 9, 10))
  expect_equal(out$next_next_terminal, c(-2, -3, -5, -6))
  expect_equal(out$terminal_, rep(FALSE, 4))
})

test_that("text times: a bad date is reported at its row, mixed formats parse each element", {
  df <- data.frame(id = rep(1:2, each = 3), a = c(0, 1, NA, 1, 0, NA), r = c(1, 0, NA, 0, 1, NA),
                   s = c(0.1, 0.5, 0.9, -0.3, 0.2, 0.4))
  df$t <- c("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01", "2024-02-30", "2024-01-03")
  expect_error(p4l_data(df, "id", "t", "a", "r", "s"), "at row 5 \\('2024-02-30'\\)")
  df$t <- c("2024-01-01", "2024-01-01 12:00", "2024-01-02 06:30:15", "2024/01/01",
            "2024-01-01T08:00", "2024-01-02")
  d <- p4l_data(df, "id", "t", "a", "r", "s")
  ref <- as.numeric(as.POSIXct(c("2024-01-01 00:00:00", "2024-01-01 12:00:00",
                                 "2024-01-01 00:00:00", "2024-01-01 08:00:00"), tz = "UTC"))
  expect_equal(d$time, ref)
})

# ---- 8. p4l(solver = "sgd"): divergence is a warning with a usable fit ----

collect_warnings <- function(expr) {
  w <- character(0)
  value <- withCallingHandlers(expr, warning = function(cnd) {
    w <<- c(w, conditionMessage(cnd))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = w)
}

test_that("p4l(solver = 'sgd') on the README's data warns on divergence, with a usable fit", {
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = 1)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  b <- rbf_basis(d, num.centers = 16, seed = 1)
  res <- collect_warnings(p4l(d, K = 3, basis = b, seed = 1, solver = "sgd"))
  fit <- res$value
  expect_true(any(grepl("stochastic path diverged", res$warnings)))
  expect_identical(fit$status, "diverged")
  expect_false(fit$converged)
  expect_true(all(is.finite(fit$Theta)) && all(is.finite(fit$U)) && is.finite(fit$value))
  pr <- predict(fit, data.frame(id = d$ids[1:3], s1 = 0.5, s2 = -0.5), type = "prob")
  expect_true(all(is.finite(pr)))
  expect_equal(unname(rowSums(pr)), rep(1, 3))
  # an absurd step diverges at once: the fit is then the (finite) start
  small <- p4l_data(sim_linear2d(num.per.group = 3, T = 10, seed = 1)$data, "id", "time",
                    "action", "reward", c("s1", "s2"), last = "drop")
  res <- collect_warnings(p4l(small, K = 2, basis = rbf_basis(small, 3, seed = 1), seed = 1,
                              solver = "sgd",
                              control = p4l_control(max.iter = 5, sgd.step = 1e200)))
  expect_identical(res$value$status, "diverged")
  expect_true(all(is.finite(res$value$Theta)))
})

# ---- randomised malformed inputs ----

valid_frame <- function() {
  sim <- sim_linear2d(num.per.group = 2, T = 5, seed = 11)
  sim$data
}

mutate_frame <- function(df, k) {
  n <- nrow(df)
  cols <- c("id", "time", "action", "reward", "s1", "s2")
  col <- sample(cols, 1)
  rows <- sample.int(n, sample.int(3, 1))
  switch(k,
    { df[[col]][rows] <- NA; df },
    { if (is.numeric(df[[col]])) df[[col]][rows] <- Inf; df },
    { if (is.numeric(df[[col]])) df[[col]][rows] <- NaN; df },
    { df[[col]] <- as.character(df[[col]]); df },
    { df[[col]] <- factor(df[[col]]); df },
    { df[[col]] <- as.logical(round(abs(as.numeric(df[[col]]))) %% 2); df },
    { df <- rbind(df, df[rows, , drop = FALSE]); df },                  # duplicated (id, time)
    { df[df$id == df$id[rows[1]], , drop = FALSE] },                    # one individual
    { df[!duplicated(df$id), , drop = FALSE] },                         # one row each
    { if (is.numeric(df[[col]])) df[[col]] <- df[[col]] * 10^sample(c(-300, -150, 150, 300), 1)
      df },
    { names(df)[names(df) == col] <- "renamed"; df },
    { df[[col]] <- NULL; df },
    { df[, rev(names(df))] },
    { df[0, , drop = FALSE] },
    { df[[col]] <- lapply(df[[col]], identity); df },                   # list column
    { df$action[rows] <- 7; df },
    { df$id <- df$id + 1e5; df },
    { df[sample.int(n), , drop = FALSE] })
}

# A mutation that does not apply (e.g. arithmetic on a text id) leaves df as is.
mutate_safely <- function(df, k) {
  tryCatch(suppressWarnings(mutate_frame(df, k)), error = function(e) df)
}

check_result <- function(x) {
  if (is.list(x) && !is.data.frame(x)) {
    for (nm in c("S", "S_next", "R", "S0")) if (!is.null(x[[nm]])) expect_true(all(is.finite(x[[nm]])))
  } else if (is.numeric(x)) {
    expect_true(all(is.finite(x)))
  }
}

test_that("200 random malformed data frames: p4l_data() gives a valid object or an R error", {
  set.seed(20260105)
  base <- valid_frame()
  outcomes <- character(0)
  for (i in 1:200) {
    df <- base
    for (j in seq_len(sample.int(2, 1))) df <- mutate_safely(df, sample.int(18, 1))
    res <- tryCatch(suppressMessages(suppressWarnings(
      p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"), na.action =
                 sample(c("fail", "locf", "omit"), 1)))),
      error = function(e) e)
    if (inherits(res, "error")) {
      expect_false(grepl("subscript out of bounds|NAs are not allowed|missing value where",
                         conditionMessage(res)), info = conditionMessage(res))
      outcomes <- c(outcomes, "error")
    } else {
      expect_s3_class(res, "p4l_data")
      check_result(res)
      expect_silent(validate_p4l_data(res))
      outcomes <- c(outcomes, "ok")
    }
  }
  expect_true(all(c("ok", "error") %in% outcomes))
})

test_that("200 random malformed newdata: predict() gives finite results or an R error", {
  set.seed(20260106)
  base <- valid_frame()
  d <- p4l_data(base, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
  b <- rbf_basis(d, num.centers = 3, seed = 1)
  C <- cbind(stats::rnorm(4), stats::rnorm(4))
  pol <- new_p4l_policy("test", "test_policy", basis = b, gamma = 0.9, action.levels = c(0, 1),
                        action.type = "numeric", state.names = c("s1", "s2"), id.column = "id",
                        ids = d$ids, slot = rep(1L, length(d$ids)),
                        policy.coef = list(C, -C))
  pol$slot[] <- rep(1:2, length.out = length(d$ids))
  outcomes <- character(0)
  for (i in 1:200) {
    df <- base
    for (j in seq_len(sample.int(2, 1))) df <- mutate_safely(df, sample.int(18, 1))
    type <- sample(c("action", "prob"), 1)
    obj <- if (i %% 3 == 0) b else pol
    res <- tryCatch(if (inherits(obj, "p4l_basis")) predict(obj, df) else
      predict(obj, df, type = type), error = function(e) e)
    if (inherits(res, "error")) {
      expect_false(grepl("subscript out of bounds|NAs are not allowed|missing value where",
                         conditionMessage(res)), info = conditionMessage(res))
      outcomes <- c(outcomes, "error")
    } else {
      if (is.numeric(res)) expect_true(all(is.finite(res)))
      expect_equal(NROW(res), nrow(df))
      outcomes <- c(outcomes, "ok")
    }
  }
  expect_true(all(c("ok", "error") %in% outcomes))
})
