# Memory and time of the estimators on a large basis (issue 13). One fit per
# process, so that the peak resident set is that fit's:
#   R_LIBS=<library> /usr/bin/time -v Rscript bench/memory.R <num.centers> [patients] [threads] [method]
# Data: sim_icu(patients, seed = 401) (8 actions), an RBF basis with
# <num.centers> centres (p = 8 (num.centers + 1) Q weights). method:
#   "clusters" (default) acpi() with the true subgroups as `clusters`;
#   "fusion"   acpi(K = 2) (fusion path; num.lambda = 5, max.outer = 1);
#   "fqi", "p4l" (K = 2).
# Prints n, N, p, the basis and fit seconds, and the package's memory
# estimate (R/memory.R) when the build has it.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(trailingOnly = TRUE)
centers <- if (length(args) >= 1) as.integer(args[1]) else 63L
patients <- if (length(args) >= 2) as.integer(args[2]) else 1000L
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
method <- if (length(args) >= 4) args[4] else "clusters"
sim <- sim_icu(patients, seed = 401, num.threads = threads)
d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
              terminal = "terminal")
t.basis <- system.time(b <- rbf_basis(d, num.centers = centers, seed = 1,
                                      num.threads = threads))[["elapsed"]]
n <- length(d$R); N <- length(d$ids); m <- length(d$action.levels); dd <- centers + 1L
p <- m * dd
ns <- asNamespace("p4l")
ctl <- acpi_control(num.lambda = 5, max.outer = 1)
est <- if (!exists("acpi_bytes", ns)) NA else switch(method,
  clusters = sum(ns$acpi_bytes(n, N, dd, m, clusters.given = TRUE, threads = threads)),
  fusion = sum(ns$acpi_bytes(n, N, dd, m, FALSE, num.lambda = 5, K.fixed = TRUE,
                             threads = threads)),
  fqi = sum(ns$fqi_bytes(n, N, dd, m, threads = threads)),
  p4l = sum(ns$p4l_bytes(n, N, dd, m, 2)))
t.fit <- system.time(fit <- switch(method,
  clusters = acpi(d, basis = b, clusters = sim$group, gamma = 0.9, num.threads = threads,
                  seed = 1),
  fusion = acpi(d, basis = b, K = 2, gamma = 0.9, control = ctl, num.threads = threads,
                seed = 1),
  fqi = fqi(d, basis = b, gamma = 0.9, num.threads = threads, seed = 1),
  p4l = suppressWarnings(p4l(d, K = 2, basis = b, gamma = 0.9, num.threads = threads,
                             seed = 1, control = p4l_control(max.iter = 20)))))[["elapsed"]]
cat(sprintf("%s: n = %d, N = %d, centres = %d, p = %d, basis %.1f s, fit %.1f s, estimate %.0f MB\n",
            method, n, N, centers, p, t.basis, t.fit, est / 1e6))
