#include "rbf.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "rng.h"
#include "runtime.h"

namespace p4l {
namespace {

// Inner loops run on the runtime's threads only when the caller is not
// itself inside a parallel region (the restarts run in parallel).
void maybe_parallel(bool par, std::size_t n, const RangeFn& fn) {
  if (par) {
    runtime().parallel_for(n, fn);
  } else if (n > 0) {
    fn(0, n);
  }
}

// Squared distance of every row of x to its nearest centre; fills cluster.
// Distances come from blocked matrix products (||x||^2 + ||c||^2 - 2 x'c);
// blocks have a fixed size, so the result does not depend on the threads.
double assign(const Eigen::MatrixXd& x, const Eigen::MatrixXd& centers, Eigen::VectorXi& cluster,
              Eigen::VectorXd& dist2, bool par) {
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

// Lloyd iterations from the given centres (modified in place).
KMeansResult lloyd(const Eigen::MatrixXd& x, Eigen::MatrixXd centers, int max_iter, double tol,
                   bool par) {
  const long n = x.rows();
  const int k = static_cast<int>(centers.rows());
  KMeansResult res;
  Eigen::VectorXi cluster;
  Eigen::VectorXd dist2;
  double obj = assign(x, centers, cluster, dist2, par);
  int it = 0;
  bool converged = false;
  for (; it < max_iter; ++it) {
    check_interrupt();  // any thread: a Ctrl-C on the main thread stops every restart
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
        // Empty cluster: move it to the point farthest from its centre.
        long far = 0;
        dist2.maxCoeff(&far);
        centers.row(j) = x.row(far);
        dist2(far) = 0.0;
      }
    }
    const double next = assign(x, centers, cluster, dist2, par);
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

Eigen::MatrixXd kmeanspp(const Eigen::MatrixXd& x, int k, std::mt19937_64& gen, bool par) {
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

std::vector<long> sample_rows(long n, long m, std::mt19937_64& gen) {
  // Partial Fisher-Yates; sorted so the subsample keeps the data order.
  std::vector<long> idx(n);
  std::iota(idx.begin(), idx.end(), 0L);
  for (long i = 0; i < m; ++i) {
    long j = i + static_cast<long>(unif01(gen) * (n - i));
    if (j >= n) j = n - 1;
    std::swap(idx[i], idx[j]);
  }
  idx.resize(m);
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace

KMeansResult kmeans(const Eigen::MatrixXd& x, int k, const KMeansOptions& opt, std::uint64_t seed) {
  const long n = x.rows();
  if (k < 1 || k > n) throw std::invalid_argument("number of centres must be in [1, n]");
  std::mt19937_64 gen = make_stream(seed, 1);
  const bool sub = opt.sample_size > 0 && n > opt.sample_size;
  Eigen::MatrixXd xs;
  if (sub) {
    std::vector<long> idx = sample_rows(n, opt.sample_size, gen);
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
      Eigen::MatrixXd init = kmeanspp(xw, k, g, false);
      runs[s] = lloyd(xw, init, opt.max_iter, opt.tol, false);
      hartigan(xw, runs[s], 20);
    }
  });
  KMeansResult best = runs[0];
  for (int s = 1; s < starts; ++s)
    if (runs[s].withinss < best.withinss) best = runs[s];
  if (sub) best = lloyd(x, best.centers, opt.max_iter, opt.tol, true);
  return best;
}

double median_pairwise_distance(const Eigen::MatrixXd& x, long max_points, std::uint64_t seed) {
  const long n = x.rows();
  if (n < 2) throw std::invalid_argument("need at least two points for the median distance");
  std::mt19937_64 gen = make_stream(seed, 2);
  Eigen::MatrixXd xs;
  if (max_points > 1 && n > max_points) {
    std::vector<long> idx = sample_rows(n, max_points, gen);
    xs.resize(static_cast<long>(idx.size()), x.cols());
    for (std::size_t i = 0; i < idx.size(); ++i) xs.row(i) = x.row(idx[i]);
  } else {
    xs = x;
  }
  const long m = xs.rows();
  std::vector<double> d(static_cast<std::size_t>(m) * (m - 1) / 2);
  // Row i owns the slots of pairs (i, j > i): offsets are fixed, so threads never clash.
  runtime().parallel_for(m, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      std::size_t off = i * (2 * m - i - 1) / 2;
      for (long j = static_cast<long>(i) + 1; j < m; ++j) d[off++] = (xs.row(i) - xs.row(j)).norm();
    }
  });
  const std::size_t h = d.size() / 2;
  std::nth_element(d.begin(), d.begin() + h, d.end());
  double med = d[h];
  if (d.size() % 2 == 0) {
    const double lower = *std::max_element(d.begin(), d.begin() + h);
    med = 0.5 * (med + lower);
  }
  return med;
}

}  // namespace p4l
