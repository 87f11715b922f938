# P4L's estimate against the truth as the ADMM runs, on the stress suite's S4
# ICU-like stays (issue 12): does the pessimistic value stay below the true
# value of the policy it belongs to? One fit per setting, each with a fixed
# number of iterations (max.iter), K = 2, gamma = 0.9, seed 1, 2 threads; true
# values by Monte Carlo on the S4 dynamics (s4_policy_value() of
# bench/stress-data.R, at least 15,000 episodes in all, by latent severity).
#
#   R_LIBS=<library> Rscript bench/s4-drift.R [stays] [seed] [out.csv] [settings...]
#
# stays: default 16000 (9 actions); seed: the generator's (default 7001, a
# development seed; the reported stress seed is 501); settings: R expressions
# of the form "max.iter=<k>[;alpha=<a>][;initial=<visited|shared>][;max.initial=<m>][;ridge=<r>]" (default:
# "max.iter=10" "max.iter=40" "max.iter=40;alpha=0.07"
# "max.iter=40;initial=visited"). Estimates are printed on the discounted
# scale (the scale of the true values).
suppressMessages(library(p4l))
bench.dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f)) dirname(normalizePath(f)) else "bench"
})
source(file.path(bench.dir, "stress-data.R"))
args <- commandArgs(TRUE)
stays <- if (length(args) >= 1) as.integer(args[1]) else 16000L
seed <- if (length(args) >= 2) as.integer(args[2]) else 7001L
out.csv <- if (length(args) >= 3) args[3] else ""
settings <- if (length(args) >= 4) args[-(1:3)] else
  c("max.iter=10", "max.iter=40", "max.iter=40;alpha=0.07", "max.iter=40;initial=visited")

sim <- sim_s4(stays, 3, seed = seed)
d <- stress_s4_data(stays, 3, sim = sim)
E <- max(1L, ceiling(15000 / stays))
val <- function(pol) s4_by_severity(s4_policy_value(pol, sim, E, 0.9, seed = seed + 600), sim)
row <- function(label, est = NA, point = NA, v, secs = NA, it = NA, conv = NA, alpha = NA) {
  data.frame(stays = stays, transitions = length(d$R), seed = seed, setting = label,
             iterations = it, converged = conv, alpha = alpha, estimate = est, point = point,
             true.mild = v[["mild"]], true.severe = v[["severe"]], secs = secs)
}
rows <- list(row("behaviour", v = val("behaviour")))
ff <- fqi(d, gamma = 0.9, seed = 1, num.threads = 2)
rows[[2]] <- row("pooled fqi()", v = val(ff))
for (s in settings) {
  kv <- strsplit(strsplit(s, ";", fixed = TRUE)[[1]], "=", fixed = TRUE)
  kv <- stats::setNames(lapply(kv, `[`, 2), vapply(kv, `[`, "", 1))
  # settings not given keep p4l_control()'s defaults
  args <- list(max.iter = as.integer(kv$max.iter))
  if (!is.null(kv$initial)) args$initial <- kv$initial
  if (!is.null(kv$max.initial)) args$max.initial <- as.integer(kv$max.initial)
  if (!is.null(kv$ridge)) args$ridge <- as.numeric(kv$ridge)
  ctl <- do.call(p4l_control, args)
  alpha <- if (is.null(kv$alpha)) NULL else as.numeric(kv$alpha)
  t0 <- proc.time()[["elapsed"]]
  fit <- suppressWarnings(p4l(d, K = 2, gamma = 0.9, alpha = alpha, seed = 1, control = ctl,
                              num.threads = 2))
  secs <- proc.time()[["elapsed"]] - t0
  vt <- fit$values
  disc <- vt[vt$policy == "softmax" & vt$scale == "discounted", ]
  rows[[length(rows) + 1L]] <- row(s, disc$pessimistic, disc$point, val(fit), secs,
                                   fit$iterations, fit$converged, fit$alpha)
  print(rows[[length(rows)]], row.names = FALSE)
}
res <- do.call(rbind, rows)
print(res, row.names = FALSE, digits = 4)
if (nzchar(out.csv)) utils::write.csv(res, out.csv, row.names = FALSE)
