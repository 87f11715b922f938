// K-means; see kmeans.h.
#include "kmeans.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "rng.h"
#include "runtime.h"

namespace p4l {
namespace {

// Inner loops run on the runtime's threads only when the caller is not
// itself inside a parallel region (the seeded driver's restarts run in parallel).
void maybe_parallel(bool par, std::size_t n, const RangeFn& fn) {
  if (par) {
    runtime().parallel_for(n, fn);
  } else if (n > 0) {
    fn(0, n);
  }
}

// Assignment step by blocked matrix products: squared distance of every row of
// x to its nearest centre (||x||^2 + ||c||^2 - 2 x'c); fills cluster and dist2,
// returns their sum. Blocks have a fixed size, so the result does not depend
// on the threads.
double assign_blocked(const Eigen::MatrixXd& x, const Eigen::MatrixXd& centers,
                      Eigen::VectorXi& cluster, Eigen::VectorXd& dist2, bool par) {
  const long n = x.rows();
  const long block = 1024;
  const long num_blocks = (n + block - 1) / block;
  const Eigen::VectorXd cnorm = centers.rowwise().squaredNorm();
  cluster.resize(n);
  dist2.resize(n);
  maybe_parallel(par, num_blocks, [&](std::size_t bb, std::size_t be) {
    Eigen::MatrixXd g;
    for (std::size_t blk = bb; blk < be; ++blk) {
      const long r0 = static_cast<long>(blk) * block;
      const long len = std::min(block, n - r0);
      // k x len: column i holds the inner products of point r0 + i with the centres.
      g.noalias() = centers * x.middleRows(r0, len).transpose();
      g = (-2.0 * g).colwise() + cnorm;
      for (long i = 0; i < len; ++i) {
        const double xn = x.row(r0 + i).squaredNorm();
        Eigen::Index arg = 0;
        const double best = g.col(i).minCoeff(&arg);
        cluster(r0 + i) = static_cast<int>(arg);
        dist2(r0 + i) = std::max(best + xn, 0.0);
      }
    }
  });
  // Fixed-order reduction: identical for any number of threads.
  double total = 0.0;
  for (long i = 0; i < n; ++i) total += dist2(i);
  return total;
}

// Assignment step by direct differences ||x_i - c_k||^2 (ties to the lowest
// k); fills dist2, updates cluster and returns whether any label changed.
bool assign_direct(const Eigen::MatrixXd& x, const Eigen::MatrixXd& centers,
                   Eigen::VectorXi& cluster, Eigen::VectorXd& dist2) {
  const Eigen::Index n = x.rows(), k = centers.rows();
  bool changed = false;
  for (Eigen::Index i = 0; i < n; ++i) {
    int best = 0;
    double bd = std::numeric_limits<double>::infinity();
    for (Eigen::Index j = 0; j < k; ++j) {
      const double dd = (x.row(i) - centers.row(j)).squaredNorm();
      if (dd < bd) {
        bd = dd;
        best = static_cast<int>(j);
      }
    }
    dist2(i) = bd;
    if (cluster(i) != best) {
      cluster(i) = best;
      changed = true;
    }
  }
  return changed;
}

// Update step: every centre moves to the mean of its points; an empty cluster
// takes the point farthest from its centre (dist2 of that point is then 0).
void update_centres(const Eigen::MatrixXd& x, const Eigen::VectorXi& cluster,
                    Eigen::VectorXd& dist2, Eigen::MatrixXd& centers) {
  const long n = x.rows();
  const int k = static_cast<int>(centers.rows());
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, x.cols());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
  for (long i = 0; i < n; ++i) {
    sums.row(cluster(i)) += x.row(i);
    counts(cluster(i)) += 1.0;
  }
  for (int j = 0; j < k; ++j) {
    if (counts(j) > 0) {
      centers.row(j) = sums.row(j) / counts(j);
    } else {
      long far = 0;
      dist2.maxCoeff(&far);
      centers.row(j) = x.row(far);
      dist2(far) = 0.0;
    }
  }
}

// Lloyd iterations from the given centres until the relative decrease of the
// objective is at most tol (seeded driver).
KMeansResult lloyd_to_tolerance(const Eigen::MatrixXd& x, Eigen::MatrixXd centers, int max_iter,
                                double tol, bool par) {
  KMeansResult res;
  Eigen::VectorXi cluster;
  Eigen::VectorXd dist2;
  double obj = assign_blocked(x, centers, cluster, dist2, par);
  int it = 0;
  bool converged = false;
  for (; it < max_iter; ++it) {
    check_interrupt();  // any thread: a Ctrl-C on the main thread stops every restart
    update_centres(x, cluster, dist2, centers);
    const double next = assign_blocked(x, centers, cluster, dist2, par);
    const bool small = obj - next <= tol * std::max(obj, 1e-300);
    obj = next;
    if (small) {
      converged = true;
      ++it;
      break;
    }
  }
  res.centers = centers;
  res.cluster = cluster;
  res.withinss = obj;
  res.iterations = it;
  res.converged = converged;
  return res;
}

// Lloyd iterations from the given centres until no label changes (stream
// driver); withinss is recomputed directly from the final labels and centres.
KMeansResult lloyd_to_stable_labels(const Eigen::MatrixXd& x, Eigen::MatrixXd centers,
                                    int max_iter) {
  const Eigen::Index n = x.rows();
  KMeansResult res;
  Eigen::VectorXi cluster = Eigen::VectorXi::Constant(n, -1);
  Eigen::VectorXd dist2(n);
  for (int it = 0; it < max_iter; ++it) {
    ++res.iterations;
    const bool changed = assign_direct(x, centers, cluster, dist2);
    if (!changed && it > 0) {
      res.converged = true;
      break;
    }
    update_centres(x, cluster, dist2, centers);
  }
  double sse = 0;
  for (Eigen::Index i = 0; i < n; ++i) sse += (x.row(i) - centers.row(cluster(i))).squaredNorm();
  res.centers = std::move(centers);
  res.cluster = std::move(cluster);
  res.withinss = sse;
  return res;
}

// Hartigan-Wong style single-point moves after Lloyd: a point moves from
// cluster i to j when n_j/(n_j+1)||x-c_j||^2 < n_i/(n_i-1)||x-c_i||^2, which
// strictly lowers the objective; Lloyd's fixed points are often not minima of
// this kind. Serial (fixed order), so deterministic.
void hartigan(const Eigen::MatrixXd& x, KMeansResult& res, int max_pass) {
  const long n = x.rows();
  const int k = static_cast<int>(res.centers.rows());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
  for (long i = 0; i < n; ++i) counts(res.cluster(i)) += 1.0;
  for (int pass = 0; pass < max_pass; ++pass) {
    check_interrupt();
    long moves = 0;
    for (long i = 0; i < n; ++i) {
      if ((i & 4095) == 0) check_interrupt();
      const int from = res.cluster(i);
      if (counts(from) <= 1.0) continue;
      const double cost_out =
          counts(from) / (counts(from) - 1.0) * (x.row(i) - res.centers.row(from)).squaredNorm();
      int best = from;
      double best_in = cost_out;
      for (int j = 0; j < k; ++j) {
        if (j == from) continue;
        const double c =
            counts(j) / (counts(j) + 1.0) * (x.row(i) - res.centers.row(j)).squaredNorm();
        if (c < best_in) {
          best_in = c;
          best = j;
        }
      }
      if (best != from && best_in < cost_out * (1.0 - 1e-12)) {
        res.centers.row(from) =
            (res.centers.row(from) * counts(from) - x.row(i)) / (counts(from) - 1.0);
        res.centers.row(best) =
            (res.centers.row(best) * counts(best) + x.row(i)) / (counts(best) + 1.0);
        counts(from) -= 1.0;
        counts(best) += 1.0;
        res.cluster(i) = best;
        ++moves;
      }
    }
    if (moves == 0) break;
  }
  // Recompute exactly (incremental updates accumulate rounding).
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, x.cols());
  for (long i = 0; i < n; ++i) sums.row(res.cluster(i)) += x.row(i);
  double total = 0.0;
  for (int j = 0; j < k; ++j)
    if (counts(j) > 0) res.centers.row(j) = sums.row(j) / counts(j);
  for (long i = 0; i < n; ++i) total += (x.row(i) - res.centers.row(res.cluster(i))).squaredNorm();
  res.withinss = total;
}

}  // namespace

Eigen::MatrixXd kmeanspp_seed(const Eigen::MatrixXd& x, int k, std::mt19937_64& gen, bool par) {
  const long n = x.rows();
  Eigen::MatrixXd centers(k, x.cols());
  long first = static_cast<long>(unif01(gen) * n);
  if (first >= n) first = n - 1;
  centers.row(0) = x.row(first);
  Eigen::VectorXd d2(n);
  maybe_parallel(par, n, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) d2(i) = (x.row(i) - centers.row(0)).squaredNorm();
  });
  for (int j = 1; j < k; ++j) {
    check_interrupt();
    double total = 0.0;
    for (long i = 0; i < n; ++i) total += d2(i);
    long pick = n - 1;
    if (total > 0) {
      // unif01 > 0, so the first index reaching the target has d2 > 0
      const double target = unif01(gen) * total;
      double acc = 0.0;
      for (long i = 0; i < n; ++i) {
        acc += d2(i);
        if (acc >= target) {
          pick = i;
          break;
        }
      }
    } else {
      pick = static_cast<long>(unif01(gen) * n);
      if (pick >= n) pick = n - 1;
    }
    centers.row(j) = x.row(pick);
    maybe_parallel(par, n, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i)
        d2(i) = std::min(d2(i), (x.row(i) - centers.row(j)).squaredNorm());
    });
  }
  return centers;
}

KMeansResult kmeans(const Eigen::MatrixXd& x, int k, const KMeansOptions& opt, std::uint64_t seed) {
  const long n = x.rows();
  if (k < 1 || k > n) throw std::invalid_argument("number of centres must be in [1, n]");
  std::mt19937_64 gen = make_stream(seed, 1);
  const bool sub = opt.sample_size > 0 && n > opt.sample_size;
  Eigen::MatrixXd xs;
  if (sub) {
    std::vector<long> idx = sorted_subsample(n, opt.sample_size, gen);
    xs.resize(static_cast<long>(idx.size()), x.cols());
    for (std::size_t i = 0; i < idx.size(); ++i) xs.row(i) = x.row(idx[i]);
  }
  const Eigen::MatrixXd& xw = sub ? xs : x;
  // Restarts run in parallel, each serially and from its own random stream
  // (seed, 3, start), so the result does not depend on the number of threads;
  // ties go to the lowest start.
  const int starts = std::max(1, opt.num_starts);
  std::vector<KMeansResult> runs(starts);
  check_interrupt();
  runtime().parallel_for(starts, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      std::mt19937_64 g = make_stream(seed, 3, s);
      Eigen::MatrixXd init = kmeanspp_seed(xw, k, g, false);
      runs[s] = lloyd_to_tolerance(xw, init, opt.max_iter, opt.tol, false);
      hartigan(xw, runs[s], 20);
    }
  });
  KMeansResult best = runs[0];
  for (int s = 1; s < starts; ++s)
    if (runs[s].withinss < best.withinss) best = runs[s];
  if (sub) best = lloyd_to_tolerance(x, best.centers, opt.max_iter, opt.tol, true);
  return best;
}

KMeansResult kmeans(const Eigen::MatrixXd& x, int k, const KMeansOptions& opt, std::mt19937_64& rng,
                    const Eigen::MatrixXd* warm) {
  const Eigen::Index n = x.rows(), q = x.cols();
  if (k < 1 || k > n) throw std::invalid_argument("p4l: K must be in [1, N]");
  const int max_iter = std::max(1, opt.max_iter);
  KMeansResult best;
  best.withinss = std::numeric_limits<double>::infinity();
  auto consider = [&](Eigen::MatrixXd centers) {
    KMeansResult run = lloyd_to_stable_labels(x, std::move(centers), max_iter);
    if (run.withinss < best.withinss) best = std::move(run);
  };
  if (warm && warm->rows() == k && warm->cols() == q && warm->allFinite()) consider(*warm);
  for (int s = 0; s < std::max(1, opt.num_starts); ++s) consider(kmeanspp_seed(x, k, rng));
  return best;
}

}  // namespace p4l
