# Benchmark: rbf_basis() + predict() on 10^6 states x 4 dimensions (standard
# normal, seed 1), 64 centres, num.threads 1 and 2 (best of `reps` interleaved
# runs); and the reference: Lloyd's
# algorithm from one K-means++ start on all 10^6 (scaled) states, run to
# convergence (relative change of the objective below 1e-7, at most 10,000
# iterations). Run: R_LIBS=<lib> Rscript bench/rbf.R [n] [reps] [out.csv]
# out.csv (optional): also write the table to a CSV (bench/run-targets.R).
suppressPackageStartupMessages(library(p4l))
args <- commandArgs(TRUE)
n <- if (length(args) >= 1) as.numeric(args[1]) else 1e6
reps <- if (length(args) >= 2) as.integer(args[2]) else 3L
out.csv <- if (length(args) >= 3) args[3] else ""
set.seed(1)
x <- matrix(rnorm(n * 4), n, 4, dimnames = list(NULL, paste0("x", 1:4)))
# Interleaved runs (1 thread, 2 threads, ...) and the fastest of each: this
# VM's speed drifts by up to 40% between minutes (bench/README.md, "Measuring
# the thread ratio").
t.fit <- t.pred <- matrix(NA_real_, reps, 2)
for (r in seq_len(reps)) for (nt in c(1, 2)) {
  t.fit[r, nt] <- system.time(b <- rbf_basis(x, num.centers = 64, seed = 1,
                                             num.threads = nt))[["elapsed"]]
  t.pred[r, nt] <- system.time(f <- predict(b, x, num.threads = nt))[["elapsed"]]
  if (nt == 1) w1 <- b$withinss else w2 <- b$withinss
}
res <- data.frame(num.threads = c(1, 2), fit.seconds = apply(t.fit, 2, min),
                  predict.seconds = apply(t.pred, 2, min), withinss = c(w1, w2))
z <- scale(x)
t.full <- system.time(full <- p4l:::rbf_kmeans_cpp(z, 64L, 1L, 10000L, n + 1, n + 1, 1, 2L))
cat(sprintf("best of %d interleaved runs; full Lloyd (2 threads): %.1f s, %d iterations, withinss %.1f\n",
            reps, t.full[["elapsed"]], full$iterations, full$withinss))
res$vs.full.lloyd <- sprintf("%+.2f%%", 100 * (res$withinss / full$withinss - 1))
print(res, row.names = FALSE)
if (nzchar(out.csv)) {
  utils::write.csv(data.frame(n = n, reps = reps,
                              res[c("num.threads", "fit.seconds", "predict.seconds", "withinss")],
                              vs.full.pct = 100 * (res$withinss / full$withinss - 1),
                              full.seconds = t.full[["elapsed"]],
                              full.iterations = full$iterations, full.withinss = full$withinss),
                   out.csv, row.names = FALSE)
}
stopifnot(identical(res$withinss[1], res$withinss[2]))
