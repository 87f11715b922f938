# p4l_assign(): policies for individuals not in the training data.

# A small 2-D study, four per subgroup held out one each; fitted once per file.
newind_setup <- local({
  cache <- NULL
  function() {
    if (!is.null(cache)) return(cache)
    sim <- sim_linear2d(num.per.group = 6, T = 60, seed = 11)
    d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"))
    grp <- sim$group
    held <- c(1, 7, 13)  # one of each subgroup
    train <- subset(d, ids = setdiff(d$ids, held))
    fit <- suppressWarnings(p4l(train, K = 3, seed = 1, num.threads = 1))
    cache <<- list(sim = sim, d = d, grp = grp, held = held, train = train, fit = fit)
    cache
  }
})

# Majority cluster of each planted subgroup among the training individuals.
planted <- function(fit, grp) {
  g <- as.character(grp[as.character(fit$ids)])
  c(tapply(fit$cluster, g, function(v) as.integer(names(which.max(table(v))))))
}

test_that("subset(max.transitions = ) keeps the first transitions of the chosen ids", {
  s <- newind_setup()
  sub <- subset(s$d, ids = c(13, 1), max.transitions = 5)
  expect_equal(sub$ids, c(1, 13))
  expect_equal(sub$num.transitions, c(5L, 5L))
  rows <- c(which(s$d$individual == 1)[1:5], which(s$d$individual == 13)[1:5])
  expect_equal(sub$S, s$d$S[rows, , drop = FALSE])
  expect_equal(sub$R, s$d$R[rows])
  expect_equal(sub$individual, rep(1:2, each = 5))
  expect_error(subset(s$d, ids = 999), "not in `x`")
  expect_error(subset(s$d, ids = 1, max.transitions = 0), "max.transitions")
})

test_that("held-out individuals are assigned to their planted subgroup's cluster", {
  s <- newind_setup()
  pc <- planted(s$fit, s$grp)
  expect_equal(length(unique(pc)), 3L)  # the fit separates the subgroups
  asg <- p4l_assign(s$fit, subset(s$d, ids = s$held, max.transitions = 20), refine = FALSE)
  expect_s3_class(asg, "p4l_assigned")
  expect_equal(unname(asg$cluster), unname(pc[as.character(s$grp[as.character(s$held)])]))
  expect_equal(asg$assignment$rule, rep("history", 3))
  expect_equal(asg$assignment$transitions, rep(20L, 3))
  expect_equal(dim(asg$cluster.weights), c(3L, 3L))
  sm <- summary(asg)
  expect_s3_class(sm, "summary.p4l_assigned")
  expect_equal(unname(sm$cluster.counts), tabulate(asg$cluster, 3))
  expect_equal(sm$training$num.individuals, 15L)
  expect_output(print(sm), "New individuals placed by p4l_assign\\(\\): 3")
  expect_equal(unname(rowSums(asg$cluster.weights)), rep(1, 3))
  # without refinement u is the centroid of the assigned cluster
  expect_equal(unname(asg$U), unname(s$fit$centroids[asg$cluster, ]))
  # its policy coefficients are those of that latent variable
  expect_equal(unname(asg$policy.coef[[2]][, 2]),
               as.numeric(s$fit$Theta %*% asg$U[2, ]))
  ev <- evaluate_policy(asg, s$sim$env, num.episodes = 50, seed = 1, num.threads = 1)
  expect_equal(as.character(ev$id), as.character(s$held))
})

test_that("a copy of a training individual's data gets its cluster and a u near its U row", {
  s <- newind_setup()
  i <- 2L
  id <- s$train$ids[i]
  cp <- subset(s$train, ids = id)
  cp$ids <- "copy"
  asg <- p4l_assign(s$fit, cp, refine = FALSE)
  k <- s$fit$cluster[[i]]
  expect_equal(unname(asg$cluster), k)
  expect_gt(asg$assignment$weight, 0.99)
  # u is the centroid; the training U row lies within the cluster's spread
  # around its centroid (the ADMM holds each u_i near its centroid), so u is
  # no farther from U_i than the farthest member of the cluster is from it.
  members <- which(s$fit$cluster == k)
  spread <- max(sqrt(rowSums(sweep(s$fit$U[members, , drop = FALSE], 2,
                                   s$fit$centroids[k, ])^2)))
  expect_lte(sqrt(sum((asg$U[1, ] - s$fit$U[i, ])^2)), spread + 1e-10)
  # with refinement too (u stays within the prior spread of the centroid)
  asg2 <- p4l_assign(s$fit, cp)
  expect_equal(unname(asg2$cluster), k)
  expect_lte(sqrt(sum((asg2$U[1, ] - s$fit$U[i, ])^2)), 2 * spread + 1e-10)
  expect_equal(unname(asg2$U[1, 1]), 1)
})

test_that("the assignment model's one-step models match ridge regressions in R", {
  s <- newind_setup()
  fit <- s$fit
  d <- s$train
  d$terminal[seq(5, length(d$R), by = 9)] <- TRUE  # absorbing rows: next states unused
  am <- p4l:::p4l_assignment_model(fit, d, 1L)
  expect_identical(p4l:::p4l_assignment_model(fit, d, 2L)$models, am$models)
  ctr <- colMeans(d$S)
  scl <- apply(d$S, 2, sd)
  X <- cbind(1, sweep(sweep(d$S, 2, ctr), 2, scl, "/"))
  Y <- sweep(sweep(d$S_next, 2, ctr), 2, scl, "/")
  pen <- diag(c(1e-8, 1, 1))
  floor <- 0.01 * c(var(d$R), apply(Y[!d$terminal, ], 2, var))
  cl <- fit$cluster[d$individual]
  for (k in c(seq_len(fit$K), 0L)) for (a in 1:2) {
    rows <- which(d$A == a & (k == 0L | cl == k))
    md <- if (k == 0L) am$pooled[[a]] else am$models[[k]][[a]]
    B <- solve(crossprod(X[rows, ]) + pen, crossprod(X[rows, ], d$R[rows]))
    expect_equal(as.numeric(md$reward$B), as.numeric(B), tolerance = 1e-10)
    expect_equal(md$reward$var, max(mean((d$R[rows] - X[rows, ] %*% B)^2), floor[1]),
                 tolerance = 1e-10)
    rn <- rows[!d$terminal[rows]]
    Bn <- solve(crossprod(X[rn, ]) + pen, crossprod(X[rn, ], Y[rn, ]))
    expect_equal(unname(md$next.state$B), unname(Bn), tolerance = 1e-10)
    expect_equal(unname(md$next.state$var),
                 unname(pmax(colMeans((Y[rn, ] - X[rn, ] %*% Bn)^2), floor[-1])), tolerance = 1e-10)
  }
  # a cluster with fewer than two rows of an action has no model for it
  one <- subset(d, ids = d$ids[1])
  one$A[] <- 1L
  om <- p4l:::onestep_models(one, 0L, 1L, ctr, scl, floor, 1L)
  expect_null(om[[1]][[2]])
  expect_false(is.null(om[[1]][[1]]))
})

test_that("the ridge refinement solves its least-squares problem (brute force)", {
  s <- newind_setup()
  fit <- s$fit
  h <- subset(s$d, ids = 7, max.transitions = 8)
  am <- fit$assignment.model
  pieces <- p4l:::assign_pieces(fit, h, 1L)
  rows <- seq_along(h$R)
  v <- fit$centroids[2, ]
  sigma2 <- 0.3
  s2 <- 0.05
  u1 <- p4l:::refine_latent(fit, am, pieces, h, rows, v, sigma2, s2, steps = 1)
  # Reference: the Bellman residual written out from the basis, W and Theta,
  # with the policy held at v; minimised numerically.
  b <- fit$basis
  psi <- predict(b, h$S)
  psin <- predict(b, h$S_next)
  d <- ncol(psi)
  Wa <- function(a) fit$W[(a - 1) * d + 1:d, ]
  pi.v <- exp(cbind(0, psin %*% matrix(fit$Theta %*% v, d, 1)))
  pi.v <- pi.v / rowSums(pi.v)
  obj <- function(free) {
    u <- c(1, free)
    q.now <- vapply(seq_along(h$R), function(t) sum(psi[t, ] * (Wa(h$A[t]) %*% u)), 0)
    q.next <- pi.v[, 1] * (psin %*% Wa(1) %*% u) + pi.v[, 2] * (psin %*% Wa(2) %*% u)
    e <- h$R + 0.8 * as.numeric(q.next) - q.now
    sum(e^2) / sigma2 + sum((free - v[-1])^2) / s2
  }
  ref <- stats::optim(v[-1], obj, method = "BFGS", control = list(reltol = 1e-14, maxit = 1000))
  expect_near(u1[-1], ref$par, 1e-4)
  expect_lte(obj(u1[-1]), ref$value + 1e-8)
})

test_that("the population policy is the policy at the mean latent variable", {
  s <- newind_setup()
  pop <- p4l_assign(s$fit, data.frame(id = c("x", "y")), new.individuals = "population")
  expect_equal(pop$assignment$rule, c("population", "population"))
  ubar <- colMeans(s$fit$U)
  expect_equal(unname(pop$U[2, ]), unname(ubar))
  # by hand: logits psi' Theta_a ubar, first action 0
  x <- data.frame(id = "x", s1 = c(0.3, -1), s2 = c(1, 0.2))
  psi <- predict(s$fit$basis, as.matrix(x[, c("s1", "s2")]))
  lg <- cbind(0, psi %*% (s$fit$Theta %*% ubar))
  pr <- exp(lg) / rowSums(exp(lg))
  pop$greedy <- FALSE
  expect_equal(unname(predict(pop, x, type = "prob")), unname(pr))
  expect_equal(unname(pop$cluster.weights[1, ]), tabulate(s$fit$cluster, 3) / 15)
  # placing further individuals from a result of p4l_assign() uses the
  # training population, not the new individuals
  again <- p4l_assign(p4l_assign(s$fit, subset(s$d, ids = 7)), data.frame(id = "w"),
                      new.individuals = "population")
  expect_equal(unname(again$U[1, ]), unname(ubar))
  # the fit has no baseline covariates: "auto" is the population rule
  auto <- p4l_assign(s$fit, data.frame(id = "z"))
  expect_equal(auto$assignment$rule, "population")
})

test_that("predict() serves a mixture of training and new ids, and type = 'cluster'", {
  s <- newind_setup()
  nd <- s$sim$data[s$sim$data$id %in% c(2, 7) & s$sim$data$time <= 20, ]
  expect_message(a <- predict(s$fit, nd, type = "prob"), "not in the training data")
  expect_silent(a2 <- predict(s$fit, nd, type = "prob", quiet = TRUE))
  expect_equal(a, a2)
  tr <- nd$id == 2
  expect_equal(a[tr, ], predict(s$fit, nd[tr, ], type = "prob"))
  asg <- p4l_assign(s$fit, nd[!tr, ])
  expect_equal(asg$assignment$transitions, 20L)
  expect_equal(a[!tr, ], predict(asg, nd[!tr, ], type = "prob"))
  cl <- predict(s$fit, nd, type = "cluster", quiet = TRUE)
  expect_equal(names(cl), c("id", "cluster", "weight"))
  expect_equal(cl$cluster[tr], rep(s$fit$cluster[["2"]], sum(tr)))
  expect_equal(cl$weight[tr], rep(1, sum(tr)))
  expect_equal(cl$cluster[!tr], rep(asg$assignment$cluster, sum(!tr)))
  expect_equal(cl$weight[!tr], rep(asg$assignment$weight, sum(!tr)))
  # states only (no time/action/reward): the no-history rule
  st <- data.frame(id = 7, s1 = 0, s2 = 1)
  expect_message(predict(s$fit, st), "population")
  # other individual methods keep the error, with a clear message
  fq <- fqi(s$train, seed = 1)
  ind <- fq  # an individual (one slot per id) policy of another method
  ind$policy.coef <- rep(fq$policy.coef, length(fq$ids))
  ind$slot <- stats::setNames(seq_along(fq$ids), as.character(fq$ids))
  expect_error(predict(ind, st), "Only P4L fits")
})

test_that("as.data.frame() gives one row per individual; values average to fit$value", {
  s <- newind_setup()
  df <- as.data.frame(s$fit)
  expect_equal(nrow(df), length(s$fit$ids))
  expect_equal(names(df), c("id", "cluster", "weight", "u1", "u2", "u3", "value"))
  expect_equal(df$weight, rep(1, nrow(df)))
  expect_equal(as.matrix(df[, c("u1", "u2", "u3")]), unname(s$fit$U), ignore_attr = TRUE)
  # the worst-case Q at the fitted U over all initial states: its mean is the
  # pessimistic value of the fit (15 individuals < max.initial: all states used)
  expect_near(mean(df$value), s$fit$value, 1e-6)
  asg <- p4l_assign(s$fit, subset(s$d, ids = s$held, max.transitions = 5))
  da <- as.data.frame(asg)
  expect_equal(da$rule, rep("history", 3))
  expect_equal(da$weight, asg$assignment$weight)
})

test_that("baseline-only assignment follows a planted baseline -> cluster relation", {
  sim <- sim_linear2d(num.per.group = 6, T = 60, seed = 11)
  code <- c(a = 0, b = 5, c = 10)
  set.seed(3)
  marker <- code[as.character(sim$group)] + stats::rnorm(length(sim$group), sd = 0.5)
  sim$data$marker <- marker[match(sim$data$id, as.numeric(names(sim$group)))]
  d <- p4l_data(sim$data, "id", "time", "action", "reward", c("s1", "s2"), baseline = "marker")
  fit <- suppressWarnings(p4l(d, K = 3, seed = 1, num.threads = 1))
  pc <- planted(fit, sim$group)
  expect_equal(length(unique(pc)), 3L)
  nd <- data.frame(id = c("n1", "n2", "n3"), marker = c(10.2, -0.3, 4.8))
  asg <- p4l_assign(fit, nd)
  expect_equal(asg$assignment$rule, rep("baseline", 3))
  expect_equal(unname(asg$cluster), unname(pc[c("c", "a", "b")]))
  expect_true(all(asg$assignment$weight > 0.8))
  expect_equal(unname(asg$U), unname(fit$centroids[asg$cluster, ]))
  # population rule on request
  expect_equal(p4l_assign(fit, nd, new.individuals = "population")$assignment$rule,
               rep("population", 3))
  # baseline asked of newdata without the column
  expect_error(p4l_assign(fit, data.frame(id = "n4"), new.individuals = "baseline"),
               "baseline column")
})

test_that("clear errors for unusable newdata and requests", {
  s <- newind_setup()
  nd <- s$sim$data[s$sim$data$id == 7 & s$sim$data$time <= 5, ]
  expect_error(p4l_assign(s$fit, nd[, setdiff(names(nd), "s2")]), "'s2'")
  bad <- nd
  bad$action[1] <- 2
  expect_error(p4l_assign(s$fit, bad), "action\\(s\\) 2")
  expect_error(p4l_assign(s$fit, data.frame(id = "x"), new.individuals = "baseline"),
               "this fit has none")
  expect_error(p4l_assign(s$fit, data.frame(x = 1)), "id column 'id'")
  expect_error(p4l_assign(fqi(s$train, seed = 1), nd), "P4L fit")
  expect_error(p4l_assign(s$fit, nd, likelihood = "nope"), "likelihood")
})

test_that("policy_value() places individuals the fit has not seen once, from their data", {
  s <- newind_setup()
  ho <- subset(s$d, ids = s$held)
  b <- default_basis(ho, seed = 3)
  unif <- uniform_policy(c(0, 1), c("s1", "s2"))
  expect_message(v <- policy_value(s$fit, ho, method = c("fqe", "dr"), basis = b,
                                   behaviour = unif, num.boot = 20, seed = 2),
                 "3 individual\\(s\\) .* placed once by p4l_assign\\(\\)")
  expect_equal(attr(v, "diagnostics")$new.individuals, 3L)
  # the same as evaluating the policy p4l_assign() gives them from all their data
  asg <- p4l_assign(s$fit, ho)
  v2 <- policy_value(asg, ho, method = c("fqe", "dr"), basis = b, behaviour = unif,
                     num.boot = 20, seed = 2)
  expect_equal(as.data.frame(v), as.data.frame(v2))
  expect_equal(attr(v2, "diagnostics")$new.individuals, 0L)
  # FQE by hand: LSTD-Q with the assigned policies at the next states
  fq <- suppressMessages(policy_value(s$fit, ho, basis = b, q.groups = "pooled", num.boot = 0,
                                      bounded = FALSE, ridge = 1e-3, seed = 2))
  psi <- predict(b, ho$S); psin <- predict(b, ho$S_next)
  ids <- ho$ids[ho$individual]
  P <- predict(asg, data.frame(id = ids, s1 = ho$S_next[, 1], s2 = ho$S_next[, 2]),
               type = "prob")
  Phi <- cbind(psi * (ho$A == 1), psi * (ho$A == 2))
  Phib <- cbind(psin * P[, 1], psin * P[, 2])
  w <- solve(crossprod(Phi, Phi - 0.8 * Phib) + diag(1e-3 * nrow(Phi), ncol(Phi)),
             crossprod(Phi, ho$R))
  first <- !duplicated(ho$individual)
  P0 <- predict(asg, data.frame(id = ids[first], s1 = ho$S[first, 1], s2 = ho$S[first, 2]),
                type = "prob")
  q0 <- cbind(psi[first, ] %*% w[seq_len(ncol(psi))], psi[first, ] %*% w[-seq_len(ncol(psi))])
  expect_equal(fq$estimate, mean(rowSums(P0 * q0)), tolerance = 1e-8)
})

test_that("policy_value()'s default basis grows with the transitions within its bounds", {
  nb <- function(n.ind, T, m = 2) {
    set.seed(1)
    df <- data.frame(id = rep(seq_len(n.ind), each = T), time = rep(seq_len(T), n.ind),
                     action = sample(seq_len(m), n.ind * T, TRUE), reward = rnorm(n.ind * T),
                     s1 = rnorm(n.ind * T), s2 = rnorm(n.ind * T))
    d <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2"), last = "drop")
    basis_dim(p4l:::value_basis(NULL, d, seed = 1, num.threads = 1)) - 1L
  }
  expect_equal(nb(10, 40), 16L)     # 390 transitions: the floor
  expect_equal(nb(20, 101), 40L)    # 2000 transitions: one centre per 50
  expect_equal(nb(60, 101), 64L)    # 6000: the ceiling
  # 1000 individuals x 8 actions: the bootstrap's statistics cap it at
  # N (m (k + 1))^2 <= 2^25, i.e. k = 21
  expect_equal(nb(1000, 5, m = 8), 21L)
  kk <- 21L
  expect_lte(1000 * (8 * (kk + 1))^2, 2^25)
  expect_gt(1000 * (8 * (kk + 2))^2, 2^25)
})

test_that("policy_value()'s default basis narrows the median bandwidth as centres are added", {
  set.seed(2)
  n.ind <- 60; T <- 101
  df <- data.frame(id = rep(seq_len(n.ind), each = T), time = rep(seq_len(T), n.ind),
                   action = sample(1:2, n.ind * T, TRUE), reward = rnorm(n.ind * T),
                   s1 = rnorm(n.ind * T), s2 = rnorm(n.ind * T), s3 = rnorm(n.ind * T))
  d <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2", "s3"), last = "drop")
  vb <- p4l:::value_basis(NULL, d, seed = 3, num.threads = 1)
  ref <- rbf_basis(d, num.centers = 64, seed = 3)  # the median rule, same centres
  expect_equal(vb$centers, ref$centers)
  # 64 centres in 3 dimensions: (16 / 64)^(1/3) of the median distance
  expect_equal(vb$bandwidth, ref$bandwidth * 0.25^(1 / 3), tolerance = 1e-12)
  # 16 centres (few transitions): the median rule unchanged
  d16 <- subset(d, ids = 1:5)
  expect_equal(p4l:::value_basis(NULL, d16, seed = 3, num.threads = 1)$bandwidth,
               rbf_basis(d16, num.centers = 16, seed = 3)$bandwidth)
  # only the RBF columns count, in a basis with indicator columns too
  df$site <- factor(rep(rep(c("a", "b", "c"), length.out = n.ind), each = T))
  dm <- p4l_data(df, "id", "time", "action", "reward", c("s1", "s2", "site"), last = "drop")
  vm <- p4l:::value_basis(NULL, dm, seed = 3, num.threads = 1)
  rb <- Filter(function(p) inherits(p, "rbf_basis"), vm$parts)[[1]]
  refm <- rbf_basis(dm, num.centers = nrow(rb$centers), seed = 3, columns = c("s1", "s2"))
  expect_equal(rb$bandwidth, refm$bandwidth * (16 / nrow(rb$centers))^(1 / 2), tolerance = 1e-12)
})

test_that("the C++ Bellman residuals match the formula, with terminal rows and 3 actions", {
  set.seed(3)
  n <- 40; d <- 4; m <- 3; r <- 2
  psi <- cbind(1, matrix(rnorm(n * (d - 1)), n))
  psin <- cbind(1, matrix(rnorm(n * (d - 1)), n))
  term <- rep(c(FALSE, FALSE, FALSE, TRUE), n / 4)
  psin[term, ] <- NA  # never read
  A <- rep_len(c(1L, 3L, 2L), n)
  R <- rnorm(n)
  W <- matrix(rnorm(m * d * r), m * d, r)
  Th <- matrix(rnorm((m - 1) * d * r), (m - 1) * d, r)
  u.pol <- c(1, 0.7); u <- c(1, -0.4); gamma <- 0.9
  ref <- vapply(seq_len(n), function(t) {
    Q <- function(x, a) sum(x * (W[(a - 1) * d + seq_len(d), ] %*% u))
    e <- R[t] - Q(psi[t, ], A[t])
    if (!term[t]) {
      l <- c(0, vapply(2:m, function(a) sum(psin[t, ] * (Th[(a - 2) * d + seq_len(d), ] %*% u.pol)),
                       numeric(1)))
      p <- exp(l - max(l)) / sum(exp(l - max(l)))
      e <- e + gamma * sum(p * vapply(1:m, function(a) Q(psin[t, ], a), numeric(1)))
    }
    e
  }, numeric(1))
  rows <- c(5L, 1L, 8L, 40L, 17L)
  tr <- list(psi = psi, psi_next = psin, action = A - 1L, reward = R, terminal = as.integer(term),
             start = c(0L, as.integer(n)), num_actions = as.integer(m))
  for (th in 1:2) {
    got <- p4l:::bellman_residuals_cpp(tr, W, Th, u.pol, u, gamma, seq_len(n), th)
    expect_equal(got, ref, tolerance = 1e-12)
  }
  expect_equal(p4l:::bellman_residuals_cpp(tr, W, Th, u.pol, u, gamma, rows, 1),
               ref[rows], tolerance = 1e-12)
  expect_error(p4l:::bellman_residuals_cpp(tr, W, Th, u.pol, u, gamma, 41L, 1),
               "out of range")
  expect_error(p4l:::bellman_residuals_cpp(replace(tr, "action", list(replace(A - 1L, 2, 3L))),
                                           W, Th, u.pol, u, gamma, 1L, 1), "action out of range")
})
