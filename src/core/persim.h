// Personalised simulator (PerSim's low-rank form, Agarwal et al. 2021): the
// next-state increment of individual i under action a at state s is
//   E[S' - S | s, a, i] = sum_r U(i, r) W(a, r) V_r phi(s),
// with phi(s) = (1, z, exp(-|z - c_k|^2 / (2 h^2)) for the centres c_k),
// z = (s - center) / scale, and V_r a d x m matrix. It is fitted by
// alternating ridge least squares (each block step is an exact minimiser, so
// the penalised residual sum of squares never increases). Environments built
// from a fitted model simulate S' = clip(S + mean + L e) with e ~ N(0, I) and
// the reward from a per-action linear model in phi(S) plus a linear term in
// S', clipped to the observed reward range.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <random>
#include <vector>

#include "env.h"
namespace p4l {

// phi(s): intercept, standardised state, Gaussian bumps around centres (given
// in standardised units). dim() = 1 + d + centres.rows().
struct PersimFeatures {
  Eigen::VectorXd center, scale;  // d each
  Eigen::MatrixXd centres;        // k x d (standardised units), k may be 0
  double bandwidth = 1.0;
  int state_dim() const { return static_cast<int>(center.size()); }
  int dim() const { return 1 + state_dim() + static_cast<int>(centres.rows()); }
  void eval(const Eigen::VectorXd& s, Eigen::Ref<Eigen::VectorXd> out) const;
  Eigen::MatrixXd eval_rows(const Eigen::MatrixXd& S) const;  // n x dim()
};

// Data of one fit: phi of every transition's state, the increments, the
// 0-based individual and action of each row.
struct PersimData {
  Eigen::MatrixXd phi;  // n x m
  Eigen::MatrixXd dS;   // n x d
  std::vector<int> individual, action;
  int num_individuals = 0, num_actions = 0;
};

struct PersimControl {
  int rank = 3;
  double ridge = 1e-3;  // on every factor: (ridge / 2) (|U|^2 + |W|^2 + sum_r |V_r|^2)
  int max_iter = 200;
  double tol = 1e-8;  // relative decrease of the objective
  std::uint64_t seed = 1;
};

struct PersimFit {
  Eigen::MatrixXd U;               // N x r
  Eigen::MatrixXd W;               // A x r
  std::vector<Eigen::MatrixXd> V;  // r matrices d x m
  std::vector<double> objective;   // after each sweep
  int iterations = 0;
  bool converged = false;
};

// Alternating ridge least squares. Results do not depend on the number of
// threads (reductions run over fixed blocks in a fixed order).
PersimFit fit_persim(const PersimData& data, const PersimControl& ctl);

// Penalised objective (1/2) sum |dS - fitted|^2 + (ridge / 2)(|U|^2 + |W|^2 + |V|^2).
double persim_objective(const PersimData& data, const PersimFit& fit, double ridge);

// Fitted increments, n x d.
Eigen::MatrixXd persim_fitted(const PersimData& data, const PersimFit& fit);

// One individual's simulator. Parameters are packed in a flat vector (see
// persim.cpp: PersimEnv::unpack) so that it travels through make_env().
class PersimEnv : public Env {
 public:
  explicit PersimEnv(const std::vector<double>& params);
  int state_dim() const override { return d_; }
  int num_actions() const override { return A_; }
  void reset(std::mt19937_64& g, Eigen::VectorXd& s) const override;
  double step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
              bool& done) const override;
  // Mean next state and mean reward (no noise, clipped as in step()).
  void mean_step(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next, double& reward) const;

 private:
  int d_ = 0, A_ = 0, r_ = 0;
  bool clip_ = true, noise_ = true;
  PersimFeatures phi_;
  Eigen::VectorXd u_;               // r
  Eigen::MatrixXd W_;               // A x r
  std::vector<Eigen::MatrixXd> V_;  // r of d x m
  Eigen::MatrixXd L_;               // d x d lower triangular noise factor
  Eigen::MatrixXd reward_phi_;      // m x A
  Eigen::VectorXd reward_next_;     // d
  double reward_lo_ = 0, reward_hi_ = 0;
  Eigen::VectorXd lo_, hi_, initial_;
  Eigen::MatrixXd initial_factor_;  // d x d; zero: start at initial_
  bool random_start_ = false;
  double mean_next(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next) const;
};

}  // namespace p4l
