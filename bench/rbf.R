# Benchmark: rbf_basis() + predict() on 10^6 states x 4 dimensions, 64 centres,
# num.threads 1 and 2. Run: Rscript bench/rbf.R   (after `make install`)
suppressPackageStartupMessages(library(p4l))
set.seed(1)
n <- 1e6
x <- matrix(rnorm(n * 4), n, 4, dimnames = list(NULL, paste0("x", 1:4)))
res <- NULL
for (nt in c(1, 2)) {
  t.fit <- system.time(b <- rbf_basis(x, num.centers = 64, seed = 1, num.threads = nt))[["elapsed"]]
  t.pred <- system.time(f <- predict(b, x, num.threads = nt))[["elapsed"]]
  res <- rbind(res, data.frame(num.threads = nt, fit.seconds = t.fit, predict.seconds = t.pred,
                               withinss = b$withinss))
}
print(res, row.names = FALSE)
stopifnot(identical(res$withinss[1], res$withinss[2]))
