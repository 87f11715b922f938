#include "icu.h"

#include <Eigen/Sparse>
#include <Eigen/SparseLU>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "rng.h"
#include "runtime.h"

namespace p4l {

namespace {
inline int bit(int a, int k) { return (a >> k) & 1; }
int draw_level(std::mt19937_64& g) {
  const double u = unif01(g);
  double acc = 0.0;
  for (int l = 0; l < IcuEnv::kLevels - 1; ++l) {
    acc += IcuEnv::kInitial[l];
    if (u < acc) return l;
  }
  return IcuEnv::kLevels - 1;
}
}  // namespace

IcuEnv::Probs IcuEnv::probs(const int x[3], const int f[3], int a) const {
  const int F = bit(a, 0), V = bit(a, 1), M = bit(a, 2);
  const int g = atypical_ ? 1 : 0;
  Probs p;
  p.death = kDeathBase + kDeathLevel[x[0]] + kDeathLevel[x[1]] + kDeathLevel[x[2]] +
            kDeathVaso * V + kDeathVent * M;
  p.death = std::min(p.death, 1.0);
  const bool normal = x[0] == 0 && x[1] == 0 && x[2] == 0;
  p.discharge = (normal && a == 0) ? kDischarge : 0.0;
  // circulation
  p.imp[0] = kImpBase[0] + kFluidsCardio[g] * F + kVasoCardio * V;
  p.wor[0] = kWorBase[0] + ((f[1] == 1 && V == 0 && x[0] >= 1) ? kRebound : 0.0);
  // lungs
  const double oedema = atypical_ ? kFluidsResp[1] : (x[0] == 0 ? kFluidsResp[0] : 0.0);
  p.imp[1] = kImpBase[1] + kVentResp * M;
  p.wor[1] = kWorBase[1] + oedema * F + ((f[2] == 1 && M == 0 && x[1] >= 2) ? kRebound : 0.0);
  // kidneys
  p.imp[2] = kImpBase[2] + kFluidsRenal[g] * F;
  p.wor[2] = kWorBase[2] + (x[0] >= 3 ? kHypoperfusionRenal : 0.0) + kVasoRenal * V;
  for (int j = 0; j < 3; ++j) {
    p.wor[j] = std::min(p.wor[j], 1.0 - p.imp[j]);  // a safeguard; never binds
    if (x[j] == 0) p.imp[j] = 0.0;
    if (x[j] == kLevels - 1) p.wor[j] = 0.0;
  }
  return p;
}

int IcuEnv::index(const Eigen::VectorXd& s) {
  if (s.size() != 6) return -1;
  int idx = 0, mult = 1;
  for (int j = 0; j < 6; ++j) {
    const int hi = j < 3 ? kLevels - 1 : 1;
    const double v = s(j);
    if (!(v >= 0.0 && v <= hi) || v != std::floor(v)) return -1;
    idx += static_cast<int>(v) * mult;
    mult *= j < 3 ? kLevels : 2;
  }
  return idx;
}

void IcuEnv::decode(int idx, int x[3], int f[3]) {
  for (int j = 0; j < 3; ++j) {
    x[j] = idx % kLevels;
    idx /= kLevels;
  }
  for (int j = 0; j < 3; ++j) {
    f[j] = idx % 2;
    idx /= 2;
  }
}

Eigen::MatrixXd IcuEnv::grid() {
  Eigen::MatrixXd out(kNumStates, 6);
  int x[3], f[3];
  for (int i = 0; i < kNumStates; ++i) {
    decode(i, x, f);
    for (int j = 0; j < 3; ++j) {
      out(i, j) = x[j];
      out(i, 3 + j) = f[j];
    }
  }
  return out;
}

Eigen::VectorXd IcuEnv::initial_distribution() {
  Eigen::VectorXd p = Eigen::VectorXd::Zero(kNumStates);
  int x[3], f[3];
  for (int i = 0; i < kNumStates; ++i) {
    decode(i, x, f);
    if (f[0] || f[1] || f[2]) continue;
    p(i) = kInitial[x[0]] * kInitial[x[1]] * kInitial[x[2]];
  }
  return p;
}

void IcuEnv::reset(std::mt19937_64& g, Eigen::VectorXd& s) const {
  s.setZero(6);
  for (int j = 0; j < 3; ++j) s(j) = draw_level(g);
}

double IcuEnv::step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
                    bool& done) const {
  const int idx = index(s);
  if (idx < 0) {
    throw std::invalid_argument(
        "icu: the state must be three scores in 0..4 and three 0/1 treatment flags");
  }
  if (a < 0 || a >= kNumActions) throw std::invalid_argument("icu: action must be in 0..7");
  int x[3], f[3];
  decode(idx, x, f);
  const Probs p = probs(x, f, a);
  next.resize(6);
  for (int j = 0; j < 3; ++j) {
    next(j) = x[j];
    next(3 + j) = bit(a, j);
  }
  // Events in order: death, discharge, then each score's move.
  if (unif01(g) < p.death) {
    done = true;
    return -1.0;
  }
  if (p.discharge > 0.0 && unif01(g) < p.discharge) {
    done = true;
    return 1.0;
  }
  for (int j = 0; j < 3; ++j) {
    const double u = unif01(g);
    if (u < p.imp[j])
      next(j) = x[j] - 1;
    else if (u < p.imp[j] + p.wor[j])
      next(j) = x[j] + 1;
  }
  done = false;
  return 0.0;
}

void IcuEnv::transitions(int s, int a, std::vector<Next>& out, double& p_death,
                         double& p_discharge) const {
  out.clear();
  int x[3], f[3];
  decode(s, x, f);
  const Probs p = probs(x, f, a);
  p_death = p.death;
  p_discharge = (1.0 - p.death) * p.discharge;
  const double stay = (1.0 - p.death) * (1.0 - p.discharge);
  if (stay <= 0.0) return;
  double pm[3][3];  // [score][move -1, 0, +1]
  for (int j = 0; j < 3; ++j) {
    pm[j][0] = p.imp[j];
    pm[j][1] = 1.0 - p.imp[j] - p.wor[j];
    pm[j][2] = p.wor[j];
  }
  const int flags = 125 * a;  // the flags of the next state record the action
  for (int d0 = -1; d0 <= 1; ++d0)
    for (int d1 = -1; d1 <= 1; ++d1)
      for (int d2 = -1; d2 <= 1; ++d2) {
        const double pr = stay * pm[0][d0 + 1] * pm[1][d1 + 1] * pm[2][d2 + 1];
        if (pr <= 0.0) continue;
        const int n = (x[0] + d0) + 5 * (x[1] + d1) + 25 * (x[2] + d2) + flags;
        out.push_back({n, pr});
      }
}

TabularModel icu_model(bool atypical) {
  const IcuEnv env(atypical);
  const int S = IcuEnv::kNumStates, A = IcuEnv::kNumActions;
  TabularModel m;
  m.num_states = S;
  m.num_actions = A;
  m.reward.resize(S, A);
  m.death.resize(S, A);
  m.discharge.resize(S, A);
  m.start.reserve(S * A + 1);
  m.start.push_back(0);
  std::vector<IcuEnv::Next> nx;
  for (int s = 0; s < S; ++s)
    for (int a = 0; a < A; ++a) {
      double pd, pdis;
      env.transitions(s, a, nx, pd, pdis);
      for (const auto& t : nx) {
        m.next.push_back(t.state);
        m.prob.push_back(t.prob);
      }
      m.start.push_back(static_cast<int>(m.next.size()));
      m.death(s, a) = pd;
      m.discharge(s, a) = pdis;
      m.reward(s, a) = pdis - pd;
    }
  return m;
}

namespace {
void bellman_q(const TabularModel& m, const Eigen::VectorXd& V, double gamma, Eigen::MatrixXd& Q) {
  Q.resize(m.num_states, m.num_actions);
  for (int s = 0; s < m.num_states; ++s)
    for (int a = 0; a < m.num_actions; ++a) {
      const int row = s * m.num_actions + a;
      double acc = 0.0;
      for (int k = m.start[row]; k < m.start[row + 1]; ++k) acc += m.prob[k] * V(m.next[k]);
      Q(s, a) = m.reward(s, a) + gamma * acc;
    }
}
std::vector<int> greedy(const Eigen::MatrixXd& Q) {
  std::vector<int> act(Q.rows());
  for (long s = 0; s < Q.rows(); ++s) {
    const double best = Q.row(s).maxCoeff();
    int a = 0;
    while (Q(s, a) < best - 1e-10) ++a;
    act[s] = a;
  }
  return act;
}
}  // namespace

Eigen::VectorXd evaluate_tabular(const TabularModel& m, const Eigen::MatrixXd& prob, double gamma) {
  const int S = m.num_states, A = m.num_actions;
  if (prob.rows() != S || prob.cols() != A) {
    throw std::invalid_argument("evaluate_tabular: prob must be num_states x num_actions");
  }
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(m.next.size() / 2 + S);
  Eigen::VectorXd r(S);
  for (int s = 0; s < S; ++s) {
    trip.emplace_back(s, s, 1.0);
    r(s) = 0.0;
    for (int a = 0; a < A; ++a) {
      const double w = prob(s, a);
      if (w == 0.0) continue;
      r(s) += w * m.reward(s, a);
      const int row = s * A + a;
      for (int k = m.start[row]; k < m.start[row + 1]; ++k)
        trip.emplace_back(s, m.next[k], -gamma * w * m.prob[k]);
    }
  }
  Eigen::SparseMatrix<double> Amat(S, S);
  Amat.setFromTriplets(trip.begin(), trip.end());  // duplicates are summed
  Amat.makeCompressed();
  Eigen::SparseLU<Eigen::SparseMatrix<double>, Eigen::COLAMDOrdering<int>> lu;
  lu.analyzePattern(Amat);
  lu.factorize(Amat);
  if (lu.info() != Eigen::Success) throw std::runtime_error("evaluate_tabular: singular system");
  Eigen::VectorXd V = lu.solve(r);
  if (lu.info() != Eigen::Success) throw std::runtime_error("evaluate_tabular: solve failed");
  return V;
}

TabularSolution solve_tabular(const TabularModel& m, double gamma, double tol, int max_iter) {
  TabularSolution sol;
  Eigen::VectorXd V = Eigen::VectorXd::Zero(m.num_states);
  Eigen::MatrixXd Q;
  int it = 0;
  for (; it < max_iter; ++it) {
    bellman_q(m, V, gamma, Q);
    const Eigen::VectorXd Vn = Q.rowwise().maxCoeff();
    const double change = (Vn - V).cwiseAbs().maxCoeff();
    V = Vn;
    if (change < tol) {
      ++it;
      break;
    }
  }
  sol.iterations = it;
  bellman_q(m, V, gamma, Q);
  std::vector<int> act = greedy(Q);
  for (int round = 0; round < 100; ++round) {
    Eigen::MatrixXd P = Eigen::MatrixXd::Zero(m.num_states, m.num_actions);
    for (int s = 0; s < m.num_states; ++s) P(s, act[s]) = 1.0;
    V = evaluate_tabular(m, P, gamma);
    bellman_q(m, V, gamma, Q);
    std::vector<int> nact = act;
    // improve only where an action is better by more than the tie tolerance
    bool changed = false;
    for (int s = 0; s < m.num_states; ++s) {
      const double best = Q.row(s).maxCoeff();
      if (Q(s, act[s]) < best - 1e-10) {
        int a = 0;
        while (Q(s, a) < best - 1e-10) ++a;
        nact[s] = a;
        changed = true;
      }
    }
    if (!changed) break;
    act = nact;
    ++sol.improvements;
  }
  sol.V = V;
  sol.Q = Q;
  sol.action = act;
  sol.residual = (Q.rowwise().maxCoeff() - V).cwiseAbs().maxCoeff();
  return sol;
}

std::vector<int> draw_icu_subgroups(std::size_t n, double share, std::uint64_t seed) {
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::mt19937_64 g = make_stream(seed, i, 1);
    out[i] = unif01(g) < share ? 1 : 0;
  }
  return out;
}

Eigen::MatrixXd simulate_icu(const std::vector<int>& atypical, const std::vector<int>& behaviour,
                             double noise, int max_decisions, std::uint64_t seed) {
  if (static_cast<int>(behaviour.size()) != IcuEnv::kNumStates) {
    throw std::invalid_argument("simulate_icu: behaviour needs one action per state");
  }
  const std::size_t N = atypical.size();
  std::vector<Eigen::MatrixXd> blocks(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const IcuEnv env(atypical[i] != 0);
      std::mt19937_64 g = make_stream(seed, i);
      blocks[i] =
          record_episode(env, static_cast<int>(i + 1), max_decisions, g,
                         [&](const Eigen::VectorXd& s, std::mt19937_64& gg) {
                           int a = behaviour[IcuEnv::index(s)];
                           if (noise > 0.0 && unif01(gg) < noise) {
                             a = std::min(static_cast<int>(unif01(gg) * IcuEnv::kNumActions),
                                          IcuEnv::kNumActions - 1);
                           }
                           return a;
                         });
    }
  });
  return stack_rows(blocks, 11);
}

}  // namespace p4l
