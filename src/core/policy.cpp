#include "policy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "rng.h"
#include "runtime.h"

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
  const double mx = logits.maxCoeff();
  out = (logits.array() - mx).exp().matrix();
  out /= out.sum();
}

void LinearPolicy::inputs(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  if (!raw_state) {
    basis.features(s, out);
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

EvalResult evaluate(const LinearPolicy& policy, const std::vector<EvalTarget>& targets,
                    const std::vector<int>& action_map, int episodes, int horizon,
                    double gamma, std::uint64_t seed) {
  const std::size_t K = targets.size();
  const std::size_t total = K * static_cast<std::size_t>(episodes);
  std::vector<double> ret(total), len(total), und(total);
  runtime().parallel_for(total, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd s, next, psi;
    for (std::size_t idx = b; idx < e; ++idx) {
      const std::size_t k = idx / episodes, ep = idx % episodes;
      const EvalTarget& tg = targets[k];
      std::mt19937_64 g = make_stream(seed, k, ep);
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
        if (done) { ++t; break; }
      }
      ret[idx] = G;
      len[idx] = t;
      und[idx] = U;
    }
  });
  EvalResult res;
  res.value.resize(K); res.value_se.resize(K);
  res.steps.resize(K); res.steps_se.resize(K); res.total.resize(K);
  auto mean_se = [&](const std::vector<double>& v, std::size_t k, double& m, double& se) {
    double sum = 0.0;
    for (int e = 0; e < episodes; ++e) sum += v[k * episodes + e];
    m = sum / episodes;
    double ss = 0.0;
    for (int e = 0; e < episodes; ++e) { const double d = v[k * episodes + e] - m; ss += d * d; }
    se = episodes > 1 ? std::sqrt(ss / (episodes - 1) / episodes) : NAN;
  };
  for (std::size_t k = 0; k < K; ++k) {
    double m, se;
    mean_se(ret, k, m, se); res.value(k) = m; res.value_se(k) = se;
    mean_se(len, k, m, se); res.steps(k) = m; res.steps_se(k) = se;
    mean_se(und, k, m, se); res.total(k) = m;
  }
  return res;
}

}  // namespace p4l
