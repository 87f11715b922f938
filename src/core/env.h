// Simulated environments used to generate data and to evaluate policies by
// Monte Carlo. Each environment is a small value type; new ones implement Env
// and are registered in make_env().
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>
namespace p4l {

class Env {
 public:
  virtual ~Env() = default;
  virtual int state_dim() const = 0;
  virtual int num_actions() const = 0;
  // Draws an initial state from the environment's initial distribution.
  virtual void reset(std::mt19937_64& g, Eigen::VectorXd& s) const = 0;
  // One transition from s under action a (0-based): writes next, sets done
  // when the next state is absorbing, returns the reward.
  virtual double step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
                      bool& done) const = 0;
};

// Paper Sec 6.1: S0 ~ N(0, I2); actions {0, 1};
// S1' = 0.8 (2A - 1) S1 + c1 S2 + e1,  S2' = c2 S1 + 0.8 (1 - 2A) S2 + e2,
// e ~ N(0, 0.25 I2);  R = 0.9 / (1 + exp(sign (2A - 1)(S1 - 2 S2))) + U[-0.1, 0.1].
// sign = +1 is the paper's reward, sign = -1 reverses which action is rewarded.
class Linear2dEnv : public Env {
 public:
  Linear2dEnv(double c1, double c2, double reward_sign) : c1_(c1), c2_(c2), sign_(reward_sign) {}
  int state_dim() const override { return 2; }
  int num_actions() const override { return 2; }
  void reset(std::mt19937_64& g, Eigen::VectorXd& s) const override;
  double step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
              bool& done) const override;
  // Expected immediate reward r(s, a).
  double mean_reward(const Eigen::VectorXd& s, int a) const;
  double c1() const { return c1_; }
  double c2() const { return c2_; }

 private:
  double c1_, c2_, sign_;
};

// One episode in long format, from the environment's initial distribution:
// rows t = 0, 1, ... with columns id, time, action, reward, the state
// (state_dim() columns) and terminal (1 on the row whose transition ends in an
// absorbing state). The last row holds the final state, with action and reward
// NaN. choose(s, g) gives the behaviour action at state s; at most max_steps
// decisions.
template <class Choose>
Eigen::MatrixXd record_episode(const Env& env, int id, int max_steps, std::mt19937_64& g,
                               Choose&& choose) {
  const int k = env.state_dim();
  const int cols = 5 + k;
  Eigen::VectorXd s(k), next(k);
  env.reset(g, s);
  Eigen::MatrixXd out(max_steps + 1, cols);
  auto state_row = [&](int t) {
    out(t, 0) = static_cast<double>(id);
    out(t, 1) = t;
    out.block(t, 4, 1, k) = s.transpose();
    out(t, 4 + k) = 0.0;
  };
  int t = 0;
  for (;; ++t) {
    state_row(t);
    if (t == max_steps) break;
    const int a = choose(s, g);
    bool done = false;
    out(t, 2) = a;
    out(t, 3) = env.step(s, a, g, next, done);
    s = next;
    if (done) {
      out(t, 4 + k) = 1.0;
      state_row(++t);
      break;
    }
  }
  out(t, 2) = std::numeric_limits<double>::quiet_NaN();
  out(t, 3) = std::numeric_limits<double>::quiet_NaN();
  out.conservativeResize(t + 1, cols);
  return out;
}

// Stacks blocks with the same columns in order.
Eigen::MatrixXd stack_rows(const std::vector<Eigen::MatrixXd>& blocks, int cols);

// Builds an environment from its type name and numeric parameters
// ("linear2d": c1, c2, reward_sign; "cartpole": length, force; "icu":
// atypical 0/1; "persim": the packed layout of PersimEnv). Throws std::invalid_argument otherwise.
std::unique_ptr<Env> make_env(const std::string& type, const std::vector<double>& params);

// Long-format simulation of the 2-D environment with the Bernoulli(1/2)
// behaviour policy: one block of T + 1 rows per individual (the last row holds
// the final state, action and reward NaN). Columns: id (1-based), time,
// action, reward, s1, s2. Individual i uses the stream (seed, i).
Eigen::MatrixXd simulate_linear2d(const std::vector<double>& c1, const std::vector<double>& c2,
                                  const std::vector<double>& reward_sign, int T,
                                  std::uint64_t seed);

}  // namespace p4l
