# The start of P4L's latent variables on short stays (development run): the
# one-step models of p4l_control(init.model = "full") against "intercept", on
# a synthetic sepsis cohort (sim_sepsis_cohort(3000, seed = COHORT),
# sepsis_data(), 1,000 stays drawn with seed DRAW, the 16-centre RBF basis of
# sepsis_study(), gamma 0.8, K = 2). Reports the two-means adjusted Rand index
# of the start's scores and of the fit's clusters against the planted
# subgroups, and the value in persim() fitted on all 3,000 stays (20 episodes
# per stay, horizon 10) of P4L, pooled FQI and the fitted clinicians' policy.
#   R_LIBS=<library> Rscript bench/start-short-stays.R COHORT DRAW MODEL out.csv [MU]
# MODEL is p4l_control()'s init.model ("full", "intercept", "auto"); MU, when
# given, is p4l()'s mu (1 reproduces the default before session 19).
# Development seeds only (cohorts 9001 and 9003, draws 9002 and 9004); the
# reported Table 3 uses 9301 and 9311-9315.
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
cohort.seed <- as.integer(args[1]); draw.seed <- as.integer(args[2]); model <- args[3]; out <- args[4]
mu <- if (length(args) >= 5) as.numeric(args[5]) else NULL
options(p4l.num.threads = 1L)
source(file.path("bench", "adjusted-rand.R"))
sim <- sim_sepsis_cohort(3000, seed = cohort.seed)
D <- suppressMessages(sepsis_data(sim$data))
set.seed(draw.seed)
ids <- sort(D$ids[sample.int(length(D$ids), 1000)])
d <- subset(D, ids = ids)
truth <- sim$type[as.character(d$ids)]
ctl <- p4l_control(init.model = model)
u0 <- p4l:::p4l_initial_u(d, 2, ctl, 1)
set.seed(1)
start.ari <- adjusted_rand(truth, stats::kmeans(u0[, 2], 2, nstart = 20)$cluster)
basis <- rbf_basis(d, num.centers = 16, seed = 1)
t0 <- proc.time()[["elapsed"]]
fit <- suppressWarnings(p4l(d, K = 2, gamma = 0.8, basis = basis, mu = mu, control = ctl,
                            seed = 1))
secs <- proc.time()[["elapsed"]] - t0
env <- persim_env(persim(D, seed = cohort.seed), ids)
value <- function(pol) {
  v <- evaluate_policy(pol, env, num.episodes = 20, horizon = 10, gamma = 0.8, seed = 5)
  c(mean(v$value), stats::sd(v$value) / sqrt(nrow(v)))
}
pols <- list(P4L = fit, FQI = fqi(d, gamma = 0.8, basis = basis, seed = 1),
             Clinicians = behaviour_policy(d, basis = basis, gamma = 0.8, seed = 1))
vals <- t(vapply(pols, value, numeric(2)))
g <- fit$values[fit$values$policy == "greedy" & fit$values$scale == "normalised", ]
res <- data.frame(cohort = cohort.seed, draw = draw.seed, model = model, mu = fit$mu,
                  method = rownames(vals),
                  value = vals[, 1], se = vals[, 2], start.ari = start.ari,
                  fit.ari = adjusted_rand(truth, fit$cluster), iterations = fit$iterations,
                  converged = fit$converged, pessimistic = g$pessimistic, point = g$point,
                  fit.secs = secs)
print(res, row.names = FALSE)
utils::write.table(res, out, sep = ",", row.names = FALSE, append = file.exists(out),
                   col.names = !file.exists(out))
