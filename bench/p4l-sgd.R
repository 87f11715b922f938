#!/usr/bin/env Rscript
# p4l(solver = "sgd") (the minibatch path of Algorithm 1) against the closed
# form (the default) on the small problem of the tests and on the paper-scale
# basis.
#
#   Rscript bench/p4l-sgd.R
#
# Small problem: sim_linear2d(), 3 individuals per subgroup, T = 60, 4 RBF
# centres, K = 3. For each number of outer iterations: the pessimistic value
# of the stochastic fit's final policy (closed form), its gap to the
# closed-form fit, the share of equal actions on a 15 x 15 grid of states for
# every individual, the step scale and the time. Then the step scale of the
# stochastic path on the default 16-centre basis (20 individuals per subgroup,
# T = 50), which is why it is not the default.
suppressPackageStartupMessages(library(p4l))
sim <- sim_linear2d(num.per.group = 3, T = 60, seed = 1)
d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
b <- rbf_basis(d, 4, seed = 1)
tc <- system.time(fc <- p4l(d, K = 3, basis = b, seed = 1, num.threads = 1))[["elapsed"]]
grid <- expand.grid(s1 = seq(-2, 2, length.out = 15), s2 = seq(-2, 2, length.out = 15))
nd <- cbind(id = rep(d$ids, each = nrow(grid)), grid[rep(seq_len(nrow(grid)), length(d$ids)), ])
rows <- list(data.frame(solver = "closed", iterations = fc$iterations, value = fc$value,
                        gap = 0, agreement = 1, step.scale = NA, seconds = tc))
for (it in c(50, 150, 600, 2000)) {
  ts <- system.time(fs <- suppressWarnings(
    p4l(d, K = 3, basis = b, seed = 1, num.threads = 1, solver = "sgd",
        control = p4l_control(max.iter = it))))[["elapsed"]]
  rows[[length(rows) + 1L]] <- data.frame(
    solver = "sgd", iterations = it, value = fs$value, gap = fc$value - fs$value,
    agreement = mean(predict(fs, nd) == predict(fc, nd)), step.scale = fs$sgd.step.scale,
    seconds = ts)
}
tab <- do.call(rbind, rows)
print(format(tab, digits = 3), row.names = FALSE)

sim2 <- sim_linear2d(num.per.group = 20, T = 50, seed = 1)
d2 <- p4l_data(sim2$data, "id", "time", "action", "reward", c("s1", "s2"))
f2 <- suppressWarnings(p4l(d2, K = 3, seed = 1, num.threads = 1, solver = "sgd",
                           control = p4l_control(max.iter = 5)))
cat("\nDefault 16-centre basis, N = 60, T = 50: step scale", format(f2$sgd.step.scale, digits = 4),
    "(the closed form has no inner steps)\n")
