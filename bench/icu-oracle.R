# How far can ANY estimator get on the stress suite's S3 data? An oracle
# analysis of sim_icu(): each subgroup's data (the true subgroup labels
# given) fitted by a tabular certainty-equivalent model (empirical
# transition frequencies per state and action), solved by value iteration
# among the actions tried at least m times in a state (with an optional
# count penalty b / sqrt(n)), the expert's action where none was; the greedy
# policy's exact value in its subgroup (the same exact evaluation as
# icu_policy_value()). "shared" also gives the atypical model the typical
# patients' transitions under actions without fluids, whose dynamics the two
# subgroups share by construction (src/core/icu.cpp), so it knows more than
# any estimator could. Also reported: the atypical optimum's discounted state
# occupancy that falls on (state, optimal action) pairs never seen in the
# atypical data (and in all data, for actions without fluids).
# Nothing here is chosen: the script has no setting that is tuned.
# Run: R_LIBS=<lib> Rscript bench/icu-oracle.R [seeds] [out.csv]
library(p4l)
args <- commandArgs(TRUE)
seeds <- if (length(args) >= 1) eval(parse(text = args[1])) else c(301, 302, 401:405)
out <- if (length(args) >= 2) args[2] else "bench/icu-oracle.csv"
gamma <- 0.99
S <- 1000L; A <- 8L
p0 <- p4l:::icu_initial_cpp()
expert <- p4l:::icu_solve("typical", 0.99)$action + 1L
labels <- p4l:::icu_action_labels()
has.fluids <- grepl("fluids", labels)
state_index <- function(D) {
  D$sofa_cardio + 5L * D$sofa_resp + 25L * D$sofa_renal +
    125L * (D$on_fluids + 2L * D$on_vaso + 4L * D$on_vent) + 1L
}
value_of <- function(act, atypical) {
  P <- matrix(0, S, A); P[cbind(seq_len(S), act)] <- 1
  sum(p0 * p4l:::icu_evaluate_cpp(list(P), as.integer(atypical), gamma, 1L))
}
# Discounted occupancy of a deterministic policy (sums to 1/(1-gamma) less absorption).
occupancy <- function(act, subgroup) {
  m <- p4l:::icu_model(subgroup)
  keep <- m$to >= 0L & m$action == act[m$from + 1L] - 1L
  Pt <- Matrix::sparseMatrix(i = m$to[keep] + 1L, j = m$from[keep] + 1L, x = m$prob[keep],
                             dims = c(S, S))
  as.numeric(Matrix::solve(Matrix::Diagonal(S) - gamma * Pt, p0))
}
# Certainty-equivalent greedy policy among actions tried >= m times.
solve_ce <- function(s, a, r, term, sp, m, b) {
  key <- (a - 1L) * S + s
  n <- matrix(tabulate(key, S * A), S, A)
  rs <- matrix(0, S, A); tr <- rowsum(r, key); rs[as.integer(rownames(tr))] <- tr
  cont <- !term
  ok <- n >= m
  V <- numeric(S)
  for (it in 1:5000) {
    EV <- matrix(0, S, A); ev <- rowsum(V[sp[cont]], key[cont])
    EV[as.integer(rownames(ev))] <- ev
    Q <- (rs + gamma * EV) / pmax(n, 1) - b / sqrt(pmax(n, 1))
    Q[!ok] <- -Inf
    Vn <- apply(Q, 1, max); Vn[!is.finite(Vn)] <- -1
    done <- max(abs(Vn - V)) < 1e-10
    V <- Vn
    if (done) break
  }
  act <- max.col(replace(Q, !ok, -1e300), ties.method = "first")
  act[rowSums(ok) == 0] <- expert[rowSums(ok) == 0]
  act
}
rows <- list()
opt.atyp <- p4l:::icu_solve("atypical", gamma)$action + 1L
occ <- occupancy(opt.atyp, "atypical")
for (seed in seeds) {
  sim <- sim_icu(1000, seed = seed)
  D <- sim$data[order(sim$data$id, sim$data$time), ]
  acted <- !is.na(D$reward)
  s <- state_index(D); a <- match(D$action, labels); sp <- c(s[-1], NA)
  grp <- as.character(sim$group[as.character(D$id)])
  # coverage of the atypical optimum
  ka <- acted & grp == "atypical"
  na <- matrix(tabulate((a[ka] - 1L) * S + s[ka], S * A), S, A)
  kp <- acted & (grp == "atypical" | !has.fluids[a])
  np <- matrix(tabulate((a[kp] - 1L) * S + s[kp], S * A), S, A)
  unseen <- sum(occ[na[cbind(seq_len(S), opt.atyp)] == 0]) / sum(occ)
  unseen.shared <- sum(occ[np[cbind(seq_len(S), opt.atyp)] == 0]) / sum(occ)
  for (sg in c("typical", "atypical")) for (shared in c(FALSE, TRUE)) {
    if (sg == "typical" && shared) next
    k <- which(acted & (grp == sg | (shared & !has.fluids[a])))
    for (m in c(1, 3, 10)) for (b in c(0, 0.1, 0.3)) {
      act <- solve_ce(s[k], a[k], D$reward[k], D$terminal[k], sp[k], m, b)
      rows[[length(rows) + 1L]] <- data.frame(
        seed = seed, subgroup = sg, shared = shared, min.count = m, penalty = b,
        value = value_of(act, sg == "atypical"),
        atypical.transitions = sum(ka), atypical.off.expert = sum(ka & a != expert[s]),
        unseen.occupancy = unseen, unseen.occupancy.shared = unseen.shared)
    }
  }
  cat("seed", seed, "done\n")
}
res <- do.call(rbind, rows)
utils::write.csv(res, out, row.names = FALSE)
opt <- icu_optimum(gamma = gamma)$values
print(opt[, c("subgroup", "optimal", "behaviour", "typical.optimal")])
agg <- aggregate(value ~ subgroup + shared + min.count + penalty, res, mean)
agg$best.seed <- aggregate(value ~ subgroup + shared + min.count + penalty, res, max)$value
print(agg[order(agg$subgroup, -agg$value), ], digits = 4)
cov <- unique(res[, c("seed", "atypical.transitions", "atypical.off.expert", "unseen.occupancy",
                      "unseen.occupancy.shared")])
print(cov, digits = 3)
