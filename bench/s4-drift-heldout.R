# Does a check on held-out individuals catch the S4 drift (bench/s4-drift.R)?
# P4L fitted on S4 with 16,000 stays (generator seed 7001, development), K = 2,
# gamma = 0.9, stopped after 10 and 40 iterations; policy_value() of each fit
# and of the behaviour model on 2,000 new stays (seed 7002; ids offset so that
# every one is new and is placed by p4l_assign()), FQE, DR and WIS with
# policy_value()'s defaults and 50 bootstrap resamples. The true values are
# those of bench/s4-drift.R on the training stays (same design).
#
#   R_LIBS=<library> Rscript bench/s4-drift-heldout.R
suppressMessages(library(p4l))
source(file.path("bench", "stress-data.R"))
sim <- sim_s4(16000, 3, seed = 7001)
d <- stress_s4_data(16000, 3, sim = sim)
ho.sim <- sim_s4(2000, 3, seed = 7002)
ho.sim$data$id <- ho.sim$data$id + 100000L          # every held-out stay is new
ho <- stress_s4_data(2000, 3, sim = ho.sim)
fits <- list()
for (it in c(10, 40)) {
  fits[[paste0("p4l.", it)]] <- suppressWarnings(
    p4l(d, K = 2, gamma = 0.9, seed = 1, control = p4l_control(max.iter = it), num.threads = 2))
}
fits$behaviour <- behaviour_policy(ho, gamma = 0.9, seed = 1)
for (nm in names(fits)) {
  for (m in c("dr", "wis", "fqe")) {
    pv <- suppressWarnings(policy_value(fits[[nm]], ho, method = m, gamma = 0.9, num.boot = 50,
                                        seed = 1, num.threads = 2))
    cat(sprintf("%-10s %-4s estimate %.3f [%.3f, %.3f]\n", nm, m, pv$estimate[1], pv$lower[1],
                pv$upper[1]))
  }
}
