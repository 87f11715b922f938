// The classic CartPole control problem (Barto, Sutton and Anderson 1983, as
// in OpenAI Gym's CartPole-v1) with the pole length and the push force as
// parameters, and its long-format simulation under the sign(theta)
// behaviour policy (paper Sec 6.2).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "env.h"
namespace p4l {

// State (x, x_dot, theta, theta_dot); actions 0 (push left) and 1 (push
// right) with a force of magnitude `force`; `length` is half the pole's
// length. Euler integration with tau = 0.02, gravity 9.8, cart mass 1.0, pole
// mass 0.1. Reward 1 for every step taken; done when the new state has
// |x| > 2.4 or |theta| > 12 degrees. Initial state uniform on [-0.05, 0.05]^4.
// The dynamics are deterministic: step() draws no random numbers.
class CartPoleEnv : public Env {
 public:
  static constexpr double kGravity = 9.8, kMassCart = 1.0, kMassPole = 0.1, kTau = 0.02;
  static constexpr double kXThreshold = 2.4;
  static constexpr double kThetaThreshold = 12.0 * 2.0 * 3.14159265358979323846 / 360.0;
  CartPoleEnv(double length, double force) : length_(length), force_(force) {}
  int state_dim() const override { return 4; }
  int num_actions() const override { return 2; }
  void reset(std::mt19937_64& g, Eigen::VectorXd& s) const override;
  double step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
              bool& done) const override;
  // The deterministic transition without a generator.
  void transition(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next, bool& done) const;
  double length() const { return length_; }
  double force() const { return force_; }

 private:
  double length_, force_;
};

// Long-format simulation: trajectory i runs in CartPoleEnv(length[i],
// force[i]) from a uniform initial state, taking the behaviour action
// 1{theta > 0} (push right when the pole leans right), replaced with
// probability epsilon by a uniformly random action, until failure or
// max_steps steps. One block of L_i + 1 rows per trajectory (L_i steps, then
// the final state with action and reward NaN). Columns: id (1-based), time,
// action, reward, x, x_dot, theta, theta_dot, terminal (1 on the row whose
// transition ends in failure, else 0). Trajectory i uses the stream (seed, i).
Eigen::MatrixXd simulate_cartpole(const std::vector<double>& length,
                                  const std::vector<double>& force, double epsilon, int max_steps,
                                  std::uint64_t seed);

}  // namespace p4l
