# Shared by the held-out value benchmarks (value-coverage-heldout.R,
# fqe-groups-dev.R, fqe-groups-large.R): the training data of the 2-D study
# (sim_linear2d(20 per subgroup, T = 100, seed)) and evaluation data of
# num.per.group new individuals per subgroup from seed + 50000, whose ids
# are shifted by 1000 so that nothing is matched to a training individual
# by accident. Returns list(sim, d, ev.sim, de).
heldout_2d <- function(seed, num.per.group = 20) {
  sim <- sim_linear2d(num.per.group = 20, T = 100, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  ev.sim <- sim_linear2d(num.per.group = num.per.group, T = 100, seed = seed + 50000)
  ev.sim$data$id <- ev.sim$data$id + 1000
  names(ev.sim$env) <- as.character(as.integer(names(ev.sim$env)) + 1000)
  names(ev.sim$group) <- names(ev.sim$env)
  de <- p4l_data(ev.sim$data, "id", "time", "action", "reward", c("s1", "s2"))
  list(sim = sim, d = d, ev.sim = ev.sim, de = de)
}
