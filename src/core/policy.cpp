#include "policy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "rng.h"
#include "runtime.h"
#include "softmax.h"

namespace p4l {

void LinearPolicy::probs(const Eigen::VectorXd& psi, int slot, Eigen::VectorXd& out) const {
  const Eigen::VectorXd logits = coef[slot].transpose() * psi;
  out.setZero(num_actions);
  if (greedy) {
    Eigen::Index best = 0;
    logits.maxCoeff(&best);
    out(best) = 1.0;
    return;
  }
  out = logits;
  softmax_inplace(out);
}

void LinearPolicy::inputs(const Eigen::VectorXd& s_env, Eigen::VectorXd& out) const {
  Eigen::VectorXd permuted;
  if (!state_map.empty()) {
    permuted.resize(static_cast<Eigen::Index>(state_map.size()));
    for (std::size_t j = 0; j < state_map.size(); ++j) permuted(j) = s_env(state_map[j]);
  }
  const Eigen::VectorXd& s = state_map.empty() ? s_env : permuted;
  if (!raw_state) {
    basis->features(s, out);
    return;
  }
  out.resize(s.size() + 1);
  out(0) = 1.0;
  out.tail(s.size()) = s;
}

int LinearPolicy::act(const Eigen::VectorXd& psi, int slot, std::mt19937_64& g) const {
  if (epsilon > 0.0 && unif01(g) < epsilon) {
    int a = static_cast<int>(unif01(g) * num_actions);
    return a >= num_actions ? num_actions - 1 : a;
  }
  Eigen::VectorXd p;
  probs(psi, slot, p);
  const double u = unif01(g);
  double acc = 0.0;
  for (int a = 0; a < num_actions; ++a) {
    acc += p(a);
    if (u < acc) return a;
  }
  return num_actions - 1;
}

namespace {

// One episode of target tg (at most horizon steps) with the random stream g:
// G the discounted return, t the number of steps, U the undiscounted return.
// s, next, psi: scratch.
void run_episode(const LinearPolicy& policy, const EvalTarget& tg,
                 const std::vector<int>& action_map, int horizon, double gamma, std::mt19937_64& g,
                 Eigen::VectorXd& s, Eigen::VectorXd& next, Eigen::VectorXd& psi, double& G_out,
                 int& t_out, double& U_out) {
  tg.env->reset(g, s);
  double G = 0.0, U = 0.0, disc = 1.0;
  int t = 0;
  for (; t < horizon; ++t) {
    policy.inputs(s, psi);
    const int a = action_map[policy.act(psi, tg.slot, g)];
    bool done = false;
    const double r = tg.env->step(s, a, g, next, done);
    G += disc * r;
    U += r;
    disc *= gamma;
    s.swap(next);
    if (done) {
      ++t;
      break;
    }
  }
  G_out = G;
  t_out = t;
  U_out = U;
}

}  // namespace

EvalResult evaluate(const LinearPolicy& policy, const std::vector<EvalTarget>& targets,
                    const std::vector<int>& action_map, int episodes, int horizon, double gamma,
                    std::uint64_t seed) {
  const std::size_t K = targets.size();
  const std::size_t E = static_cast<std::size_t>(episodes);
  const std::size_t total = K * E;
  // Episodes are simulated in blocks of fixed size (parallel within a block)
  // and folded into per-target running sums in episode order, so memory does
  // not grow with the number of episodes and results do not depend on the
  // number of threads. Welford's update gives the variances.
  constexpr std::size_t kBlock = 1 << 15;
  std::vector<double> ret(std::min(total, kBlock)), len(ret.size()), und(ret.size());
  Eigen::VectorXd sum_ret = Eigen::VectorXd::Zero(K), sum_len = Eigen::VectorXd::Zero(K),
                  sum_und = Eigen::VectorXd::Zero(K);
  Eigen::VectorXd mean_ret = Eigen::VectorXd::Zero(K), m2_ret = Eigen::VectorXd::Zero(K),
                  mean_len = Eigen::VectorXd::Zero(K), m2_len = Eigen::VectorXd::Zero(K);
  for (std::size_t start = 0; start < total; start += kBlock) {
    check_interrupt();
    const std::size_t stop = std::min(total, start + kBlock);
    runtime().parallel_for(stop - start, [&](std::size_t b, std::size_t e) {
      Eigen::VectorXd s, next, psi;
      for (std::size_t j = b; j < e; ++j) {
        if (runtime().interrupted()) throw Interrupted();
        const std::size_t idx = start + j;
        const std::size_t k = idx / E, ep = idx % E;
        const EvalTarget& tg = targets[k];
        std::mt19937_64 g = make_stream(seed, k, ep);
        int t = 0;
        run_episode(policy, tg, action_map, horizon, gamma, g, s, next, psi, ret[j], t, und[j]);
        len[j] = t;
      }
    });
    for (std::size_t j = 0; j < stop - start; ++j) {
      const std::size_t idx = start + j;
      const std::size_t k = idx / E;
      const double n = static_cast<double>(idx % E + 1);
      sum_ret(k) += ret[j];
      sum_len(k) += len[j];
      sum_und(k) += und[j];
      double d = ret[j] - mean_ret(k);
      mean_ret(k) += d / n;
      m2_ret(k) += d * (ret[j] - mean_ret(k));
      d = len[j] - mean_len(k);
      mean_len(k) += d / n;
      m2_len(k) += d * (len[j] - mean_len(k));
    }
  }
  EvalResult res;
  const double n = static_cast<double>(episodes);
  auto se = [&](double m2) { return episodes > 1 ? std::sqrt(m2 / (n - 1) / n) : NAN; };
  res.value.resize(K);
  res.value_se.resize(K);
  res.steps.resize(K);
  res.steps_se.resize(K);
  res.total.resize(K);
  for (std::size_t k = 0; k < K; ++k) {
    res.value(k) = sum_ret(k) / n;
    res.value_se(k) = se(m2_ret(k));
    res.steps(k) = sum_len(k) / n;
    res.steps_se(k) = se(m2_len(k));
    res.total(k) = sum_und(k) / n;
  }
  return res;
}

}  // namespace p4l
