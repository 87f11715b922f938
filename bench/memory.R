# Memory and time of acpi() with the true clusters on a large basis (issue 13).
# One fit per process, so that the peak resident set is that fit's:
#   R_LIBS=<library> /usr/bin/time -v Rscript bench/memory.R <num.centers> [patients] [threads]
# Data: sim_icu(patients, seed = 401) (8 actions), an RBF basis with
# <num.centers> centres (p = 8 (num.centers + 1) Q weights), clusters = the
# true subgroups. Prints n, N, p, the basis and fit seconds, and the package's
# memory estimate (p4l:::acpi_bytes) when the build has it.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(trailingOnly = TRUE)
centers <- if (length(args) >= 1) as.integer(args[1]) else 63L
patients <- if (length(args) >= 2) as.integer(args[2]) else 1000L
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
sim <- sim_icu(patients, seed = 401, num.threads = threads)
d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
              terminal = "terminal")
t.basis <- system.time(b <- rbf_basis(d, num.centers = centers, seed = 1,
                                      num.threads = threads))[["elapsed"]]
p <- length(d$action.levels) * (centers + 1L)
est <- if (exists("acpi_bytes", asNamespace("p4l"))) {
  sum(p4l:::acpi_bytes(length(d$R), length(d$ids), centers + 1L, length(d$action.levels),
                       clusters.given = TRUE, threads = threads))
} else NA
t.fit <- system.time(fit <- acpi(d, basis = b, clusters = sim$group, gamma = 0.9,
                                 num.threads = threads, seed = 1))[["elapsed"]]
cat(sprintf("n = %d, N = %d, centres = %d, p = %d, basis %.1f s, acpi %.1f s, estimate %.0f MB, pi iterations %s\n",
            length(d$R), length(d$ids), centers, p, t.basis, t.fit, est / 1e6,
            paste(fit$convergence$pi.iterations, collapse = "/")))
