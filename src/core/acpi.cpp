#include "acpi.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "fqi.h"
#include "runtime.h"

namespace p4l {
namespace {

struct Quadratic {     // loss_i(beta) = (w / 2) (beta' H beta - 2 g' beta + c), H
                       // with ridge
  Eigen::MatrixXd Hm;  // H without the ridge (for the BIC)
  Eigen::VectorXd g;
  double c = 0.0, w = 1.0, ridge = 0.0;
  // H = Hm + ridge I, formed when needed (one p x p matrix per individual is
  // not kept twice; the values are the same as when it was stored).
  Eigen::MatrixXd H() const {
    Eigen::MatrixXd h = Hm;
    h.diagonal().array() += ridge;
    return h;
  }
};

// Union-find labels of individuals joined by fused pairs, relabelled by first
// appearance.
Eigen::VectorXi components(int N, const std::vector<char>& fused) {
  std::vector<int> parent(N);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  long idx = 0;
  for (int i = 0; i < N; ++i) {
    for (int j = i + 1; j < N; ++j, ++idx) {
      if (fused[idx]) {
        const int a = find(i), b = find(j);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  Eigen::VectorXi lab(N);
  std::vector<int> map(N, -1);
  int next = 0;
  for (int i = 0; i < N; ++i) {
    const int r = find(i);
    if (map[r] < 0) map[r] = next++;
    lab(i) = map[r];
  }
  return lab;
}

Eigen::VectorXi relabel(const Eigen::VectorXi& x) {
  Eigen::VectorXi out(x.size());
  std::vector<std::pair<int, int>> seen;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    int lab = -1;
    for (auto& s : seen)
      if (s.first == x(i)) {
        lab = s.second;
        break;
      }
    if (lab < 0) {
      lab = static_cast<int>(seen.size());
      seen.emplace_back(x(i), lab);
    }
    out(i) = lab;
  }
  return out;
}

// Pooled refit within clusters and the summed (unpenalised) loss.
double cluster_loss(const std::vector<Quadratic>& q, const Eigen::VectorXi& cl, int K, int p) {
  double loss = 0.0;
  for (int k = 0; k < K; ++k) {
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(p, p);
    Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
    for (std::size_t i = 0; i < q.size(); ++i)
      if (cl(i) == k) {
        H += q[i].w * q[i].H();
        g += q[i].w * q[i].g;
      }
    const Eigen::VectorXd b = H.ldlt().solve(g);
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (cl(i) == k) loss += q[i].w * (b.dot(q[i].Hm * b) - 2.0 * q[i].g.dot(b) + q[i].c);
    }
  }
  return std::max(loss, 1e-300);
}

// Individual i's quadratic loss from its per-action moment matrices (averages
// over its T_i transitions): S = mean x x', M = S - gamma mean x
// pi(.|S')-weighted x_next' (next-state policy policy_i: uniform when empty,
// else greedy), b = mean R x. pnext (m): scratch.
Quadratic individual_quadratic(const Transitions& tr, const std::vector<long>& rows,
                               const Eigen::MatrixXd& policy_i, const AcpiOptions& opt,
                               Eigen::VectorXd& pnext) {
  const int d = tr.d(), m = tr.num_actions, p = d * m;
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(p, p), S = Eigen::MatrixXd::Zero(p, p);
  Eigen::VectorXd bv = Eigen::VectorXd::Zero(p);
  const bool uniform = policy_i.size() == 0;
  for (long k : rows) {
    const int a = tr.action(k);
    const auto x = tr.psi.row(k).transpose();
    S.block(a * d, a * d, d, d).noalias() += x * x.transpose();
    M.block(a * d, a * d, d, d).noalias() += x * x.transpose();
    if (!tr.terminal(k)) {
      const auto xn = tr.psi_next.row(k).transpose();
      if (uniform)
        pnext.setConstant(1.0 / m);
      else {
        pnext.setZero();
        pnext(greedy_action(policy_i, xn)) = 1.0;
      }
      for (int c = 0; c < m; ++c)
        if (pnext(c) != 0.0)
          M.block(a * d, c * d, d, d).noalias() -= (opt.gamma * pnext(c)) * x * xn.transpose();
    }
    bv.segment(a * d, d) += tr.reward(k) * x;
  }
  const double Ti = static_cast<double>(rows.size());
  M /= Ti;
  S /= Ti;
  bv /= Ti;
  S.diagonal().array() += std::max(opt.ridge, 1e-8);
  Eigen::LDLT<Eigen::MatrixXd> Sl(S);
  const Eigen::MatrixXd SiM = Sl.solve(M);
  const Eigen::VectorXd Sib = Sl.solve(bv);
  Quadratic q;
  q.Hm = M.transpose() * SiM;
  q.Hm = 0.5 * (q.Hm + q.Hm.transpose());
  q.ridge = std::max(opt.ridge, 1e-8);
  q.g = M.transpose() * Sib;
  q.c = bv.dot(Sib);
  q.w = Ti;  // sum over the individual's transitions (Ma and Huang's scale)
  return q;
}

// The concave fusion path (Ma and Huang): ADMM on the pairwise differences
// eta_ij = beta_i - beta_j with the MCP penalty, warm-started along the
// decreasing lambda grid. Each solve_at() records one path entry.
class FusionPath {
 public:
  FusionPath(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0, const Transitions& tr,
             const AcpiOptions& opt);
  int solve_at(double lambda, AcpeFit& fit);  // returns the number of clusters
  std::vector<Eigen::MatrixXd> fits;          // beta at each path entry
  std::vector<Eigen::VectorXi> labels;        // clusters at each path entry
  Eigen::MatrixXd beta;                       // p x N, current

 private:
  long pair_index(int i, int j) const {
    return static_cast<long>(i) * N_ - static_cast<long>(i) * (i + 1) / 2 + (j - i - 1);
  }
  int admm(double lambda);
  const std::vector<Quadratic>& q_;
  const AcpiOptions& opt_;
  int N_, p_;
  long npairs_;
  double rho_, gam_, CN_, nobs_;
  std::vector<Eigen::MatrixXd> P_;  // (w_i H_i + rho N I)^-1
  Eigen::PartialPivLU<Eigen::MatrixXd> Zlu_;
  Eigen::MatrixXd eta_, v_, t_;
};

// ADMM pieces that do not depend on lambda.
FusionPath::FusionPath(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
                       const Transitions& tr, const AcpiOptions& opt)
    : beta(beta0), q_(q), opt_(opt) {
  const int N = static_cast<int>(q.size()), p = static_cast<int>(beta0.rows());
  N_ = N;
  p_ = p;
  rho_ = opt.admm_rho;
  gam_ = opt.mcp_gamma;
  if (gam_ * rho_ <= 1.0) throw std::invalid_argument("mcp_gamma * admm_rho must exceed 1");
  npairs_ = static_cast<long>(N) * (N - 1) / 2;
  P_.resize(N);
  Eigen::MatrixXd Psum = Eigen::MatrixXd::Zero(p, p);
  for (int i = 0; i < N; ++i) {
    Eigen::MatrixXd A = q[i].w * q[i].H();
    A.diagonal().array() += rho_ * N;
    P_[i] = A.ldlt().solve(Eigen::MatrixXd::Identity(p, p));
    Psum += P_[i];
  }
  Eigen::MatrixXd Zm = Eigen::MatrixXd::Identity(p, p) - rho_ * Psum;
  Zlu_.compute(Zm);
  eta_.resize(p, npairs_);
  v_ = Eigen::MatrixXd::Zero(p, npairs_);
  for (int i = 0; i < N; ++i)
    for (int j = i + 1; j < N; ++j) eta_.col(pair_index(i, j)) = beta.col(i) - beta.col(j);
  CN_ = opt.bic_constant >= 0 ? opt.bic_constant : std::log(std::log(static_cast<double>(N) * p));
  nobs_ = static_cast<double>(tr.n());
  t_.resize(p, N);
}

// ADMM iterations at lambda from the current (warm) state; returns the
// iterations done (admm_max_iter + 1 when not converged).
int FusionPath::admm(double lambda) {
  const int N = N_, p = p_;
  const double rho = rho_, gam = gam_;
  int it = 0;
  for (it = 1; it <= opt_.admm_max_iter; ++it) {
    // Serial: per-iteration work is tiny, thread hand-offs would dominate.
    {
      Eigen::VectorXd c(p);
      for (int i = 0; i < N; ++i) {
        c = q_[i].w * q_[i].g;
        for (int j = 0; j < i; ++j) {
          const long id = pair_index(j, i);
          c -= rho * eta_.col(id) - v_.col(id);
        }
        for (int j = i + 1; j < N; ++j) {
          const long id = pair_index(i, j);
          c += rho * eta_.col(id) - v_.col(id);
        }
        t_.col(i) = P_[i] * c;
      }
    }
    const Eigen::VectorXd s = Zlu_.solve(t_.rowwise().sum());
    for (int i = 0; i < N; ++i) beta.col(i) = t_.col(i) + rho * (P_[i] * s);
    double primal = 0.0;
    Eigen::VectorXd delta(p), diff(p);
    for (int i = 0; i < N; ++i) {
      for (int j = i + 1; j < N; ++j) {
        const long id = pair_index(i, j);
        diff = beta.col(i) - beta.col(j);
        delta = diff + v_.col(id) / rho;
        const double nd = delta.norm();
        if (nd >= gam * lambda) {
          eta_.col(id) = delta;
        } else {
          const double shrink =
              std::max(0.0, 1.0 - lambda / (rho * nd)) / (1.0 - 1.0 / (gam * rho));
          eta_.col(id) = shrink * delta;
        }
        v_.col(id) += rho * (diff - eta_.col(id));
        primal = std::max(primal, (diff - eta_.col(id)).norm());
      }
    }
    const double scale = std::max(1.0, beta.cwiseAbs().maxCoeff());
    if (primal <= opt_.admm_tol * scale) break;
  }
  return it;
}

int FusionPath::solve_at(double lambda, AcpeFit& fit) {
  const int it = admm(lambda);
  if (runtime().interrupted()) throw std::runtime_error("interrupted");
  std::vector<char> fused(npairs_);
  for (long id = 0; id < npairs_; ++id) fused[id] = eta_.col(id).squaredNorm() == 0.0;
  Eigen::VectorXi lab = components(N_, fused);
  const int K = lab.maxCoeff() + 1;
  const double loss = cluster_loss(q_, lab, K, p_);
  fit.lambda.push_back(lambda);
  fit.num_clusters.push_back(K);
  fit.bic.push_back(std::log(loss / nobs_) + CN_ * std::log(nobs_) * K * p_ / nobs_);
  fit.admm_iterations.push_back(std::min(it, opt_.admm_max_iter));
  fits.push_back(beta);
  labels.push_back(lab);
  return K;
}

// Fixed K: merge the two clusters whose union raises the (ridge) loss least,
// until K remain; returns the merged labels (relabelled by first appearance).
Eigen::VectorXi merge_to_K(const std::vector<Quadratic>& q, Eigen::VectorXi lab, int p, int K) {
  const int N = static_cast<int>(q.size());
  int Kc = lab.maxCoeff() + 1;
  std::vector<Eigen::MatrixXd> Hk(Kc, Eigen::MatrixXd::Zero(p, p));
  std::vector<Eigen::VectorXd> gk(Kc, Eigen::VectorXd::Zero(p));
  std::vector<double> ck(Kc, 0.0);
  for (int i = 0; i < N; ++i) {
    Hk[lab(i)] += q[i].w * q[i].H();
    gk[lab(i)] += q[i].w * q[i].g;
    ck[lab(i)] += q[i].w * q[i].c;
  }
  auto minloss = [&](const Eigen::MatrixXd& H, const Eigen::VectorXd& g, double c) {
    return c - g.dot(H.ldlt().solve(g));
  };
  std::vector<double> lk(Kc);
  for (int k = 0; k < Kc; ++k) lk[k] = minloss(Hk[k], gk[k], ck[k]);
  std::vector<char> alive(Kc, 1);
  for (int left = Kc; left > K; --left) {
    double best = std::numeric_limits<double>::infinity();
    int ba = -1, bb = -1;
    for (int a = 0; a < Kc; ++a) {
      if (!alive[a]) continue;
      for (int b2 = a + 1; b2 < Kc; ++b2) {
        if (!alive[b2]) continue;
        const double inc = minloss(Hk[a] + Hk[b2], gk[a] + gk[b2], ck[a] + ck[b2]) - lk[a] - lk[b2];
        if (inc < best) {
          best = inc;
          ba = a;
          bb = b2;
        }
      }
    }
    Hk[ba] += Hk[bb];
    gk[ba] += gk[bb];
    ck[ba] += ck[bb];
    lk[ba] = minloss(Hk[ba], gk[ba], ck[ba]);
    alive[bb] = 0;
    for (int i = 0; i < N; ++i)
      if (lab(i) == bb) lab(i) = ba;
  }
  return relabel(lab);
}

}  // namespace

AcpeFit acpe(const Transitions& tr, const std::vector<Eigen::MatrixXd>& policy,
             const AcpiOptions& opt) {
  const int d = tr.d(), m = tr.num_actions, p = d * m, N = tr.num_individuals;
  const auto rows = tr.rows_by_individual();
  std::vector<Quadratic> q(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd pnext(m);
    for (std::size_t i = b; i < e; ++i)
      q[i] = individual_quadratic(tr, rows[i], policy[i], opt, pnext);
  });
  // Unfused individual estimates and the fully fused (pooled) estimate.
  Eigen::MatrixXd beta(p, N);
  Eigen::MatrixXd Hs = Eigen::MatrixXd::Zero(p, p);
  Eigen::VectorXd gs = Eigen::VectorXd::Zero(p);
  for (int i = 0; i < N; ++i) {
    beta.col(i) = q[i].H().ldlt().solve(q[i].g);
    Hs += q[i].w * q[i].H();
    gs += q[i].w * q[i].g;
  }
  const Eigen::VectorXd pooled = Hs.ldlt().solve(gs);
  double lambda_max = 0.0;
  for (int i = 0; i < N; ++i)
    lambda_max = std::max(lambda_max, (q[i].w * (q[i].H() * pooled - q[i].g)).norm());
  lambda_max = std::max(lambda_max, 1e-12);

  AcpeFit fit;
  FusionPath path(q, beta, tr, opt);
  for (int l = 0; l < opt.num_lambda; ++l) {
    const double frac = opt.num_lambda == 1 ? 1.0 : static_cast<double>(l) / (opt.num_lambda - 1);
    const double lambda = lambda_max * std::pow(opt.lambda_min_ratio, 1.0 - frac);
    const int K = path.solve_at(lambda, fit);
    if (K == 1 || (opt.K > 0 && K < opt.K)) break;
  }
  const int L = static_cast<int>(fit.lambda.size());
  // The fit with the smallest BIC (among those with at least K clusters when K
  // is fixed).
  int chosen = -1;
  for (int l = 0; l < L; ++l) {
    if (opt.K > 0 && fit.num_clusters[l] < opt.K) continue;
    if (chosen < 0 || fit.bic[l] < fit.bic[chosen]) chosen = l;
  }
  fit.chosen = chosen;
  if (opt.K <= 0 || (chosen >= 0 && fit.num_clusters[chosen] == opt.K)) {
    fit.cluster = path.labels[chosen];
    fit.coef = path.fits[chosen];
    return fit;
  }
  if (opt.K > N) throw std::invalid_argument("K exceeds the number of individuals");
  const int from = chosen;
  const Eigen::VectorXi lab =
      from >= 0 ? path.labels[from] : Eigen::VectorXi(Eigen::VectorXi::LinSpaced(N, 0, N - 1));
  fit.cluster = merge_to_K(q, lab, p, opt.K);
  fit.coef = from >= 0 ? path.fits[from] : path.beta;
  return fit;
}

AcpiResult acpi(const Transitions& tr, const Eigen::VectorXi& given_cluster,
                const AcpiOptions& opt) {
  tr.validate();
  const int N = tr.num_individuals;
  AcpiResult res;
  auto improve = [&](const Eigen::VectorXi& cl) {
    const int K = cl.maxCoeff() + 1;
    res.W.assign(K, Eigen::MatrixXd());
    res.pi_iterations.assign(K, 0);
    res.pi_converged.assign(K, false);
    for (int k = 0; k < K; ++k) {
      std::vector<int> members;
      for (int i = 0; i < N; ++i)
        if (cl(i) == k) members.push_back(i);
      if (members.empty()) throw std::invalid_argument("empty cluster");
      LspiResult r = lspi(tr, members, opt.gamma, opt.ridge, opt.pi_max_iter);
      res.W[k] = r.W;
      res.pi_iterations[k] = r.iterations;
      res.pi_converged[k] = r.converged;
    }
  };
  if (given_cluster.size() > 0) {
    if (given_cluster.size() != N || given_cluster.minCoeff() < 0)
      throw std::invalid_argument("given clusters must be N labels >= 0");
    res.cluster = relabel(given_cluster);
    improve(res.cluster);
    res.clusters_stable = true;
    return res;
  }
  std::vector<Eigen::MatrixXd> policy(N);  // uniform to start
  for (int r = 1; r <= opt.max_outer; ++r) {
    res.last_acpe = acpe(tr, policy, opt);
    res.outer_iterations = r;
    const bool same = res.cluster.size() == N && res.cluster == res.last_acpe.cluster;
    res.cluster = res.last_acpe.cluster;
    improve(res.cluster);
    if (same) {
      res.clusters_stable = true;
      break;
    }
    for (int i = 0; i < N; ++i) policy[i] = res.W[res.cluster(i)];
  }
  return res;
}

}  // namespace p4l
