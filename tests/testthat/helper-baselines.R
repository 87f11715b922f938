# Shared fixtures for the baseline tests (fqi, vlearning, acpi, compare).

# A small tabular MDP: states 1..3 (one-hot features), actions 0/1.
# Trajectories of length 6; with terminal = TRUE the last transition is absorbing.
baseline_tabular_data <- function(N = 30, T = 6, seed = 1, terminal = TRUE) {
  set.seed(seed)
  P <- list(matrix(c(.7, .2, .1, .1, .6, .3, .3, .3, .4), 3, byrow = TRUE),
            matrix(c(.1, .1, .8, .5, .4, .1, .2, .7, .1), 3, byrow = TRUE))
  Rm <- matrix(c(1, 0, 0.5, 2, -1, 1), 3)  # mean reward [state, action]
  rows <- list()
  for (i in seq_len(N)) {
    s <- sample(3, 1)
    for (t in 0:T) {
      last <- t == T
      a <- if (last && !terminal) NA else sample(0:1, 1)
      r <- if (is.na(a)) NA else Rm[s, a + 1] + stats::rnorm(1, sd = 0.3)
      rows[[length(rows) + 1]] <- data.frame(id = i, time = t, action = a, reward = r, s = s)
      if (!is.na(a)) s <- sample(3, 1, prob = P[[a + 1]][s, ])
      if (last) break
    }
  }
  p4l::p4l_data(do.call(rbind, rows), "id", "time", "action", "reward", "s", terminal = terminal)
}

one_hot3 <- function(s) diag(3)[s, , drop = FALSE]

# Homogeneous data from subgroup `g` of sim_linear2d() and its optimal value.
baseline_subgroup <- function(g = "a", num = 20, T = 100, seed = 1, reverse = FALSE) {
  grp <- p4l::linear2d_groups()[g, , drop = FALSE]
  if (reverse) grp$reward.sign <- -1
  sim <- p4l::sim_linear2d(num.per.group = num, T = T, groups = grp, seed = seed)
  d <- p4l::p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  list(sim = sim, data = d, groups = grp)
}

test_level <- function() as.integer(Sys.getenv("P4L_TEST_LEVEL", "1"))
