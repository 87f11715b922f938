// The ADMM driver of p4l_fit() (the algorithm and its gauge fixing are
// described above p4l_fit() in p4l_solver.h; the maths in
// shared/design/solver.md). One outer iteration:
//   (1)-(2) inner_->step(): Theta-step and u-step (inner_solver.h),
//   regauge(): free latent coordinates centred and scaled to unit RMS,
//   (3) cluster_step(): K-means on Y = U~ + Eta/rho (v), then w,
//   (4) dual_step(): Eta += rho (U~ - W),
//   record(): one trace row, stop(): the convergence test.
#pragma once
#include <Eigen/Dense>
#include <memory>
#include <random>

#include "inner_solver.h"
#include "p4l_solver.h"

namespace p4l {
namespace detail {

class AdmmDriver {
 public:
  // Arguments as p4l_fit() (checked there); draws the starting U, fixes the
  // gauge, takes the first cluster step and starts the inner solver.
  AdmmDriver(const P4LData& data, int r, int K, double gamma, double alpha, double mu,
             const Control& ctl, const Params* init);
  FitResult run();
  // Control::value_table of a finished fit (the problem's data statistics reused).
  void value_table(FitResult& f);

 private:
  void init_params(const Params* init);
  void regauge();
  void cluster_step(const Eigen::MatrixXd& Y);
  void dual_step(const Eigen::MatrixXd& Uf);
  double penalty(const Eigen::MatrixXd& Uf) const;
  double record(int it, const InnerStep& s, double primal, double pen);
  bool stop(double F, bool stalled, double primal);
  void finish();

  P4LProblem prob_;
  const Control& ctl_;
  AdmmContext c_;
  int r_, K_;
  double mu_;
  std::mt19937_64 rng_;
  std::unique_ptr<InnerSolver> inner_;
  Eigen::MatrixXd Cen_;  // centroids v (K x q)
  Eigen::VectorXi lab_;  // cluster of each individual in the last K-means
  FitResult res_;
  // convergence test: previous objective, calm iterations in a row, stalled iterations in a row
  double Fprev_;
  int calm_ = 0, stall_run_ = 0;
};

}  // namespace detail
}  // namespace p4l
