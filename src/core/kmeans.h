// K-means: the one implementation behind the RBF basis' centres (rbf.h) and
// the ADMM's cluster step (p4l_solver.h). Shared pieces: the result type,
// K-means++ seeding (Arthur & Vassilvitskii 2007), the Lloyd centre update
// (an empty cluster takes the point farthest from its centre), warm starts
// and restarts. Two drivers differ only in what their callers promise:
//  - kmeans(x, k, opt, seed): independent random streams per restart (so the
//    restarts run in parallel and the result does not depend on the thread
//    count), a subsample when n is large, Lloyd until the relative change of
//    the objective is below opt.tol, then Hartigan single-point moves;
//  - kmeans(x, k, opt, rng, warm): serial, draws from the caller's stream
//    (the ADMM's), Lloyd until no label changes, the warm-start centres as an
//    extra candidate.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <random>
namespace p4l {

struct KMeansResult {
  Eigen::MatrixXd centers;  // k x d
  Eigen::VectorXi cluster;  // n, 0-based
  double withinss = 0.0;    // total within-cluster sum of squares
  int iterations = 0;       // Lloyd iterations of the retained start
  bool converged = false;   // Lloyd stopped by its rule, not by max_iter
};

struct KMeansOptions {
  int num_starts = 10;        // K-means++ restarts
  int max_iter = 100;         // Lloyd iterations per start
  double tol = 1e-7;          // relative change of withinss that stops Lloyd (seeded driver)
  long sample_size = 20000;   // seeded driver: restarts run on a subsample of this size when
                              // n is larger, then the best start is polished by Lloyd on all points
  long refine_size = 200000;  // seeded driver: ... or, when n is larger than this, by Lloyd on a
                              // subsample of this size, after which all points are assigned once
};

// Seeded driver (the RBF basis). Deterministic for a given seed and any thread count.
KMeansResult kmeans(const Eigen::Ref<const Eigen::MatrixXd>& x, int k, const KMeansOptions& opt,
                    std::uint64_t seed);

// Stream driver (the ADMM's cluster step): max(1, opt.num_starts) K-means++
// starts drawn from rng plus the warm-start centres when given (k x d, finite);
// the start with the smallest withinss is kept. opt.tol and opt.sample_size are
// not used. Serial, deterministic.
KMeansResult kmeans(const Eigen::Ref<const Eigen::MatrixXd>& x, int k, const KMeansOptions& opt,
                    std::mt19937_64& rng, const Eigen::MatrixXd* warm = nullptr);

// Lloyd iterations from the given centres (k x d) until the relative decrease
// of withinss is at most tol or max_iter iterations (0: only the assignment);
// the seeded driver's refinement. par: passes over the points on the
// runtime's threads (same result).
KMeansResult lloyd_to_tolerance(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd centers,
                                int max_iter, double tol, bool par);

// K-means++ seeding: k rows of x, the first uniform, each next one with
// probability proportional to its squared distance to the nearest centre so
// far. par: distance updates on the runtime's threads (same result).
Eigen::MatrixXd kmeanspp_seed(const Eigen::Ref<const Eigen::MatrixXd>& x, int k,
                              std::mt19937_64& gen, bool par = false);

}  // namespace p4l
