// The regularised inner problem of P4L (see DualSolution in p4l_solver.h and
// vignette("p4l"), "How the solver works"):
//   q(theta) = ||b - M theta||^2_{Sigma^-1} + kappa ||C theta||^2_Sigma,
//   H = M' Sigma^-1 M + kappa C' Sigma C,
//   theta0 = H^-1 M' Sigma^-1 b,  y = H^-1 c,  s = sqrt(c'y).
// Plain C++17 + Eigen; no R headers.
//
// Structure used: in the solver's ordering (index k p + a d + j: latent
// coordinate k, action a, feature j), Sigma = (1/n) sum_i (u_i u_i') (x) A_i is
// block diagonal by action (A_i is), so it is factorised as m blocks of size
// r d. H is dense. Two ways to apply H^-1:
//  - direct: form H = G'G + kappa P (G = L^-1 M) and factorise it (O(q^3),
//    q = m d r);
//  - iterative (q >= iterative_min): preconditioned conjugate gradients on H,
//    with the factor of H at an earlier, nearby policy as the preconditioner
//    and the previous solutions as starting points. Along an ascent the
//    policy moves little between evaluations, so a few iterations of O(q^2)
//    suffice; when they do not (more than max_pcg iterations), H is
//    re-factorised at the current point and solved directly.
// Both are deterministic; the iterative path depends on the sequence of
// evaluations (its starting points), to within its tolerance.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace p4l {

struct RegularisedSolution {
  Eigen::VectorXd w, y;    // theta0 = H^-1 M' Sigma^-1 b, y = H^-1 c
  Eigen::VectorXd z;       // Sigma^-1 M y
  Eigen::VectorXd e0;      // Sigma^-1 (b - M w)
  Eigen::VectorXd a0, yc;  // C w, C y
  Eigen::VectorXd es;  // Sigma^-1 (b - M theta*) for theta* = w - iota y (set by the caller's iota)
  double s = 0;        // sqrt(c' y)
  double rcond = 0;    // reciprocal condition estimate of the factorised H
};

class RegularisedInner {
 public:
  RegularisedInner(int m, int d, int r, int iterative_min = 400, int max_pcg = 40,
                   double pcg_tol = 1e-11);
  // Solves the system for the given (ridged) M and Sigma; t1: the constant
  // Q-function (empty: C = I). Throws std::runtime_error if Sigma or H is not
  // positive definite.
  RegularisedSolution solve(const Eigen::MatrixXd& M, const Eigen::MatrixXd& S,
                            const Eigen::VectorXd& b, const Eigen::VectorXd& c,
                            const Eigen::VectorXd& t1, double kappa);
  int refactorisations() const { return refactor_; }
  int pcg_iterations() const { return pcg_iter_; }

 private:
  void factor_sigma(const Eigen::MatrixXd& S);
  Eigen::VectorXd sigma_solve(const Eigen::VectorXd& v) const;  // Sigma^-1 v
  Eigen::VectorXd sigma_times(const Eigen::VectorXd& v) const;  // Sigma v
  Eigen::VectorXd h_times(const Eigen::VectorXd& v) const;      // H v
  void factor_h(const Eigen::MatrixXd& M);
  // PCG from x (in/out); returns false if not converged within max_pcg_.
  bool pcg(const Eigen::VectorXd& rhs, Eigen::VectorXd& x);

  int m_, d_, r_, q_, rd_;
  int iterative_min_, max_pcg_;
  double tol_;
  std::vector<std::vector<int>> idx_;              // rows of each action block
  std::vector<Eigen::MatrixXd> Sblk_;              // Sigma's action blocks
  std::vector<Eigen::LLT<Eigen::MatrixXd>> Lblk_;  // their Cholesky factors
  // current system (pointers valid during solve())
  const Eigen::MatrixXd* M_ = nullptr;
  Eigen::VectorXd St1_;
  double v1_ = 0, kappa_ = 0;
  bool centre_ = false;
  // preconditioner and warm starts
  Eigen::LLT<Eigen::MatrixXd> Hf_;
  bool have_factor_ = false;
  double rcond_ = 0;
  Eigen::VectorXd w_prev_, y_prev_;
  int refactor_ = 0, pcg_iter_ = 0;
};

}  // namespace p4l
