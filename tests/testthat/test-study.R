# run_study(): cells, seeds, errors, resuming, plans, progress, summaries.

tiny_study <- function() {
  design <- data.frame(per.group = c(2, 3), T = c(12, 10))
  simulate <- function(setting, seed) {
    sim <- sim_linear2d(num.per.group = setting$per.group, T = setting$T, seed = seed)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    list(data = d, env = sim$env, groups = sim$group, basis = rbf_basis(d, 4, seed = seed))
  }
  methods <- list(
    FQI = function(sim, seed) fqi(sim$data, basis = sim$basis, seed = seed, num.threads = 1),
    broken = function(sim, seed) stop("no fit today"),
    uniform = function(sim, seed) uniform_policy(c(0, 1), c("s1", "s2")))
  list(design = design, simulate = simulate, methods = methods,
       evaluate = study_evaluate(num.episodes = 20, horizon = 15))
}

strip_time <- function(x) {
  x <- as.data.frame(unclass(x))
  x$seconds <- NULL
  x
}

test_that("run_study() fits every method on the same simulated data and evaluates per subgroup", {
  s <- tiny_study()
  st <- run_study(s$design, s$methods, s$simulate, s$evaluate, replications = 2, seed = 7,
                  num.threads = 1)
  expect_s3_class(st, "p4l_study")
  # 2 settings x 2 replications x 3 methods x 3 subgroups
  expect_equal(nrow(st), 2 * 2 * 3 * 3)
  expect_equal(levels(st$method), c("FQI", "broken", "uniform"))
  expect_equal(sort(unique(st$seed)), c(7, 8))
  # Replication 2 of setting 2 by hand: seed 7 + 2 - 1 = 8.
  sim <- s$simulate(list(per.group = 3, T = 10), 8)
  fit <- fqi(sim$data, basis = sim$basis, seed = 8, num.threads = 1)
  # study_evaluate(): about 20 episodes per subgroup, split over its 3 individuals
  # (ceiling(20 / 3) = 7 each), one evaluate_policy() call per subgroup.
  g <- as.character(sim$group)
  ids <- names(sim$env)
  hand <- hand.se <- c()
  for (k in c("a", "b", "c")) {
    ev <- evaluate_policy(fit, sim$env, ids = ids[g == k], num.episodes = 7, horizon = 15,
                          seed = 8)
    hand[k] <- mean(ev$value)
    hand.se[k] <- sqrt(sum(ev$se^2)) / 3
  }
  got <- st[st$setting == 2 & st$replication == 2 & st$method == "FQI", ]
  expect_equal(got$value, unname(hand[got$subgroup]), tolerance = 1e-12)
  expect_equal(got$se, unname(hand.se[got$subgroup]), tolerance = 1e-12)
  expect_true(all(got$converged))
  expect_equal(unique(got$clusters), 1L)
  # The failing method is recorded, not fatal.
  br <- st[st$method == "broken", ]
  expect_true(all(is.na(br$value)))
  expect_true(all(br$error == "no fit today"))
  expect_true(all(is.na(st$error[st$method != "broken"])))
  sm <- summary(st)
  expect_equal(sm$errors[sm$method == "broken"], rep(2L, 6))
  expect_true(all(sm$n[sm$method == "broken"] == 0L))
})

test_that("summary() of a study is the mean and standard error over replications", {
  s <- tiny_study()
  st <- run_study(s$design[1, ], s$methods[c(1, 3)], s$simulate, s$evaluate, replications = 3,
                  seed = 3, num.threads = 1)
  sm <- summary(st)
  v <- st$value[st$method == "FQI" & st$subgroup == "b"]
  row <- sm[sm$method == "FQI" & sm$subgroup == "b", ]
  expect_equal(row$n, 3L)
  expect_equal(row$mean, mean(v))
  expect_equal(row$se, sd(v) / sqrt(3))
  expect_equal(row$median, median(v))
  expect_output(print(st), "1 setting x 3 replications x 2 methods")
  pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  expect_invisible(plot(st, reference = c(a = 3.6, b = 3.6, c = 3.6)))
  expect_error(plot(st, settings = 5), "settings")
  # Saved as CSV and read back, the table summarises the same.
  f <- tempfile(fileext = ".csv")
  utils::write.csv(as.data.frame(unclass(st)), f, row.names = FALSE)
  back <- as_study(utils::read.csv(f))
  expect_equal(as.data.frame(summary(back)), as.data.frame(sm))
})

test_that("run_study() resumes from its cell files and refuses another study's cells", {
  s <- tiny_study()
  dir <- tempfile("study")
  a <- run_study(s$design, s$methods[c(1, 3)], s$simulate, s$evaluate, replications = 2,
                 seed = 11, dir = dir, num.threads = 1)
  files <- list.files(dir, pattern = "^cell-.*\\.rds$")
  expect_length(files, 4)
  # The finished cells read back without running anything.
  rd <- read_study(dir)
  expect_identical(as.data.frame(unclass(rd)), as.data.frame(unclass(a)))
  expect_identical(attr(rd, "design"), attr(a, "design"))
  # A stopped run: one cell missing. Re-running computes it and reads the rest.
  file.remove(file.path(dir, files[3]))
  expect_message(b <- run_study(s$design, s$methods[c(1, 3)], s$simulate, s$evaluate,
                                replications = 2, seed = 11, dir = dir, num.threads = 1),
                 "3 of 4 cells read")
  expect_identical(strip_time(a), strip_time(b))
  # Read cells keep their recorded times exactly.
  expect_identical(a$seconds[a$setting == 1], b$seconds[b$setting == 1])
  # Extending the study adds replications and leaves the others unchanged.
  c3 <- run_study(s$design, s$methods[c(1, 3)], s$simulate, s$evaluate, replications = 1:3,
                  seed = 11, dir = dir, num.threads = 1, verbose = FALSE)
  expect_identical(strip_time(c3[c3$replication <= 2, ]), strip_time(a))
  expect_error(run_study(s$design, s$methods[c(1, 3)], s$simulate, s$evaluate,
                         replications = 2, seed = 12, dir = dir),
               "different study")
  expect_error(run_study(s$design, s$methods[c(3, 1)], s$simulate, s$evaluate,
                         replications = 2, seed = 11, dir = dir),
               "different study")
})

test_that("run_study() gives the same result for any future plan and reports progress", {
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  skip_if_not_installed("progressr")
  s <- tiny_study()
  run <- function() run_study(s$design, s$methods, s$simulate, s$evaluate, replications = 2,
                              seed = 5)
  old <- future::plan(future::sequential)
  on.exit(future::plan(old), add = TRUE)
  opt <- options(progressr.enable = TRUE)
  on.exit(options(opt), add = TRUE)
  steps <- 0
  count <- function(p) if (identical(p$type, "update")) steps <<- steps + p$amount
  a <- withCallingHandlers(run(), progression = count)
  expect_equal(steps, 4)  # one step per cell
  future::plan(future::multisession, workers = 2)
  steps <- 0
  b <- withCallingHandlers(run(), progression = count)
  expect_equal(steps, 4)
  expect_identical(strip_time(a), strip_time(b))
})

test_that("run_study() records non-converged fits and their warnings", {
  s <- tiny_study()
  m <- list("P4L (2 iterations)" = function(sim, seed)
    p4l(sim$data, K = 2, basis = sim$basis, seed = seed, control = p4l_control(max.iter = 2),
        num.threads = 1))
  st <- run_study(s$design[1, ], m, s$simulate, s$evaluate, replications = 1, seed = 2)
  expect_true(all(st$converged == FALSE))
  expect_true(all(grepl("converge", st$warnings)))
  expect_true(all(is.finite(st$value)))
  expect_equal(summary(st)$not.converged, rep(1L, 3))
})

test_that("run_study() checks its arguments", {
  s <- tiny_study()
  expect_error(run_study(list(), s$methods, s$simulate), "`design`")
  expect_error(run_study(data.frame(method = 1), s$methods, s$simulate), "\"method\"")
  expect_error(run_study(s$design, s$methods[[1]], s$simulate), "`methods`")
  expect_error(run_study(s$design, unname(s$methods), s$simulate), "named")
  expect_error(run_study(s$design, list(a = 1), s$simulate), "methods\\$a")
  expect_error(run_study(s$design, s$methods, 1), "`simulate`")
  expect_error(run_study(s$design, s$methods, s$simulate, replications = 0), "`replications`")
  expect_error(run_study(s$design, s$methods, s$simulate, seed = 1.5), "`seed`")
  expect_error(read_study(tempfile()), "`dir`")
  expect_error(study_evaluate(num.episodes = 1), "num.episodes")
})

test_that("linear2d_study() has the paper's grid, methods and optimum", {
  fig <- linear2d_study()
  expect_equal(nrow(fig$design), 12)
  expect_equal(sort(unique(fig$design$T)), c(50, 100, 200))
  expect_equal(names(fig$methods), c(paste0("P4L (K = ", c(2:5, "auto"), ")"), "ACPI", "FQI", "VL"))
  g <- linear2d_groups()
  g["c", "reward.sign"] <- -1
  expect_equal(unname(fig$optimum("reversed")), linear2d_optimum(g)$value)
  sim <- fig$simulate(list(per.group = 2, T = 10, variant = "reversed"), 4)
  expect_equal(basis_dim(sim$basis), 17)
  direct <- sim_linear2d(num.per.group = 2, T = 10, groups = g, seed = 4)
  expect_equal(sim$data$reward, p4l_data(direct$data, "id", "time", "action", "reward",
                                         c("s1", "s2"))$reward)
  expect_error(linear2d_study(K = "two"), "`K`")
})

test_that("cartpole_study() simulates a setting and scores steps per environment", {
  cp <- cartpole_study("B", K = 2, baselines = c("FQI", "Behaviour"), num.traj = 3,
                       num.centers = 6, control = p4l_control(max.iter = 5), eval.episodes = 2)
  expect_equal(cp$design$cartpole, "B")
  expect_equal(names(cp$methods), c("P4L (K = 2)", "FQI", "Behaviour"))
  sim <- cp$simulate(list(cartpole = "B"), 3)
  expect_equal(nlevels(sim$groups), 3)
  expect_equal(length(sim$data$ids), 9)
  pol <- cp$methods$Behaviour(sim, 3)
  ev <- cp$evaluate(pol, sim, 3)
  # steps of each environment = mean over its 3 trajectories' evaluations
  # (ceiling(6 / 3) = 2 episodes each)
  ids <- names(sim$env)
  g <- as.character(sim$groups[ids])
  k <- levels(sim$groups)[2]
  hand <- evaluate_policy(pol, sim$env, ids = ids[g == k], num.episodes = 2, horizon = 300,
                          gamma = 0.9, seed = 3)
  expect_equal(ev$value[ev$subgroup == k], mean(hand$steps))
  expect_true(all(ev$value >= 1 & ev$value <= 300))
  expect_error(cartpole_study("D"), "should be one of")
})
