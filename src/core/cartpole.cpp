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

double CartPoleEnv::step(const Eigen::VectorXd& s, int a, std::mt19937_64&,
                         Eigen::VectorXd& next, bool& done) const {
  transition(s, a, next, done);
  return 1.0;
}

Eigen::MatrixXd simulate_cartpole(const std::vector<double>& length,
                                  const std::vector<double>& force, double epsilon,
                                  int max_steps, std::uint64_t seed) {
  const std::size_t N = length.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Eigen::MatrixXd> blocks(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd s(4), next(4);
    for (std::size_t i = b; i < e; ++i) {
      CartPoleEnv env(length[i], force[i]);
      std::mt19937_64 g = make_stream(seed, i);
      env.reset(g, s);
      Eigen::MatrixXd& out = blocks[i];
      out.resize(max_steps + 1, 9);
      int t = 0;
      for (;; ++t) {
        out(t, 0) = static_cast<double>(i + 1);
        out(t, 1) = t;
        out.block(t, 4, 1, 4) = s.transpose();
        out(t, 8) = 0.0;
        if (t == max_steps) break;
        int a = s(2) > 0.0 ? 1 : 0;
        if (epsilon > 0.0 && unif01(g) < epsilon) a = unif01(g) < 0.5 ? 0 : 1;
        bool done = false;
        const double r = env.step(s, a, g, next, done);
        out(t, 2) = a;
        out(t, 3) = r;
        s = next;
        if (done) {
          out(t, 8) = 1.0;
          ++t;
          out(t, 0) = static_cast<double>(i + 1);
          out(t, 1) = t;
          out.block(t, 4, 1, 4) = s.transpose();
          out(t, 8) = 0.0;
          break;
        }
      }
      out(t, 2) = nan;
      out(t, 3) = nan;
      out.conservativeResize(t + 1, 9);
    }
  });
  long rows = 0;
  for (const auto& bl : blocks) rows += bl.rows();
  Eigen::MatrixXd all(rows, 9);
  long r = 0;
  for (const auto& bl : blocks) {
    all.middleRows(r, bl.rows()) = bl;
    r += bl.rows();
  }
  return all;
}

}  // namespace p4l
