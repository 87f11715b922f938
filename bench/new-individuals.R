# New individuals (p4l issue 15, item 1): how well p4l_assign() places
# individuals held out of the training data, from their first 5, 10 and 20
# transitions, against the policy they would have got in training.
#
#   R_LIBS=/tmp/lib-newind nice Rscript bench/new-individuals.R choose  # settings
#   R_LIBS=/tmp/lib-newind nice Rscript bench/new-individuals.R report  # the table
#
# Stage "choose" (2-D seeds 101-103 for both variants, ICU seed 101) compares the likelihoods
# ("model", "bellman", "both") with and without refinement; it chose the
# defaults of p4l_assign(). Stage "report" (2-D seeds 1-10 for both
# variants, ICU seeds 1-2,
# never used to choose anything) runs the defaults and the refit including
# the held-out individuals. Writes bench/new-individuals-<stage>.csv as it goes.
#
# Optional arguments: a comma-separated list of studies (linear2d,
# linear2d-reversed, icu) and "append" (add to the csv instead of replacing it).
#
# 2-D study: sim_linear2d(num.per.group = 20, T = 100), paper's subgroups and
# the variant with subgroup c's reward reversed ("linear2d-reversed"), one held-out
# individual per subgroup, K = 3, gamma = 0.8; value = evaluate_policy() in
# the individual's own environment (discounted sum of rewards, gamma 0.8,
# horizon 50, 2000 episodes), the scale on which the optimum is about 3.58.
# ICU course: sim_icu(1000), 5 typical and 5 atypical patients held out,
# K = 2, gamma = 0.99; value = icu_policy_value() (exact, discounted sum of
# rewards at gamma 0.99, in the patient's own subgroup).
suppressMessages(library(p4l))
args <- commandArgs(trailingOnly = TRUE)
stage <- if (length(args)) args[1] else "report"
studies <- if (length(args) >= 2) strsplit(args[2], ",")[[1]] else
  c("linear2d", "linear2d-reversed", "icu")
out.file <- file.path("bench", paste0("new-individuals-", stage, ".csv"))
if (file.exists(out.file) && !(length(args) >= 3 && args[3] == "append")) file.remove(out.file)
write_rows <- function(df) {
  utils::write.table(df, out.file, sep = ",", row.names = FALSE,
                     col.names = !file.exists(out.file), append = file.exists(out.file))
}
settings <- if (stage == "choose") {
  expand.grid(likelihood = c("model", "bellman", "both"), refine = c(FALSE, TRUE),
              stringsAsFactors = FALSE)
} else data.frame(likelihood = "model", refine = TRUE)  # the defaults of p4l_assign()
lengths.T <- c(5, 10, 20)

# Cluster of each planted subgroup: the majority cluster of its training members.
planted_cluster <- function(fit, group) {
  g <- group[as.character(fit$ids)]
  tapply(fit$cluster, as.character(g), function(v) as.integer(names(which.max(table(v)))))
}

run_one <- function(study, seed) {
  t0 <- proc.time()[["elapsed"]]
  if (study %in% c("linear2d", "linear2d-reversed")) {
    g <- linear2d_groups()
    if (study == "linear2d-reversed") g["c", "reward.sign"] <- -1
    sim <- sim_linear2d(num.per.group = 20, T = 100, groups = g, seed = seed)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    K <- 3; gamma <- 0.8
    grp <- sim$group
    set.seed(seed + 1000)
    held <- unlist(lapply(split(names(grp), grp), function(v) sample(v, 1)))
    value <- function(pol, ids) {
      ev <- evaluate_policy(pol, sim$env, ids = ids, num.episodes = 2000, horizon = 50,
                            seed = seed)
      stats::setNames(ev$value, as.character(ev$id))
    }
  } else {
    sim <- sim_icu(1000, seed = seed)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", env_icu()$state.names,
                  terminal = "terminal")
    K <- 2; gamma <- 0.99
    grp <- sim$group
    set.seed(seed + 1000)
    # held-out patients with at least 5 transitions
    long <- names(grp)[d$num.transitions[match(names(grp), as.character(d$ids))] >= 5]
    held <- unlist(lapply(split(long, grp[long]), function(v) sample(v, 5)))
    value <- function(pol, ids) {
      v <- icu_policy_value(pol, subgroup = grp[as.character(ids)], ids = ids, gamma = gamma)
      stats::setNames(v$value, as.character(v$id))
    }
  }
  held.idx <- match(held, as.character(d$ids))
  held.ids <- d$ids[held.idx]
  train <- subset(d, ids = setdiff(d$ids, held.ids))
  fit <- suppressWarnings(p4l(train, K = K, gamma = gamma, seed = seed))
  pc <- planted_cluster(fit, grp)
  rows <- list()
  base <- data.frame(study = study, seed = seed, id = as.character(held.ids),
                     subgroup = as.character(grp[as.character(held.ids)]),
                     stringsAsFactors = FALSE)
  base$planted.cluster <- as.integer(pc[base$subgroup])
  if (stage == "report") {
    full <- suppressWarnings(p4l(d, K = K, gamma = gamma, seed = seed))
    v.full <- value(full, held.ids)
    pop <- p4l_assign(fit, data.frame(id = held.ids), new.individuals = "population")
    v.pop <- value(pop, held.ids)
  }
  for (s in seq_len(nrow(settings))) {
    for (nt in lengths.T) {
      hist <- subset(d, ids = held.ids, max.transitions = nt)
      asg <- p4l_assign(fit, hist, likelihood = settings$likelihood[s],
                        refine = settings$refine[s])
      r <- base
      r$likelihood <- settings$likelihood[s]
      r$refine <- settings$refine[s]
      r$max.transitions <- nt
      r$transitions <- asg$assignment$transitions
      r$cluster <- asg$assignment$cluster
      r$weight <- asg$assignment$weight
      r$correct <- r$cluster == r$planted.cluster
      r$value <- value(asg, held.ids)[r$id]
      if (stage == "report") {
        r$value.refit <- v.full[r$id]
        r$value.population <- v.pop[r$id]
      }
      rows[[length(rows) + 1L]] <- r
    }
  }
  out <- do.call(rbind, rows)
  out$fit.secs <- proc.time()[["elapsed"]] - t0
  out
}

jobs <- if (stage == "choose") {
  c(lapply(101:103, function(s) list("linear2d", s)),
    lapply(101:103, function(s) list("linear2d-reversed", s)), list(list("icu", 101)))
} else {
  c(lapply(1:10, function(s) list("linear2d", s)),
    lapply(1:10, function(s) list("linear2d-reversed", s)), lapply(1:2, function(s) list("icu", s)))
}
jobs <- Filter(function(j) j[[1]] %in% studies, jobs)
for (j in jobs) {
  res <- tryCatch(run_one(j[[1]], j[[2]]), error = function(e) {
    message("job ", j[[1]], " ", j[[2]], " failed: ", conditionMessage(e)); NULL
  })
  if (!is.null(res)) write_rows(res)
  message(j[[1]], " seed ", j[[2]], " done")
}
res <- utils::read.csv(out.file)
if (stage == "choose") {
  print(aggregate(cbind(correct, value) ~ study + likelihood + refine + max.transitions, res,
                  mean))
} else {
  res$gap <- res$value.refit - res$value
  print(aggregate(cbind(correct, value, value.refit, value.population, gap) ~ study +
                    max.transitions, res, mean))
}
