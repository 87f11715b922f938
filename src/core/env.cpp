#include "env.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "cartpole.h"
#include "icu.h"
#include "persim.h"
#include "rng.h"
#include "runtime.h"

namespace p4l {

void Linear2dEnv::reset(std::mt19937_64& g, Eigen::VectorXd& s) const {
  s.resize(2);
  s(0) = std_normal(g);
  s(1) = std_normal(g);
}

double Linear2dEnv::mean_reward(const Eigen::VectorXd& s, int a) const {
  const double sgn = 2.0 * a - 1.0;
  return 0.9 / (1.0 + std::exp(sign_ * sgn * (s(0) - 2.0 * s(1))));
}

double Linear2dEnv::step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
                         bool& done) const {
  const double sgn = 2.0 * a - 1.0;
  const double r = mean_reward(s, a) + (unif01(g) * 0.2 - 0.1);
  next.resize(2);
  const double e1 = 0.5 * std_normal(g), e2 = 0.5 * std_normal(g);
  next(0) = 0.8 * sgn * s(0) + c1_ * s(1) + e1;
  next(1) = c2_ * s(0) - 0.8 * sgn * s(1) + e2;
  done = false;
  return r;
}

std::unique_ptr<Env> make_env(const std::string& type, const std::vector<double>& params) {
  if (type == "linear2d") {
    if (params.size() != 3) throw std::invalid_argument("linear2d needs c1, c2, reward.sign");
    return std::unique_ptr<Env>(new Linear2dEnv(params[0], params[1], params[2]));
  }
  if (type == "cartpole") {
    if (params.size() != 2) throw std::invalid_argument("cartpole needs length, force");
    return std::unique_ptr<Env>(new CartPoleEnv(params[0], params[1]));
  }
  if (type == "icu") {
    if (params.size() != 1 || !(params[0] == 0.0 || params[0] == 1.0))
      throw std::invalid_argument("icu needs atypical (0 or 1)");
    return std::unique_ptr<Env>(new IcuEnv(params[0] == 1.0));
  }
  if (type == "persim") return std::unique_ptr<Env>(new PersimEnv(params));
  throw std::invalid_argument("unknown environment type '" + type + "'");
}

Eigen::MatrixXd simulate_linear2d(const std::vector<double>& c1, const std::vector<double>& c2,
                                  const std::vector<double>& reward_sign, int T,
                                  std::uint64_t seed) {
  const std::size_t N = c1.size();
  const long rows = static_cast<long>(N) * (T + 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Eigen::MatrixXd out(rows, 6);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd s(2), next(2);
    for (std::size_t i = b; i < e; ++i) {
      Linear2dEnv env(c1[i], c2[i], reward_sign[i]);
      std::mt19937_64 g = make_stream(seed, i);
      env.reset(g, s);
      const long base = static_cast<long>(i) * (T + 1);
      for (int t = 0; t <= T; ++t) {
        const long row = base + t;
        out(row, 0) = static_cast<double>(i + 1);
        out(row, 1) = t;
        out(row, 4) = s(0);
        out(row, 5) = s(1);
        if (t == T) {
          out(row, 2) = nan;
          out(row, 3) = nan;
          break;
        }
        const int a = unif01(g) < 0.5 ? 1 : 0;
        bool done = false;
        const double r = env.step(s, a, g, next, done);
        out(row, 2) = a;
        out(row, 3) = r;
        s = next;
      }
    }
  });
  return out;
}

Eigen::MatrixXd stack_rows(const std::vector<Eigen::MatrixXd>& blocks, int cols) {
  Eigen::Index rows = 0;
  for (const auto& bl : blocks) rows += bl.rows();
  Eigen::MatrixXd all(rows, cols);
  Eigen::Index r = 0;
  for (const auto& bl : blocks) {
    all.middleRows(r, bl.rows()) = bl;
    r += bl.rows();
  }
  return all;
}

}  // namespace p4l
