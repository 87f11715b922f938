# make demo: simulate the paper's 2-D heterogeneous data, build the RBF basis,
# fit P4L, print its summary, write figures to the output directory and compare
# the learned policies' values with the behaviour policy's.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "demo-output"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages(library(p4l))

sim <- sim_linear2d(num.per.group = 20, T = 100, seed = 2026)
data <- p4l_data(sim$data, id = "id", time = "time", action = "action",
                 reward = "reward", state = c("s1", "s2"))
print(data)
print(summary(data))
basis <- rbf_basis(data, num.centers = 16, seed = 1)
print(basis)

f <- file.path(out, "states-by-subgroup.png")
grDevices::png(f, width = 900, height = 700, res = 120)
cols <- c(a = "#1b9e77", b = "#d95f02", c = "#7570b3")
grp <- sim$group[as.character(data$ids[data$individual])]
plot(data$S, col = grDevices::adjustcolor(cols[as.character(grp)], 0.35), pch = 16, cex = 0.5,
     xlab = "s1", ylab = "s2", main = "States of the 2-D simulator by subgroup",
     xlim = c(-6, 6), ylim = c(-6, 6))
ctr <- sweep(sweep(basis$centers, 2, basis$scale, "*"), 2, basis$shift, "+")
points(ctr, pch = 4, lwd = 2, cex = 1.4)
legend("topright", c(paste("subgroup", names(cols)), "RBF centres"), pch = c(16, 16, 16, 4),
       col = c(cols, "black"), bty = "n")
grDevices::dev.off()
cat("wrote", f, "\n")

# P4L on the same data: K = 3 subgroups, default tuning.
fit <- p4l(data, K = 3, basis = basis, seed = 1)
print(fit)
print(summary(fit))
cat("\nClusters vs true subgroups:\n")
print(table(cluster = fit$cluster, subgroup = sim$group[names(fit$cluster)]))
for (type in c("convergence", "latent", "policy")) {
  f <- file.path(out, paste0("p4l-", type, ".png"))
  grDevices::png(f, width = 1000, height = if (type == "policy") 1300 else 800, res = 120)
  plot(fit, type)
  grDevices::dev.off()
  cat("wrote", f, "\n")
}

# Monte Carlo value of each individual's learned policy in its own
# environment, averaged by subgroup, next to the behaviour policy's.
behaviour <- uniform_policy(data$action.levels, data$state.names)
cmp <- compare_policies(list(P4L = fit), sim$env, num.episodes = 500, seed = 1,
                        behaviour = behaviour, groups = sim$group)
tab <- with(cmp, tapply(value, list(subgroup, method), mean))
tab <- cbind(tab, optimum = linear2d_optimum()$value)
cat("\nValue by subgroup (discounted return, horizon 50, gamma 0.8):\n")
print(round(tab, 3))
