# Bases for discrete states: pooled fqi() at gamma = 0.99 on sim_icu() data
# with candidate bases; the exact value of each greedy policy in both
# subgroups (icu_policy_value) against the behaviour policy's.
# Seeds 401-405 only (seed 301 is the held-out benchmark of the stress suite).
# Run: R_LIBS=<lib> Rscript bench/bases-icu.R [num.patients] [seeds]
# (BASES_ICU_ONLY=1,3 keeps some candidates; BASES_ICU_OUT names the csv.)
# The joint indicator table (about 400-600 observed cells, so |A| x d x 2 >
# 6000 unknowns for P4L) was left out: too large for P4L, and slow for FQI.
library(p4l)
args <- commandArgs(TRUE)
n <- if (length(args) >= 1) as.integer(args[1]) else 1000L
seeds <- if (length(args) >= 2) eval(parse(text = args[2])) else 401:405
opt <- icu_optimum(gamma = 0.99)$values
beh <- setNames(opt$behaviour, opt$subgroup)
st <- env_icu()$state.names
sofa <- st[1:3]; flags <- st[4:6]
candidates <- list(
  "rbf16 (old default)" = function(d, s) rbf_basis(d, 16, seed = s),
  "indicator none" = function(d, s) indicator_basis(d, interactions = "none"),
  "indicator pairwise" = function(d, s) indicator_basis(d, interactions = "pairwise"),
  "product(none sofa, joint flags)" = function(d, s)
    basis_product(indicator_basis(d, sofa, "none"), indicator_basis(d, flags, "joint")),
  "sum(rbf16 sofa, none flags)" = function(d, s)
    basis_sum(rbf_basis(d, 16, seed = s, columns = sofa), indicator_basis(d, flags)),
  "product(rbf16 sofa, none flags)" = function(d, s)
    basis_product(rbf_basis(d, 16, seed = s, columns = sofa), indicator_basis(d, flags)),
  "default_basis()" = function(d, s) default_basis(d, seed = s))
only <- Sys.getenv("BASES_ICU_ONLY", "")
if (nzchar(only)) candidates <- candidates[as.integer(strsplit(only, ",")[[1]])]
out <- Sys.getenv("BASES_ICU_OUT", "bench/bases-icu.csv")
rows <- list()
for (seed in seeds) {
  sim <- sim_icu(n, seed = seed)
  d <- p4l_data(sim$data, "id", "time", "action", "reward", st, terminal = "terminal")
  for (nm in names(candidates)) {
    b <- candidates[[nm]](d, seed)
    t0 <- proc.time()[["elapsed"]]
    f <- withCallingHandlers(fqi(d, gamma = 0.99, basis = b, seed = seed),
                             warning = function(w) invokeRestart("muffleWarning"))
    el <- proc.time()[["elapsed"]] - t0
    v <- icu_policy_value(f, gamma = 0.99)
    rows[[length(rows) + 1L]] <- data.frame(
      seed = seed, basis = nm, dim = basis_dim(b), converged = f$convergence$converged,
      iterations = f$convergence$iterations, seconds = round(el, 2),
      typical = v$value[v$subgroup == "typical"], atypical = v$value[v$subgroup == "atypical"])
    cat(sprintf("seed %d  %-36s dim %4d conv %d  typical %.3f  atypical %.3f\n", seed, nm,
                basis_dim(b), f$convergence$converged, tail(rows, 1)[[1]]$typical,
                tail(rows, 1)[[1]]$atypical))
  }
}
res <- do.call(rbind, rows)
res$above.typical <- res$typical >= beh["typical"] - 1e-9
res$above.atypical <- res$atypical >= beh["atypical"] - 1e-9
cat("\nbehaviour policy: typical", round(beh["typical"], 3), " atypical", round(beh["atypical"], 3),
    "; optimum:", round(opt$optimal, 3), "\n\n")
agg <- do.call(rbind, lapply(split(res, factor(res$basis, names(candidates))), function(r)
  data.frame(basis = r$basis[1], dim = paste(range(r$dim), collapse = "-"),
             converged = sum(r$converged), typical = round(mean(r$typical), 3),
             typical.min = round(min(r$typical), 3), atypical = round(mean(r$atypical), 3),
             atypical.min = round(min(r$atypical), 3),
             both.above = sum(r$above.typical & r$above.atypical), seconds = mean(r$seconds))))
print(agg, row.names = FALSE)
write.csv(res, out, row.names = FALSE)
