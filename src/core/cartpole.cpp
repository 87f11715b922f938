#include "cartpole.h"

#include <cmath>
#include <limits>

#include "rng.h"
#include "runtime.h"

namespace p4l {

void CartPoleEnv::reset(std::mt19937_64& g, Eigen::VectorXd& s) const {
  s.resize(4);
  for (int j = 0; j < 4; ++j) s(j) = -0.05 + 0.1 * unif01(g);
}

void CartPoleEnv::transition(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next,
                             bool& done) const {
  const double total_mass = kMassCart + kMassPole;
  const double polemass_length = kMassPole * length_;
  const double x = s(0), x_dot = s(1), theta = s(2), theta_dot = s(3);
  const double f = a == 1 ? force_ : -force_;
  const double c = std::cos(theta), sn = std::sin(theta);
  const double temp = (f + polemass_length * theta_dot * theta_dot * sn) / total_mass;
  const double thetaacc =
      (kGravity * sn - c * temp) / (length_ * (4.0 / 3.0 - kMassPole * c * c / total_mass));
  const double xacc = temp - polemass_length * thetaacc * c / total_mass;
  next.resize(4);
  next(0) = x + kTau * x_dot;
  next(1) = x_dot + kTau * xacc;
  next(2) = theta + kTau * theta_dot;
  next(3) = theta_dot + kTau * thetaacc;
  done = std::abs(next(0)) > kXThreshold || std::abs(next(2)) > kThetaThreshold;
}

double CartPoleEnv::step(const Eigen::VectorXd& s, int a, std::mt19937_64&, Eigen::VectorXd& next,
                         bool& done) const {
  transition(s, a, next, done);
  return 1.0;
}

Eigen::MatrixXd simulate_cartpole(const std::vector<double>& length,
                                  const std::vector<double>& force, double epsilon, int max_steps,
                                  std::uint64_t seed) {
  const std::size_t N = length.size();
  std::vector<Eigen::MatrixXd> blocks(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const CartPoleEnv env(length[i], force[i]);
      std::mt19937_64 g = make_stream(seed, i);
      blocks[i] = record_episode(env, static_cast<int>(i + 1), max_steps, g,
                                 [&](const Eigen::VectorXd& s, std::mt19937_64& gg) {
                                   int a = s(2) > 0.0 ? 1 : 0;
                                   if (epsilon > 0.0 && unif01(gg) < epsilon)
                                     a = unif01(gg) < 0.5 ? 0 : 1;
                                   return a;
                                 });
    }
  });
  return stack_rows(blocks, 9);
}

}  // namespace p4l
