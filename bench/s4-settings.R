# True values of P4L on the stress suite's S4 data (ICU-like stays, 9 or 25
# actions) with one setting changed at a time (development seeds; the stress
# table uses seeds 500 + rep).
# Usage: R_LIBS=<library> Rscript bench/s4-settings.R <seed> <setting> [stays] [levels]
#   setting: "baseline" (behaviour policy and pooled FQI), "defaults",
#   "alpha x<k>" (k times the default alpha), or p4l_control() arguments,
#   e.g. "ridge = 1e-4" or "kappa = 0.1".
# Prints one line: iterations and status, the fit's own estimates (discounted
# scale) and the true value by s4_policy_value() (50 episodes per stay).
suppressMessages(library(p4l))
source(file.path("bench", "stress-data.R"))
a <- commandArgs(TRUE)
seed <- as.integer(a[1])
setting <- a[2]
N <- if (length(a) > 2) as.integer(a[3]) else 300L
L <- if (length(a) > 3) as.integer(a[4]) else 3L
gamma <- 0.9
sim <- sim_s4(N, L, seed = seed)
d <- stress_s4_data(N, L, sim = sim)
true_value <- function(pol) {
  v <- s4_policy_value(pol, sim, 50, gamma, seed = 11)
  sprintf("%.3f (%s)", mean(v), paste(sprintf("%.3f", s4_by_severity(v, sim)), collapse = " / "))
}
head <- sprintf("%dx%d seed %d | %s", N, length(s4_doses(L)$labels), seed, setting)
if (setting == "baseline") {
  f <- suppressWarnings(fqi(d, gamma = gamma, seed = 1))
  cat(head, "| behaviour", true_value("behaviour"), "| pooled FQI", true_value(f), "\n")
} else {
  alpha <- NULL
  ctl <- p4l_control()
  if (grepl("^alpha x", setting)) {
    k <- as.numeric(sub("^alpha x", "", setting))
    alpha <- k * p4l:::p4l_tuning(d, 17L, 2L, NULL, NULL)$alpha  # default basis: 16 centres + 1
  } else if (setting != "defaults") {
    ctl <- eval(parse(text = sprintf("p4l_control(%s)", setting)))
  }
  t0 <- proc.time()[["elapsed"]]
  f <- suppressWarnings(p4l(d, K = 2, gamma = gamma, seed = 1, alpha = alpha, control = ctl))
  secs <- proc.time()[["elapsed"]] - t0
  tr <- as.data.frame(f$trace)
  cat(sprintf("%s | %.0f s, %d iterations, %s | estimate %.3f / %.3f | true %s\n", head, secs,
              nrow(tr), f$convergence$status, f$value / (1 - gamma),
              utils::tail(tr$point.value, 1) / (1 - gamma), true_value(f)))
}
