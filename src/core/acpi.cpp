#include "acpi.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "fqi.h"
#include "fusion_graph.h"
#include "moments.h"
#include "runtime.h"

namespace p4l {
namespace {

struct Quadratic {     // loss_i(beta) = (w / 2) (beta' H beta - 2 g' beta + c), H
                       // with ridge
  Eigen::MatrixXd Hm;  // H without the ridge (for the BIC), p x p; or empty, and
  Eigen::MatrixXd F;   // T x p with F'F = Hm (sparse graph, T < p: low_rank_quadratic())
  Eigen::VectorXd g;
  double c = 0.0, w = 1.0, ridge = 0.0;
  bool low_rank() const { return F.size() > 0; }
  // H = Hm + ridge I, formed when needed (one p x p matrix per individual is
  // not kept twice; the values are the same as when it was stored).
  Eigen::MatrixXd H() const {
    Eigen::MatrixXd h = low_rank() ? Eigen::MatrixXd(F.transpose() * F) : Hm;
    h.diagonal().array() += ridge;
    return h;
  }
  void add_H(Eigen::MatrixXd& A, double s) const {  // A += s H
    if (!low_rank()) {
      A += s * H();
    } else {
      A.noalias() += s * (F.transpose() * F);
      A.diagonal().array() += s * ridge;
    }
  }
  Eigen::VectorXd H_times(const Eigen::VectorXd& v) const {
    if (!low_rank()) return H() * v;
    return F.transpose() * (F * v) + ridge * v;
  }
  double quad_Hm(const Eigen::VectorXd& b) const {  // b' Hm b
    return low_rank() ? (F * b).squaredNorm() : b.dot(Hm * b);
  }
  Eigen::VectorXd solve_H(const Eigen::VectorXd& v) const {  // H^-1 v (Woodbury if low-rank)
    if (!low_rank()) return H().ldlt().solve(v);
    Eigen::MatrixXd A = F * F.transpose();
    A.diagonal().array() += ridge;
    return (v - F.transpose() * A.ldlt().solve(F * v)) / ridge;
  }
};

// Union-find labels of individuals joined by the given pairs, relabelled by
// first appearance (so the labels depend on the partition only).
Eigen::VectorXi components(int N, const std::vector<std::pair<int, int>>& joined) {
  std::vector<int> parent(N);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  for (const auto& e : joined) {
    const int a = find(e.first), b = find(e.second);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
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

// The MCP group threshold of a difference of norm nd (Ma and Huang 2017, the
// eta-step): the factor that multiplies it, with ADMM parameter rho and
// concavity gam (gam rho > 1). 0 fuses the pair; 1 leaves it unpenalised.
double mcp_factor(double nd, double lambda, double rho, double gam) {
  if (nd >= gam * lambda) return 1.0;
  return std::max(0.0, 1.0 - lambda / (rho * nd)) / (1.0 - 1.0 / (gam * rho));
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
        q[i].add_H(H, q[i].w);
        g += q[i].w * q[i].g;
      }
    const Eigen::VectorXd b = H.ldlt().solve(g);
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (cl(i) == k) loss += q[i].w * (q[i].quad_Hm(b) - 2.0 * q[i].g.dot(b) + q[i].c);
    }
  }
  return std::max(loss, 1e-300);
}

// An individual with T < p transitions, without p x p matrices: with X (T x
// p) the rows phi(s_t, a_t), D (T x p) the rows phi(s_t, a_t) - gamma
// phibar(s'_t), R the rewards, G = X X' and r the ridge of S, M = X'D / T,
// S = X'X / T + r I and b = X'R / T give (push-through identity)
//   Hm = M' S^-1 M = D' C D,  g = M' S^-1 b = D' C R,  c = b' S^-1 b = R' C R,
// C = G (G + r T I)^-1 / T = V diag(c_k) V' (G = V diag(l_k) V', c_k = l_k /
// ((l_k + r T) T)). Stored as F = diag(sqrt(c_k)) V'D, so Hm = F'F: T p + T^2
// numbers instead of p^2, and O(T^2 p) work instead of O(p^3).
Quadratic low_rank_quadratic(const TransitionData& tr, const std::vector<long>& rows,
                             const NextPolicy& policy, const AcpiOptions& opt) {
  const int T = static_cast<int>(rows.size());
  Eigen::MatrixXd X, D;
  Eigen::VectorXd R;
  bellman_design(tr, rows, policy, opt.gamma, X, D, R);
  Quadratic q;
  q.ridge = std::max(opt.ridge, 1e-8);
  const double rT = q.ridge * T;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(X * X.transpose());
  const Eigen::VectorXd l = es.eigenvalues().cwiseMax(0.0);
  const Eigen::VectorXd sc = (l.array() / ((l.array() + rT) * T)).sqrt();
  q.F = sc.asDiagonal() * (es.eigenvectors().transpose() * D);
  const Eigen::VectorXd CR = sc.asDiagonal() * (es.eigenvectors().transpose() * R);
  q.g = q.F.transpose() * CR;
  q.c = CR.squaredNorm();
  q.w = T;
  return q;
}

// Individual i's quadratic loss from its per-action moments (moments.h,
// averages over its T_i transitions): S = mean x x', M = S - gamma mean x
// pi(.|S')-weighted x_next' (next-state policy: uniform or greedy), b = mean R x.
Quadratic individual_quadratic(const TransitionData& tr, const std::vector<long>& rows,
                               const NextPolicy& policy, const AcpiOptions& opt) {
  const int p = tr.d() * tr.num_actions;
  if (opt.graph_neighbors > 0 && static_cast<long>(rows.size()) < p)
    return low_rank_quadratic(tr, rows, policy, opt);
  ActionMoments mom = action_moments(tr, rows, &policy, false);
  Eigen::MatrixXd S = mom.gram_matrix(), M = mom.take_bellman_matrix(opt.gamma);
  Eigen::VectorXd bv = mom.rhs();
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

// The concave fusion path (Ma and Huang): ADMM with the MCP penalty on the
// differences of the individuals joined in a fusion graph, warm-started along
// the increasing lambda grid. Each solve_at() records one path entry. Two
// graphs: every pair (CompleteFusion, the paper's) or a sparse k-nearest-
// neighbour + minimum-spanning-tree graph (GraphFusion, for many individuals).
class FusionPath {
 public:
  virtual ~FusionPath() = default;
  int solve_at(double lambda, AcpeFit& fit);  // returns the number of clusters
  std::vector<Eigen::MatrixXd> fits;          // beta at each path entry
  std::vector<Eigen::VectorXi> labels;        // clusters at each path entry
  Eigen::MatrixXd beta;                       // p x N, current

 protected:
  FusionPath(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
             const TransitionData& tr, const AcpiOptions& opt);
  // ADMM iterations at lambda from the current (warm) state; returns the
  // iterations done (admm_max_iter + 1 when not converged).
  virtual int admm(double lambda) = 0;
  virtual std::vector<std::pair<int, int>> fused_pairs() const = 0;
  const std::vector<Quadratic>& q_;
  const AcpiOptions& opt_;
  int N_, p_;
  double rho_, gam_, CN_, nobs_;
};

FusionPath::FusionPath(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
                       const TransitionData& tr, const AcpiOptions& opt)
    : beta(beta0), q_(q), opt_(opt) {
  N_ = static_cast<int>(q.size());
  p_ = static_cast<int>(beta0.rows());
  rho_ = opt.admm_rho;
  gam_ = opt.mcp_gamma;
  if (gam_ * rho_ <= 1.0) throw std::invalid_argument("mcp_gamma * admm_rho must exceed 1");
  CN_ = opt.bic_constant >= 0 ? opt.bic_constant : std::log(std::log(static_cast<double>(N_) * p_));
  nobs_ = static_cast<double>(tr.n());
}

int FusionPath::solve_at(double lambda, AcpeFit& fit) {
  const int it = admm(lambda);
  if (runtime().interrupted()) throw std::runtime_error("interrupted");
  Eigen::VectorXi lab = components(N_, fused_pairs());
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

// Every pair: eta_ij = beta_i - beta_j for all i < j, with the beta-step in
// closed form (the graph Laplacian of the complete graph is N I - 11').
// Memory: two p-vectors per pair.
class CompleteFusion : public FusionPath {
 public:
  CompleteFusion(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
                 const TransitionData& tr, const AcpiOptions& opt);

 private:
  long pair_index(int i, int j) const {
    return static_cast<long>(i) * N_ - static_cast<long>(i) * (i + 1) / 2 + (j - i - 1);
  }
  int admm(double lambda) override;
  std::vector<std::pair<int, int>> fused_pairs() const override;
  long npairs_;
  std::vector<Eigen::MatrixXd> P_;  // (w_i H_i + rho N I)^-1
  Eigen::PartialPivLU<Eigen::MatrixXd> Zlu_;
  Eigen::MatrixXd eta_, v_, t_;
};

// ADMM pieces that do not depend on lambda.
CompleteFusion::CompleteFusion(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
                               const TransitionData& tr, const AcpiOptions& opt)
    : FusionPath(q, beta0, tr, opt) {
  const int N = N_, p = p_;
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
  t_.resize(p, N);
}

int CompleteFusion::admm(double lambda) {
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
        eta_.col(id) = mcp_factor(delta.norm(), lambda, rho, gam) * delta;
        v_.col(id) += rho * (diff - eta_.col(id));
        primal = std::max(primal, (diff - eta_.col(id)).norm());
      }
    }
    const double scale = std::max(1.0, beta.cwiseAbs().maxCoeff());
    if (primal <= opt_.admm_tol * scale) break;
  }
  return it;
}

std::vector<std::pair<int, int>> CompleteFusion::fused_pairs() const {
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < N_; ++i)
    for (int j = i + 1; j < N_; ++j)
      if (eta_.col(pair_index(i, j)).squaredNorm() == 0.0) out.emplace_back(i, j);
  return out;
}

// A sparse graph: each edge e = (i, j) holds two copies z_e^i, z_e^j of beta_i
// and beta_j (constraints beta_i = z_e^i, ADMM parameter sigma = 2 rho) and the
// penalty MCP(||z_e^i - z_e^j||). The beta-step is one p x p solve per
// individual, the z-step the MCP threshold of the copies' difference (with
// parameter sigma / 2 = rho, so the threshold is the complete graph's) while
// their mean follows beta; both steps are parallel over individuals / edges.
// Memory: two single-precision p-vectors per edge end (the copy minus its
// dual, and the dual; the arithmetic is in double);
// per individual a p x p inverse, or with fewer transitions than p the
// low-rank factor of its loss and a T_i x T_i inverse.
class GraphFusion : public FusionPath {
 public:
  GraphFusion(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
              const TransitionData& tr, const AcpiOptions& opt,
              std::vector<std::pair<int, int>> edges);

 private:
  int admm(double lambda) override;
  std::vector<std::pair<int, int>> fused_pairs() const override;
  std::vector<std::pair<int, int>> edges_;
  std::vector<std::vector<long>> copies_;  // individual -> its copy columns in Y, U
  // (w_i H_i + sigma deg_i I)^-1: dense (P_), or by Woodbury from q.F when
  // it is low-rank, (c - w F'K F c) / a with a = w ridge + sigma deg_i and
  // K = (a I + w F F')^-1 (K_, T_i x T_i), a_[i] = a
  std::vector<Eigen::MatrixXd> P_, K_;
  std::vector<double> a_;
  // p x 2E: U the scaled duals of the copies z, Y = z - U (what the
  // individuals' step reads)
  Eigen::MatrixXf Y_, U_;
  std::vector<double> res_;  // per edge: primal and dual residual
  std::vector<char> fused_;
  double sigma_;
  bool parallel_ = false;  // worth the threads' hand-offs (see the constructor)
  template <class Fn>
  void for_range(std::size_t n, Fn&& fn) {  // the same results either way
    if (parallel_)
      runtime().parallel_for(n, fn);
    else
      fn(0, n);
  }
};

GraphFusion::GraphFusion(const std::vector<Quadratic>& q, const Eigen::MatrixXd& beta0,
                         const TransitionData& tr, const AcpiOptions& opt,
                         std::vector<std::pair<int, int>> edges)
    : FusionPath(q, beta0, tr, opt), edges_(std::move(edges)) {
  const int N = N_, p = p_;
  const long E = static_cast<long>(edges_.size());
  sigma_ = 2.0 * rho_;
  copies_.assign(N, {});
  for (long e = 0; e < E; ++e) {
    copies_[edges_[e].first].push_back(2 * e);
    copies_[edges_[e].second].push_back(2 * e + 1);
  }
  P_.resize(N);
  K_.resize(N);
  a_.assign(N, 0.0);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const double a = q[i].w * q[i].ridge + sigma_ * static_cast<double>(copies_[i].size());
      a_[i] = a;
      if (q[i].F.size() > 0) {
        const Eigen::MatrixXd& F = q[i].F;
        Eigen::MatrixXd A = q[i].w * (F * F.transpose());
        A.diagonal().array() += a;
        K_[i] = A.ldlt().solve(Eigen::MatrixXd::Identity(F.rows(), F.rows()));
      } else {
        Eigen::MatrixXd A = q[i].w * q[i].Hm;
        A.diagonal().array() += a;
        P_[i] = A.ldlt().solve(Eigen::MatrixXd::Identity(p, p));
      }
    }
  });
  Y_.resize(p, 2 * E);
  U_ = Eigen::MatrixXf::Zero(p, 2 * E);
  for (long e = 0; e < E; ++e) {
    Y_.col(2 * e) = beta.col(edges_[e].first).cast<float>();
    Y_.col(2 * e + 1) = beta.col(edges_[e].second).cast<float>();
  }
  res_.assign(E, 0.0);
  fused_.assign(E, 0);
  // Threads pay off above about 10^6 flops per iteration (two hand-offs per
  // iteration; on the 2-D study, 60 individuals, they made the path 4 times
  // slower): the individuals' solves plus about 12 p flops per edge.
  double work = 12.0 * p * static_cast<double>(E);
  for (int i = 0; i < N; ++i) {
    const double T = static_cast<double>(q[i].F.rows());
    work += q[i].low_rank() ? (2.0 * T * p + T * T) : static_cast<double>(p) * p;
  }
  parallel_ = work > 1e6;
}

int GraphFusion::admm(double lambda) {
  const int p = p_;
  const long E = static_cast<long>(edges_.size());
  int it = 0;
  for (it = 1; it <= opt_.admm_max_iter; ++it) {
    for_range(N_, [&](std::size_t b, std::size_t e) {
      Eigen::VectorXd c(p), Fc, f, Ftf(p);  // buffers reused across individuals
      for (std::size_t i = b; i < e; ++i) {
        c = q_[i].w * q_[i].g;
        for (long col : copies_[i]) c += sigma_ * Y_.col(col).cast<double>();
        if (q_[i].F.size() > 0) {
          const Eigen::MatrixXd& F = q_[i].F;
          Fc.noalias() = F * c;
          f.noalias() = K_[i] * Fc;
          Ftf.noalias() = F.transpose() * f;
          beta.col(i) = (c - q_[i].w * Ftf) / a_[i];
        } else {
          beta.col(i).noalias() = P_[i] * c;
        }
      }
    });
    for_range(E, [&](std::size_t b, std::size_t e) {
      // The copies and duals are stored in single precision (half the memory
      // traffic of the two passes) and computed with in double.
      Eigen::VectorXd x(p), y(p), zi(p), zj(p), Yi(p), Yj(p), Ui(p), Uj(p);
      for (std::size_t ee = b; ee < e; ++ee) {
        const int i = edges_[ee].first, j = edges_[ee].second;
        Yi = Y_.col(2 * ee).cast<double>();
        Yj = Y_.col(2 * ee + 1).cast<double>();
        Ui = U_.col(2 * ee).cast<double>();
        Uj = U_.col(2 * ee + 1).cast<double>();
        x = beta.col(i) + Ui;
        y = beta.col(j) + Uj;
        const double f = mcp_factor((x - y).norm(), lambda, rho_, gam_);
        zi = 0.5 * (x + y) + (0.5 * f) * (x - y);
        zj = 0.5 * (x + y) - (0.5 * f) * (x - y);
        // the previous copies are Y + U
        const double dual = std::max((zi - Yi - Ui).norm(), (zj - Yj - Uj).norm());
        Ui += beta.col(i) - zi;
        Uj += beta.col(j) - zj;
        U_.col(2 * ee) = Ui.cast<float>();
        U_.col(2 * ee + 1) = Uj.cast<float>();
        Y_.col(2 * ee) = (zi - Ui).cast<float>();
        Y_.col(2 * ee + 1) = (zj - Uj).cast<float>();
        const double primal = std::max((beta.col(i) - zi).norm(), (beta.col(j) - zj).norm());
        res_[ee] = std::max(primal, dual);
        fused_[ee] = f == 0.0;
      }
    });
    const double r = E > 0 ? *std::max_element(res_.begin(), res_.end()) : 0.0;
    const double scale = std::max(1.0, beta.cwiseAbs().maxCoeff());
    if (r <= opt_.admm_tol * scale) break;
    if ((it & 15) == 0 && runtime().interrupted()) break;
  }
  return it;
}

std::vector<std::pair<int, int>> GraphFusion::fused_pairs() const {
  std::vector<std::pair<int, int>> out;
  for (std::size_t e = 0; e < edges_.size(); ++e)
    if (fused_[e]) out.push_back(edges_[e]);
  return out;
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
    q[i].add_H(Hk[lab(i)], q[i].w);
    gk[lab(i)] += q[i].w * q[i].g;
    ck[lab(i)] += q[i].w * q[i].c;
  }
  auto minloss = [&](const Eigen::MatrixXd& H, const Eigen::VectorXd& g, double c) {
    return c - g.dot(H.ldlt().solve(g));
  };
  std::vector<double> lk(Kc);
  for (int k = 0; k < Kc; ++k) lk[k] = minloss(Hk[k], gk[k], ck[k]);
  // inc(a, b), a < b: the loss increase of merging a and b, cached and
  // recomputed only for the pairs of the cluster that grew (the merges are
  // those of a full rescan: same values, same order, same tie-breaking).
  Eigen::MatrixXd inc(Kc, Kc);
  auto pair_inc = [&](int a, int b2) {
    return minloss(Hk[a] + Hk[b2], gk[a] + gk[b2], ck[a] + ck[b2]) - lk[a] - lk[b2];
  };
  runtime().parallel_for(Kc, [&](std::size_t b, std::size_t e) {
    for (std::size_t a = b; a < e; ++a)
      for (int b2 = static_cast<int>(a) + 1; b2 < Kc; ++b2)
        inc(a, b2) = pair_inc(static_cast<int>(a), b2);
  });
  std::vector<char> alive(Kc, 1);
  for (int left = Kc; left > K; --left) {
    double best = std::numeric_limits<double>::infinity();
    int ba = -1, bb = -1;
    for (int a = 0; a < Kc; ++a) {
      if (!alive[a]) continue;
      for (int b2 = a + 1; b2 < Kc; ++b2) {
        if (!alive[b2]) continue;
        if (inc(a, b2) < best) {
          best = inc(a, b2);
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
    runtime().parallel_for(Kc, [&](std::size_t b, std::size_t e) {
      for (std::size_t c = b; c < e; ++c) {
        const int o = static_cast<int>(c);
        if (o == ba || !alive[o]) continue;
        if (o < ba)
          inc(o, ba) = pair_inc(o, ba);
        else
          inc(ba, o) = pair_inc(ba, o);
      }
    });
  }
  return relabel(lab);
}

}  // namespace

AcpeFit acpe(const TransitionData& tr, const std::vector<Eigen::MatrixXd>& policy,
             const AcpiOptions& opt) {
  const int d = tr.d(), m = tr.num_actions, p = d * m, N = tr.num_individuals();
  std::vector<Quadratic> q(N);
  runtime().parallel_for(N, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const int ii = static_cast<int>(i);
      q[i] = individual_quadratic(tr, rows_of(tr, ii), NextPolicy::greedy_or_uniform(policy[i], m),
                                  opt);
    }
  });
  // Unfused individual estimates and the fully fused (pooled) estimate.
  Eigen::MatrixXd beta(p, N);
  Eigen::MatrixXd Hs = Eigen::MatrixXd::Zero(p, p);
  Eigen::VectorXd gs = Eigen::VectorXd::Zero(p);
  for (int i = 0; i < N; ++i) {
    beta.col(i) = q[i].solve_H(q[i].g);
    q[i].add_H(Hs, q[i].w);
    gs += q[i].w * q[i].g;
  }
  const Eigen::VectorXd pooled = Hs.ldlt().solve(gs);
  Eigen::MatrixXd grad(p, N);  // the individual loss gradients at the pooled fit
  for (int i = 0; i < N; ++i) grad.col(i) = q[i].w * (q[i].H_times(pooled) - q[i].g);
  double lambda_max = std::max(grad.colwise().norm().maxCoeff(), 1e-12);
  // The grid runs from lambda_min_ratio * lambda_max up to lambda_top:
  // lambda_max for every pair; for a sparse graph, where a few edges may carry
  // the pull of whole groups, at least the tree's fusion bound.
  double lambda_top = lambda_max;

  AcpeFit fit;
  std::unique_ptr<FusionPath> solver;
  if (opt.graph_neighbors > 0) {
    FusionGraph g = knn_mst_graph(beta, opt.graph_neighbors);
    lambda_top = std::max(lambda_max, tree_fusion_lambda(g.tree, grad));
    fit.num_edges = static_cast<long>(g.edges.size());
    solver = std::make_unique<GraphFusion>(q, beta, tr, opt, std::move(g.edges));
  } else {
    fit.num_edges = static_cast<long>(N) * (N - 1) / 2;
    solver = std::make_unique<CompleteFusion>(q, beta, tr, opt);
  }
  FusionPath& path = *solver;
  for (int l = 0; l < opt.num_lambda; ++l) {
    const double frac = opt.num_lambda == 1 ? 1.0 : static_cast<double>(l) / (opt.num_lambda - 1);
    const double lambda =
        lambda_top == lambda_max
            ? lambda_max * std::pow(opt.lambda_min_ratio, 1.0 - frac)
            : lambda_max * opt.lambda_min_ratio *
                  std::pow(lambda_top / (lambda_max * opt.lambda_min_ratio), frac);
    const int K = path.solve_at(lambda, fit);
    if (K == 1 || (opt.K > 0 && K < opt.K)) break;
    // sparse graph, K fixed: the first lambda with K clusters ends the path
    if (opt.graph_neighbors > 0 && opt.K > 0 && K == opt.K) break;
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

AcpiResult acpi(const TransitionData& tr, const Eigen::VectorXi& given_cluster,
                const AcpiOptions& opt) {
  tr.validate();
  const int N = tr.num_individuals();
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
