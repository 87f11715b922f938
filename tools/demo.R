# make demo: simulate the paper's 2-D heterogeneous data, build the RBF basis,
# fit the available methods and write figures to the output directory.
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

if (exists("p4l", asNamespace("p4l"), inherits = FALSE)) {
  source(system.file("demo-fit.R", package = "p4l"), local = TRUE)
}
