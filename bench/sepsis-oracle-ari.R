# Development (session 19): how much of the planted subgroups of
# sim_sepsis_cohort() a stay's own blocks reveal. An oracle that knows the
# model's effect tables and the pull toward each stay's mean classifies each
# stay by the likelihood ratio of its SOFA changes under the two subgroups'
# effects (the stay's mean SOFA standing in for its mean severity); prints
# the action frequencies, the confusion table and the adjusted Rand index.
#   R_LIBS=<library> Rscript bench/sepsis-oracle-ari.R [cohort seed]
suppressPackageStartupMessages(library(p4l))
seed <- if (length(commandArgs(TRUE))) as.integer(commandArgs(TRUE)[1]) else 9001L
sim <- sim_sepsis_cohort(3000, seed = seed)
d <- sim$data; par <- sim$params
fl <- cut(d$input_4hourly, c(-Inf, 50, 180, Inf), labels = FALSE, right = FALSE)
va <- cut(d$max_dose_vaso, c(-Inf, 0.08, 0.22, Inf), labels = FALSE, right = FALSE)
print(table(fl, va) / nrow(d))
id <- d$icustayid; n <- nrow(d)
nxt <- c(id[-1] == id[-n], FALSE)
s0 <- d$SOFA[nxt]; s1 <- d$SOFA[which(nxt) + 1]; f <- fl[nxt]; v <- va[nxt]; ii <- id[nxt]
mu <- ave(d$SOFA, id)[nxt]
base <- s1 - s0 - 0.15 * (mu - s0)
ll <- function(g) -0.5 * (base - par$fluid.effect[g, f] - par$vaso.effect[g, v])^2
score <- tapply(ll(1) - ll(2), ii, sum)
truth <- sim$type[names(score)]
pred <- ifelse(score > 0, "fluid", "vaso")
print(table(truth, pred))
ari <- function(a, b) { tab <- table(a, b); n <- sum(tab); s <- function(x) sum(choose(x, 2))
  e <- s(rowSums(tab)) * s(colSums(tab)) / choose(n, 2); (s(tab) - e) / ((s(rowSums(tab)) + s(colSums(tab))) / 2 - e) }
cat("oracle ARI", ari(truth, pred), "\n")
