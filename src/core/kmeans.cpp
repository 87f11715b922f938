// K-means; see kmeans.h.
#include "kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "rng.h"
#include "runtime.h"

namespace p4l {
namespace {

// The passes below index x.data() as a column-major n x d array: x must be a
// whole matrix (or a map of one), not a strided block.
const Eigen::Ref<const Eigen::MatrixXd>& require_contiguous(
    const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (x.cols() > 1 && x.outerStride() != x.rows())
    throw std::invalid_argument("k-means: the points must be a contiguous matrix");
  return x;
}

// Inner loops run on the runtime's threads only when the caller is not
// itself inside a parallel region (the seeded driver's restarts run in parallel).
void maybe_parallel(bool par, std::size_t n, const RangeFn& fn) {
  if (par) {
    runtime().parallel_for(n, fn);
  } else if (n > 0) {
    fn(0, n);
  }
}

// Assignment step by direct differences ||x_i - c_k||^2 (ties to the lowest
// k); fills dist2, updates cluster and returns whether any label changed.
bool assign_direct(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& centers,
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

// The centre rule of both drivers: every centre moves to the mean of its
// points (sums / counts); an empty cluster takes the point farthest from its
// centre (dist2 of that point is then 0).
void centres_from_sums(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& sums,
                       const Eigen::VectorXd& counts, Eigen::VectorXd& dist2,
                       Eigen::MatrixXd& centers) {
  for (int j = 0; j < static_cast<int>(centers.rows()); ++j) {
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

// Update step of the stream driver (sums in point order).
void update_centres(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::VectorXi& cluster,
                    Eigen::VectorXd& dist2, Eigen::MatrixXd& centers) {
  const long n = x.rows();
  const int k = static_cast<int>(centers.rows());
  Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, x.cols());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
  for (long i = 0; i < n; ++i) {
    sums.row(cluster(i)) += x.row(i);
    counts(cluster(i)) += 1.0;
  }
  centres_from_sums(x, sums, counts, dist2, centers);
}

// Squared distances of the point pt to every centre, a coordinate at a time
// over contiguous centre columns (vectorised); the sums are taken in the
// order m = 0, 1, ..., as a point-by-centre loop would.
inline void all_sqdist(const Eigen::MatrixXd& centers, const std::vector<double>& pt,
                       Eigen::ArrayXd& dist) {
  dist = (centers.col(0).array() - pt[0]).square();
  for (long m = 1; m < centers.cols(); ++m) dist += (centers.col(m).array() - pt[m]).square();
}

// Lloyd iterations from the given centres until no label changes (stream
// driver); withinss is recomputed directly from the final labels and centres.
KMeansResult lloyd_to_stable_labels(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                    Eigen::MatrixXd centers, int max_iter) {
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
void hartigan(const Eigen::Ref<const Eigen::MatrixXd>& x, KMeansResult& res, int max_pass) {
  const long n = x.rows();
  const long d = x.cols();
  const int k = static_cast<int>(res.centers.rows());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
  for (long i = 0; i < n; ++i) counts(res.cluster(i)) += 1.0;
  // in(j) = n_j / (n_j + 1): the factor of the cost of moving a point into j.
  Eigen::ArrayXd in = counts.array() / (counts.array() + 1.0);
  Eigen::ArrayXd dist(k);
  std::vector<double> pt(d);
  const double* xd = require_contiguous(x).data();
  for (int pass = 0; pass < max_pass; ++pass) {
    check_interrupt();
    long moves = 0;
    for (long i = 0; i < n; ++i) {
      if ((i & 4095) == 0) check_interrupt();
      const int from = res.cluster(i);
      if (counts(from) <= 1.0) continue;
      // squared distances to all centres, a coordinate at a time (vectorised)
      for (long m = 0; m < d; ++m) pt[m] = xd[m * n + i];
      all_sqdist(res.centers, pt, dist);
      const double cost_out = counts(from) / (counts(from) - 1.0) * dist(from);
      int best = from;
      double best_in = cost_out;
      for (int j = 0; j < k; ++j) {
        if (j == from) continue;
        const double c = in(j)*dist(j);
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
        in(from) = counts(from) / (counts(from) + 1.0);
        in(best) = counts(best) / (counts(best) + 1.0);
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

// Points per block of the seeded driver's passes: fixed, so every sum is
// taken in the same order for any number of threads.
constexpr long kBlock = 2048;

// Lloyd iterations from the given centres until the relative decrease of the
// objective is at most tol (seeded driver), with Hamerly's (2010) bound:
// lower(i) is a lower bound on the distance of point i to every centre but
// its own, and shrinks by the largest move of another centre after each
// update. A point within max(lower(i), half the distance from its centre to
// the nearest other centre) of its centre keeps its label without looking at
// the other centres. The iterates are those of plain Lloyd (labels could
// differ only where two centres are equally near to rounding). One pass per
// iteration over the points assigns them, takes their exact squared
// distances (the objective) and accumulates the next centres' sums, block by
// block; blocks are added in a fixed order, so the result does not depend on
// the number of threads.
namespace {

// The state of lloyd_to_tolerance(): labels, Hamerly's bounds, the block sums
// of one pass, and the steps of an iteration.
class HamerlyLloyd {
 public:
  HamerlyLloyd(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd centers, bool par)
      : x_(require_contiguous(x)),
        n_(x.rows()),
        k_(static_cast<int>(centers.rows())),
        d_(x.cols()),
        num_blocks_((n_ + kBlock - 1) / kBlock),
        par_(par),
        centers_(std::move(centers)),
        cluster_(Eigen::VectorXi::Zero(n_)),
        lower_(Eigen::VectorXd::Constant(n_, -kInf)),
        dist2_(n_),
        move_(Eigen::VectorXd::Zero(k_)),
        half_(Eigen::VectorXd::Zero(k_)),
        block_sums_(static_cast<std::size_t>(num_blocks_) * k_ * d_),
        block_counts_(static_cast<std::size_t>(num_blocks_) * k_),
        block_obj_(num_blocks_) {}

  KMeansResult run(int max_iter, double tol) {
    double obj = pass();  // lower = -inf: every point is assigned by a full search
    int it = 0;
    bool converged = false;
    for (; it < max_iter; ++it) {
      check_interrupt();  // any thread: a Ctrl-C on the main thread stops every restart
      update_centres();
      update_bounds();
      const double next = pass();
      const bool small = obj - next <= tol * std::max(obj, 1e-300);
      obj = next;
      if (small) {
        converged = true;
        ++it;
        break;
      }
    }
    KMeansResult res;
    res.centers = centers_;
    res.cluster = cluster_;
    res.withinss = obj;
    res.iterations = it;
    res.converged = converged;
    return res;
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  const Eigen::Ref<const Eigen::MatrixXd>& x_;  // contiguous (outer stride = rows)
  const long n_;
  const int k_;
  const long d_, num_blocks_;
  const bool par_;
  Eigen::MatrixXd centers_, old_;
  Eigen::VectorXi cluster_;
  Eigen::VectorXd lower_, dist2_, move_, half_;
  int far1_ = 0;        // the centre that moved most
  double move2_ = 0.0;  // the largest move of a centre other than far1_
  std::vector<double> block_sums_, block_counts_, block_obj_;

  // The pass: labels, exact squared distances and block sums at centers_;
  // returns the objective (block objectives added in block order).
  double pass() {
    maybe_parallel(par_, num_blocks_, [&](std::size_t bb, std::size_t be) {
      std::vector<double> pt(d_);
      Eigen::ArrayXd dist(k_);
      for (std::size_t blk = bb; blk < be; ++blk) pass_block(static_cast<long>(blk), pt, dist);
    });
    double total = 0.0;
    for (double v : block_obj_) total += v;
    return total;
  }

  void pass_block(long blk, std::vector<double>& pt, Eigen::ArrayXd& dist) {
    const double* xd = x_.data();
    const double* cd = centers_.data();  // k x d, column-major
    const long r0 = blk * kBlock, r1 = std::min(n_, r0 + kBlock);
    double* sums = block_sums_.data() + blk * k_ * d_;
    double* counts = block_counts_.data() + blk * k_;
    std::fill(sums, sums + k_ * d_, 0.0);
    std::fill(counts, counts + k_, 0.0);
    double obj = 0.0;
    for (long i = r0; i < r1; ++i) {
      for (long m = 0; m < d_; ++m) pt[m] = xd[m * n_ + i];
      int a = cluster_(i);
      lower_(i) -= a == far1_ ? move2_ : move_(far1_);
      double dsq = 0.0;
      for (long m = 0; m < d_; ++m) {
        const double diff = pt[m] - cd[m * k_ + a];
        dsq += diff * diff;
      }
      const double bound = std::max(half_(a), lower_(i));
      if (!(bound > 0.0 && dsq <= bound * bound)) {
        all_sqdist(centers_, pt, dist);  // the same sums as above
        double b1 = kInf, b2 = kInf;
        int a1 = 0;
        for (int j = 0; j < k_; ++j) {
          const double v = dist(j);
          if (v < b1) {
            b2 = b1;
            b1 = v;
            a1 = j;
          } else if (v < b2) {
            b2 = v;
          }
        }
        a = a1;
        cluster_(i) = a1;
        dsq = b1;
        lower_(i) = std::sqrt(b2);
      }
      dist2_(i) = dsq;
      obj += dsq;
      double* s = sums + static_cast<long>(a) * d_;
      for (long m = 0; m < d_; ++m) s[m] += pt[m];
      counts[a] += 1.0;
    }
    block_obj_[blk] = obj;
  }

  // Update (centres_from_sums) from the block sums, added in block order.
  void update_centres() {
    Eigen::MatrixXd total = Eigen::MatrixXd::Zero(k_, d_);
    Eigen::VectorXd count = Eigen::VectorXd::Zero(k_);
    for (long blk = 0; blk < num_blocks_; ++blk) {
      const double* sums = block_sums_.data() + blk * k_ * d_;
      const double* counts = block_counts_.data() + blk * k_;
      for (int j = 0; j < k_; ++j) {
        for (long m = 0; m < d_; ++m) total(j, m) += sums[j * d_ + m];
        count(j) += counts[j];
      }
    }
    old_ = centers_;
    centres_from_sums(x_, total, count, dist2_, centers_);
  }

  // The centres' moves (far1_, move2_) and half the distance from each centre
  // to its nearest other centre.
  void update_bounds() {
    far1_ = 0;
    for (int j = 0; j < k_; ++j) {
      move_(j) = (centers_.row(j) - old_.row(j)).norm();
      if (move_(j) > move_(far1_)) far1_ = j;
    }
    move2_ = 0.0;
    for (int j = 0; j < k_; ++j)
      if (j != far1_) move2_ = std::max(move2_, move_(j));
    for (int j = 0; j < k_; ++j) {
      double nearest = kInf;
      for (int l = 0; l < k_; ++l)
        if (l != j) nearest = std::min(nearest, (centers_.row(j) - centers_.row(l)).squaredNorm());
      half_(j) = 0.5 * std::sqrt(nearest);
    }
  }
};

}  // namespace

KMeansResult lloyd_to_tolerance(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd centers,
                                int max_iter, double tol, bool par) {
  return HamerlyLloyd(x, std::move(centers), par).run(max_iter, tol);
}

Eigen::MatrixXd kmeanspp_seed(const Eigen::Ref<const Eigen::MatrixXd>& x, int k,
                              std::mt19937_64& gen, bool par) {
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

KMeansResult kmeans(const Eigen::Ref<const Eigen::MatrixXd>& x, int k, const KMeansOptions& opt,
                    std::uint64_t seed) {
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
  const Eigen::Ref<const Eigen::MatrixXd> xw = sub ? Eigen::Ref<const Eigen::MatrixXd>(xs) : x;
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
  if (sub) {
    if (opt.refine_size > 0 && n > opt.refine_size) {
      // Lloyd on a larger subsample (drawn after the first, from the same
      // stream), then one assignment of all points: labels and withinss are
      // those of all points.
      std::vector<long> idx = sorted_subsample(n, opt.refine_size, gen);
      Eigen::MatrixXd xr(static_cast<long>(idx.size()), x.cols());
      for (std::size_t i = 0; i < idx.size(); ++i) xr.row(i) = x.row(idx[i]);
      const KMeansResult refined =
          lloyd_to_tolerance(xr, best.centers, opt.max_iter, opt.tol, true);
      best = lloyd_to_tolerance(x, refined.centers, 0, opt.tol, true);
      best.iterations = refined.iterations;
      best.converged = refined.converged;
    } else {
      best = lloyd_to_tolerance(x, best.centers, opt.max_iter, opt.tol, true);
    }
  }
  return best;
}

KMeansResult kmeans(const Eigen::Ref<const Eigen::MatrixXd>& x, int k, const KMeansOptions& opt,
                    std::mt19937_64& rng, const Eigen::MatrixXd* warm) {
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
