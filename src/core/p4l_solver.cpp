// P4L solver core; see p4l_solver.h and shared/design/solver.md.
#include "p4l_solver.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>

#include "inner_regularised.h"
#include "p4l_sgd.h"
#include "rng.h"
#include "softmax.h"

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using Eigen::VectorXi;

namespace {

void fail(const std::string& msg) { throw std::invalid_argument("p4l: " + msg); }

// Initial-state policies of a block of nb individuals: IL[a] = psi0 Theta_a Ub'
// (logits, a >= 1) and IP[a] = pi_a(S0_j; u_i) (n0 x nb, columns = individuals),
// with the reference-action softmax of softmax.h. One GEMM per action
// replaces nb matrix-vector products.
constexpr int kInitBlock = 64;
template <class UB>
void init_policy_block(const std::vector<MatrixXd>& P0, const UB& Ub, int m, int n0,
                       std::vector<MatrixXd>& IL, std::vector<MatrixXd>& IP) {
  const Eigen::Index nb = Ub.rows();
  IL.resize(m);
  IP.resize(m);
  for (int a = 0; a < m; ++a) {
    IL[a].resize(n0, kInitBlock);
    IP[a].resize(n0, kInitBlock);
  }
  for (int a = 1; a < m; ++a) IL[a].leftCols(nb).noalias() = P0[a - 1] * Ub.transpose();
  softmax_ref_blocks(IL, IP, m, nb);
}
}  // namespace

// ---------------------------------------------------------------------------
void validate(const P4LData& D) {
  const Eigen::Index n = D.psi.rows(), d = D.psi.cols();
  if (n < 1 || d < 1) fail("psi must have at least one row and one column");
  if (D.num_actions < 2) fail("num_actions must be >= 2");
  if (D.psi_next.rows() != n || D.psi_next.cols() != d) fail("psi_next must be n x d like psi");
  if (D.action.size() != n) fail("action must have length n");
  if (D.reward.size() != n) fail("reward must have length n");
  if (static_cast<Eigen::Index>(D.terminal.size()) != n) fail("terminal must have length n");
  if (D.start.size() < 2) fail("start must have N+1 >= 2 entries");
  if (D.start.front() != 0 || D.start.back() != n) fail("start must run from 0 to n");
  for (std::size_t i = 0; i + 1 < D.start.size(); ++i)
    if (D.start[i + 1] <= D.start[i])
      fail("every individual needs >= 1 transition (start increasing)");
  if (D.psi0.rows() < 1 || D.psi0.cols() != d) fail("psi0 must be n0 x d with n0 >= 1");
  for (Eigen::Index t = 0; t < n; ++t)
    if (D.action(t) < 0 || D.action(t) >= D.num_actions) fail("action index out of range");
  if (!D.psi.allFinite() || !D.reward.allFinite() || !D.psi0.allFinite())
    fail("psi, reward and psi0 must be finite");
  for (Eigen::Index t = 0; t < n; ++t)
    if (!D.terminal[t] && !D.psi_next.row(t).allFinite())
      fail("psi_next must be finite on non-terminal rows");
}

MatrixXd DualSolution::W() const { return Eigen::Map<const MatrixXd>(theta.data(), p, r); }
MatrixXd DualSolution::Z() const { return Eigen::Map<const MatrixXd>(z.data(), p, r); }

// ---------------------------------------------------------------------------
P4LProblem::P4LProblem(const P4LData& D) : P4LProblem(D, 0, 0) {}

P4LProblem::P4LProblem(const P4LData& D, int max_initial, std::uint64_t seed)
    : P4LProblem(D, max_initial, seed, false) {}

P4LProblem::P4LProblem(const P4LData& D, int max_initial, std::uint64_t seed, bool visited)
    : data_(&D), visited_(visited) {
  validate(D);
  n_ = static_cast<int>(D.psi.rows());
  d_ = static_cast<int>(D.psi.cols());
  m_ = D.num_actions;
  p_ = m_ * d_;
  N_ = static_cast<int>(D.start.size()) - 1;
  const int n0all = static_cast<int>(D.psi0.rows());
  // initial-state rows: all, or a seeded subsample without replacement (sorted)
  init_rows_.resize(n0all);
  std::iota(init_rows_.begin(), init_rows_.end(), 0);
  if (max_initial > 0 && n0all > max_initial) {
    std::mt19937_64 g = make_stream(seed, 0x70736930u /* "psi0" */);
    for (int k = 0; k < max_initial; ++k) {
      int j = k + static_cast<int>(unif01(g) * (n0all - k));
      j = std::min(j, n0all - 1);
      std::swap(init_rows_[k], init_rows_[j]);
    }
    init_rows_.resize(max_initial);
    std::sort(init_rows_.begin(), init_rows_.end());
  }
  n0_ = static_cast<int>(init_rows_.size());
  psi0s_.resize(n0_, d_);
  for (int k = 0; k < n0_; ++k) psi0s_.row(k) = D.psi0.row(init_rows_[k]);
  psi0sT_ = psi0s_.transpose();
  psi0mean_ = psi0sT_.rowwise().mean();
  // Fixed chunks over individuals, balanced by transitions; the boundaries
  // depend on the data only (never on the thread count).
  // Each chunk keeps its own policy-dependent sums (m (m-1) d^2 doubles per
  // latent pair, zeroed at every evaluation): with many actions, fewer chunks
  // (at most about 1e6 such doubles in all), else memory traffic dominates.
  const double per_chunk = static_cast<double>(D.num_actions) * (D.num_actions - 1) *
                           static_cast<double>(D.psi.cols()) * static_cast<double>(D.psi.cols());
  const int mem_cap = static_cast<int>(std::max(1.0, std::floor(1e6 / std::max(1.0, per_chunk))));
  const int nch = std::max(1, std::min({32, N_ / 4, mem_cap}));
  chunk_.assign(nch + 1, 0);
  chunk_[nch] = N_;
  for (int c = 1; c < nch; ++c) {
    const long long target = static_cast<long long>(n_) * c / nch;
    int i = static_cast<int>(std::lower_bound(D.start.begin(), D.start.end(), target) -
                             D.start.begin());
    chunk_[c] = std::min(std::max(i, chunk_[c - 1] + 1), N_ - (nch - c));
  }
  maxT_ = 0;
  for (int i = 0; i < N_; ++i) maxT_ = std::max(maxT_, D.start[i + 1] - D.start[i]);
  intercept_ = (D.psi.col(0).array() == 1.0).all() && (D.psi0.col(0).array() == 1.0).all();
  const int d = d_, m = m_;
  psiS_.resize(d, n_);
  psinS_.resize(d, n_);
  termS_.assign(n_, 0);
  Ablk_.resize(d, static_cast<Eigen::Index>(N_) * m * d);
  Kblk_.resize(d, static_cast<Eigen::Index>(N_) * m * d);
  bI_.setZero(p_, N_);
  trA_.setZero(N_);
  perm_.resize(n_);
  acnt_.assign(static_cast<std::size_t>(N_) * m_, 0);
  runtime().parallel_for(static_cast<std::size_t>(N_), [&](std::size_t lo, std::size_t hi) {
    std::vector<int> cnt(m), off(m);
    VectorXd R(maxT_);
    for (std::size_t ii = lo; ii < hi; ++ii) {
      const int i = static_cast<int>(ii);
      const int s0 = D.start[i], s1 = D.start[i + 1];
      std::fill(cnt.begin(), cnt.end(), 0);
      for (int t = s0; t < s1; ++t) ++cnt[D.action(t)];
      off[0] = s0;
      for (int a = 1; a < m; ++a) off[a] = off[a - 1] + cnt[a - 1];
      for (int t = s0; t < s1; ++t) {
        const int q = off[D.action(t)]++;
        perm_[q] = t;
        psiS_.col(q) = D.psi.row(t).transpose();
        termS_[q] = D.terminal[t];
        if (D.terminal[t])
          psinS_.col(q).setZero();
        else
          psinS_.col(q) = D.psi_next.row(t).transpose();
      }
      int pos = s0;
      double tr = 0;
      for (int a = 0; a < m; ++a) {
        const int Ta = cnt[a];
        acnt_[static_cast<std::size_t>(i) * m + a] = Ta;
        const Eigen::Index col = (static_cast<Eigen::Index>(i) * m + a) * d;
        auto Aa = Ablk_.middleCols(col, d);
        auto Ka = Kblk_.middleCols(col, d);
        if (Ta > 0) {
          const auto X = psiS_.middleCols(pos, Ta);
          for (int k = 0; k < Ta; ++k) R(k) = D.reward(perm_[pos + k]);
          Aa.noalias() = X * X.transpose();
          Ka.noalias() = X * psinS_.middleCols(pos, Ta).transpose();
          bI_.block(a * d, i, d, 1).noalias() = X * R.head(Ta);
        } else {
          Aa.setZero();
          Ka.setZero();
        }
        tr += Aa.trace();
        pos += Ta;
      }
      trA_(i) = tr;
    }
  });
}

Gradient P4LProblem::evaluate(const Params& par, double gamma, double alpha, double dual_ridge,
                              bool want_grad, double kappa) const {
  Gradient out;
  value_pass(par, gamma, alpha, dual_ridge, kappa, out);
  if (want_grad) grad_pass(out);
  return out;
}

void P4LProblem::complete_gradient(Gradient& g) const {
  if (!ws_.have_last) throw std::logic_error("p4l: complete_gradient() before evaluate()");
  grad_pass(g);
}

void P4LProblem::value_pass(const Params& par, double gamma, double alpha, double dual_ridge,
                            double kappa, Gradient& out) const {
  const P4LData& D = *data_;
  const int N = N_, n = n_, d = d_, m = m_, p = p_, n0 = n0_;
  const int r = static_cast<int>(par.U.cols());
  const int pr = p * r;
  if (par.U.rows() != N || r < 1) throw std::invalid_argument("p4l: U must be N x r, r >= 1");
  if (par.Theta.rows() != (m - 1) * d || par.Theta.cols() != r)
    throw std::invalid_argument("p4l: Theta must be (m-1) d x r");
  if (!(gamma >= 0 && gamma < 1)) throw std::invalid_argument("p4l: gamma must be in [0, 1)");
  if (!(alpha >= 0)) throw std::invalid_argument("p4l: alpha must be >= 0");
  if (!(kappa >= 0)) throw std::invalid_argument("p4l: kappa must be >= 0");
  const MatrixXd& Th = par.Theta;
  const MatrixXd& U = par.U;
  const int nch = static_cast<int>(chunk_.size()) - 1;
  const int npair = r * (r + 1) / 2;
  const int m1 = m - 1;
  Work& ws = ws_;
  ws.have_last = false;
  ws.ch.resize(nch);
  ws.Pi.resize(n, m);
  ws.P0.resize(m1);
  if (!visited_)
    for (int a = 1; a < m; ++a) ws.P0[a - 1].noalias() = psi0s_ * Th.middleRows((a - 1) * d, d);
  if (visited_) ws.Piv.resize(n, m);
  // U-only sums (Sigma, b, A and K parts of M) are reused while U is unchanged.
  const bool ucache = ws.ucache_valid && ws.Ucache.rows() == N && ws.Ucache.cols() == r &&
                      (ws.Ucache.array() == U.array()).all();
  MatrixXd& Pi = ws.Pi;
  const std::vector<MatrixXd>& P0 = ws.P0;

  // ---- pass 1: policy at next states, B_i, and chunk sums
  runtime().parallel_for(static_cast<std::size_t>(nch), [&](std::size_t lo, std::size_t hi) {
    VectorXd u(r), fv(d);
    MatrixXd ThU(d, m1);
    for (std::size_t cix = lo; cix < hi; ++cix) {
      Chunk& C = ws.ch[cix];
      const int i0 = chunk_[cix], i1 = chunk_[cix + 1];
      C.L.resize(maxT_, m1);
      C.w1.resize(maxT_);
      C.w2.resize(maxT_);
      C.Y.resize(m1 * d, maxT_);
      C.Bv.resize(d, m1 * d);
      C.MB.setZero(d, static_cast<Eigen::Index>(npair) * m * m1 * d);
      // Initial-state term. c = (1-gamma)/N sum_i u_i (x) E_nu[sum_a pi(a|S0;u_i) phi(S0,a)]
      // needs only W0_a = sum_i pi_a(S0_j; u_i) u_i' (n0 x r per action a >= 1;
      // block a = 0 follows from sum_a pi_a = 1): O(n0 r) per individual, not O(n0 d).
      if (visited_)
        C.Wv.setZero(d, static_cast<Eigen::Index>(m) * r);
      else
        C.W0.setZero(n0, static_cast<Eigen::Index>(m1) * r);
      if (!ucache) {
        C.SA.setZero(d, static_cast<Eigen::Index>(npair) * m * d);
        C.MK.setZero(d, static_cast<Eigen::Index>(npair) * m * d);
        C.b.setZero(pr);
        C.tr = 0;
      }
      // initial states, by blocks of individuals
      for (int j0 = i0; j0 < i1 && !visited_; j0 += kInitBlock) {
        const int nb = std::min(kInitBlock, i1 - j0);
        const auto Ub = U.middleRows(j0, nb);
        init_policy_block(P0, Ub, m, n0, C.IL, C.IP);
        for (int a = 1; a < m; ++a)
          C.W0.middleCols(static_cast<Eigen::Index>(a - 1) * r, r).noalias() +=
              C.IP[a].leftCols(nb) * Ub;
      }
      for (int i = i0; i < i1; ++i) {
        const int s0 = D.start[i], T = D.start[i + 1] - s0;
        u = U.row(i).transpose();
        // policy at the next states
        for (int a = 1; a < m; ++a) ThU.col(a - 1).noalias() = Th.middleRows((a - 1) * d, d) * u;
        auto L = C.L.topRows(T);
        L.noalias() = psinS_.middleCols(s0, T).transpose() * ThU;
        auto PiI = Pi.middleRows(s0, T);
        softmax_ref_rows(L, PiI, C.w1, C.w2);
        for (int t = 0; t < T; ++t)
          if (termS_[s0 + t]) PiI.row(t).setZero();
        if (visited_) {
          // policy at the visited states; c gets (1/T_i) Psi_i pi_a(S_i) u_i' for every a
          L.noalias() = psiS_.middleCols(s0, T).transpose() * ThU;
          auto PvI = ws.Piv.middleRows(s0, T);
          softmax_ref_rows(L, PvI, C.w1, C.w2);
          for (int a = 0; a < m; ++a) {
            fv.noalias() = psiS_.middleCols(s0, T) * PvI.col(a);
            C.Wv.middleCols(static_cast<Eigen::Index>(a) * r, r).noalias() +=
                (1.0 / T) * fv * u.transpose();
          }
        }
        // policy-dependent blocks of B_i: Bv_a = sum_{t: a_t = a} psi_t [pi_b(S'_t) psi(S'_t)]_{b>=1}'
        int pos = s0;
        for (int a = 0; a < m; ++a) {
          const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
          if (Ta == 0) continue;
          auto Y = C.Y.leftCols(Ta);
          for (int b = 1; b < m; ++b)
            Y.middleRows((b - 1) * d, d).noalias() =
                psinS_.middleCols(pos, Ta) * Pi.col(b).segment(pos, Ta).asDiagonal();
          C.Bv.noalias() = psiS_.middleCols(pos, Ta) * Y.transpose();
          int kl = 0;
          for (int k = 0; k < r; ++k)
            for (int l = k; l < r; ++l, ++kl)
              C.MB.middleCols((static_cast<Eigen::Index>(kl) * m + a) * m1 * d, m1 * d) +=
                  (u(k) * u(l)) * C.Bv;
          pos += Ta;
        }
        if (!ucache) {
          int kl = 0;
          for (int k = 0; k < r; ++k)
            for (int l = k; l < r; ++l, ++kl) {
              const double ukl = u(k) * u(l);
              const Eigen::Index col = static_cast<Eigen::Index>(kl) * m * d;
              const Eigen::Index icol = static_cast<Eigen::Index>(i) * m * d;
              C.SA.middleCols(col, m * d) += ukl * Ablk_.middleCols(icol, m * d);
              C.MK.middleCols(col, m * d) += ukl * Kblk_.middleCols(icol, m * d);
            }
          for (int k = 0; k < r; ++k) C.b.segment(k * p, p) += u(k) * bI_.col(i);
          C.tr += u.squaredNorm() * trA_(i);
        }
      }
    }
  });
  // serial reduction in chunk order
  if (!ucache) {
    ws.SAsum = ws.ch[0].SA;
    ws.MKsum = ws.ch[0].MK;
    ws.bsum = ws.ch[0].b;
    ws.trsum = ws.ch[0].tr;
    for (int c = 1; c < nch; ++c) {
      ws.SAsum += ws.ch[c].SA;
      ws.MKsum += ws.ch[c].MK;
      ws.bsum += ws.ch[c].b;
      ws.trsum += ws.ch[c].tr;
    }
    ws.Ucache = U;
    ws.ucache_valid = true;
  }
  MatrixXd MBs = ws.ch[0].MB;
  MatrixXd W0 = visited_ ? ws.ch[0].Wv : ws.ch[0].W0;
  for (int ch = 1; ch < nch; ++ch) {
    MBs += ws.ch[ch].MB;
    W0 += visited_ ? ws.ch[ch].Wv : ws.ch[ch].W0;
  }
  VectorXd c(pr);
  if (visited_) {
    for (int k = 0; k < r; ++k)
      for (int a = 0; a < m; ++a)
        c.segment(k * p + a * d, d) = W0.col(static_cast<Eigen::Index>(a) * r + k);
  } else {
    const Eigen::RowVectorXd Usum = U.colwise().sum();
    for (int k = 0; k < r; ++k) {
      c.segment(k * p, d) = psi0mean_ * Usum(k);
      for (int a = 1; a < m; ++a) {
        c.segment(k * p + a * d, d).noalias() =
            psi0sT_ * W0.col(static_cast<Eigen::Index>(a - 1) * r + k) * (1.0 / n0);
        c.segment(k * p, d) -= c.segment(k * p + a * d, d);
      }
    }
  }
  // assemble M = sum_i (u u') (x) (A_i - gamma B_i) and Sigma (symmetric in the pair (k, l))
  MatrixXd M = MatrixXd::Zero(pr, pr), S = MatrixXd::Zero(pr, pr);
  {
    int kl = 0;
    for (int k = 0; k < r; ++k)
      for (int l = k; l < r; ++l, ++kl) {
        auto Mkl = M.block(k * p, l * p, p, p);
        auto Skl = S.block(k * p, l * p, p, p);
        for (int a = 0; a < m; ++a) {
          const Eigen::Index col = (static_cast<Eigen::Index>(kl) * m + a) * d;
          Skl.block(a * d, a * d, d, d) = ws.SAsum.middleCols(col, d);
          Mkl.block(a * d, a * d, d, d) += ws.SAsum.middleCols(col, d);
          Mkl.block(a * d, 0, d, d) -= gamma * ws.MKsum.middleCols(col, d);
          for (int b = 1; b < m; ++b) {
            const auto Bab =
                MBs.middleCols(((static_cast<Eigen::Index>(kl) * m + a) * m1 + (b - 1)) * d, d);
            Mkl.block(a * d, b * d, d, d) -= gamma * Bab;
            Mkl.block(a * d, 0, d, d) += gamma * Bab;
          }
        }
        if (l != k) {
          M.block(l * p, k * p, p, p) = Mkl;
          S.block(l * p, k * p, p, p) = Skl;
        }
      }
  }
  VectorXd b = ws.bsum;
  M /= n;
  S /= n;
  b /= n;
  c *= (1.0 - gamma) / N;
  const double trS = ws.trsum / n;
  const double eps = dual_ridge * trS / pr;
  M.diagonal().array() += eps;
  S.diagonal().array() += eps;

  DualSolution& ds = out.dual;
  ds.alpha = alpha;
  ds.gamma = gamma;
  ds.eps = eps;
  ds.kappa = kappa;
  ds.p = p;
  ds.r = r;
  if (kappa > 0) {
    // ---- regularised inner problem (see DualSolution in p4l_solver.h)
    VectorXd t1;
    if (intercept_) {
      t1.setZero(pr);
      for (int a = 0; a < m; ++a) t1(a * d) = 1.0;
    }
    if (!ws.reg || ws.reg_r != r) {
      ws.reg = std::make_unique<RegularisedInner>(m, d, r, iterative_min_);
      ws.reg_r = r;
    }
    RegularisedSolution rs = ws.reg->solve(M, S, b, c, t1, kappa);
    ds.rcond = rs.rcond;
    ds.s = rs.s;
    ds.lambda = rs.s;
    ds.w = std::move(rs.w);
    ds.y = std::move(rs.y);
    ds.z = std::move(rs.z);
    ds.e0 = std::move(rs.e0);
    ds.a0 = std::move(rs.a0);
    ds.yc = std::move(rs.yc);
  } else {
    // ---- the paper's closed form (one LU of M serves M^-1 and M^-T)
    Eigen::PartialPivLU<MatrixXd> lu(M);
    ds.rcond = lu.rcond();
    ds.w = lu.solve(b);
    ds.z = lu.transpose().solve(c);
    const VectorXd Sz = S * ds.z;
    ds.s = std::sqrt(std::max(0.0, ds.z.dot(Sz)));
    ds.lambda = ds.s;
    ds.y = lu.solve(Sz);
    ds.e0.setZero(pr);
    ds.a0.setZero(pr);
    ds.yc.setZero(pr);
  }
  // Common to both: V = c'w - alpha s, theta* = w - iota y, and the maximising
  // test function, the Sigma-normalised residual at theta*,
  // Sigma^-1 (b - M theta*) = e0 + iota z (= iota z, i.e. beta = z / s, when kappa = 0).
  ds.point_value = c.dot(ds.w);
  ds.V = ds.point_value - alpha * ds.s;
  ds.iota = (ds.s > 0) ? alpha / ds.s : 0.0;
  ds.theta = ds.w - ds.iota * ds.y;
  if (alpha > 0 && ds.s > 0) {
    if (kappa > 0) {
      const VectorXd es = ds.e0 + ds.iota * ds.z;
      const double en = std::sqrt(std::max(0.0, es.dot(S * es)));
      ds.beta = en > 0 ? VectorXd(es / en) : VectorXd::Zero(pr);
    } else {
      ds.beta = ds.z / ds.s;
    }
  } else {
    ds.beta.setZero(pr);
  }
  ds.b = std::move(b);
  ds.c = std::move(c);
  ds.M = std::move(M);
  ds.Sigma = std::move(S);
  ws.last.Theta = Th;
  ws.last.U = U;
  ws.gamma = gamma;
  ws.dual_ridge = dual_ridge;
  ws.have_last = true;
}

// Gradient by the adjoint identity (envelope theorem on the saddle point):
//   dV = theta*' dc + z' db + sum_j s_j l_j' dM r_j + sum_k w_k a_k' dSigma b_k,
// for the parameters of the last value_pass (its policy Pi at next states is
// reused). kappa = 0: one M-term (-1; z, theta*) and one Sigma-term
// (-alpha/(2s); z, z). kappa > 0 (p4l_solver.h, DualSolution):
//   M-terms     -z' dM theta*  +  e0' dM y,
//   Sigma-terms -e0' dSigma z - (iota/2) z' dSigma z - kappa a0' dSigma yc
//               + (kappa iota/2) yc' dSigma yc.
// Every M-term contributes to dV/du_i through (u u') (x) (A_i - gamma B_i) and,
// through B_i, the off-policy actor-critic term sum_t f_t pi_a adv_a psi(S'_t)
// with f_t = phi_t' L u (the weight) and adv under the Q weights R.
void P4LProblem::grad_pass(Gradient& out) const {
  const P4LData& D = *data_;
  Work& ws = ws_;
  const Params& par = ws.last;
  const DualSolution& ds = out.dual;
  const double gamma = ws.gamma, dual_ridge = ws.dual_ridge, kappa = ds.kappa;
  const int N = N_, n = n_, d = d_, m = m_, p = p_, n0 = n0_;
  const int m1 = m - 1;
  const int r = static_cast<int>(par.U.cols());
  const int pr = p * r;
  if (ds.theta.size() != pr || ds.z.size() != pr || ds.y.size() != pr)
    throw std::logic_error(
        "p4l: complete_gradient(): dual solution does not match the last evaluation");
  const MatrixXd& Th = par.Theta;
  const MatrixXd& U = par.U;
  const int nch = static_cast<int>(chunk_.size()) - 1;
  const MatrixXd& Pi = ws.Pi;
  const std::vector<MatrixXd>& P0 = ws.P0;
  const double iota = ds.iota;
  const Eigen::Map<const MatrixXd> Wt(ds.theta.data(), p, r), Z(ds.z.data(), p, r);
  // the bilinear terms of the identity (weights as matrices p x r)
  struct MTerm {
    const double* l;
    const double* r;
    double sign;
  };
  struct STerm {
    const double* a;
    const double* b;
    double weight;
  };
  std::vector<MTerm> mterms{{ds.z.data(), ds.theta.data(), -1.0}};
  std::vector<STerm> sterms{{ds.z.data(), ds.z.data(), -0.5 * iota}};
  if (kappa > 0) {
    mterms.push_back({ds.e0.data(), ds.y.data(), 1.0});
    sterms.push_back({ds.e0.data(), ds.z.data(), -1.0});
    sterms.push_back({ds.a0.data(), ds.yc.data(), -kappa});
    sterms.push_back({ds.yc.data(), ds.yc.data(), 0.5 * kappa * iota});
  }
  // the ridge eps adds eps I to M and Sigma: its share of every term is l'r (a'b)
  double eps_sum = 0;
  for (const MTerm& mt : mterms)
    eps_sum +=
        mt.sign * Eigen::Map<const VectorXd>(mt.l, pr).dot(Eigen::Map<const VectorXd>(mt.r, pr));
  for (const STerm& st : sterms)
    eps_sum +=
        st.weight * Eigen::Map<const VectorXd>(st.a, pr).dot(Eigen::Map<const VectorXd>(st.b, pr));
  // derivative of eps: d eps / d u_i = dual_ridge/(p r) * (2/n) tr(A_i) u_i
  const double eps_coef = (dual_ridge / pr) * (2.0 / n) * eps_sum;
  ws.Q0.resize(m);  // psi0 Wt_a (n0 x r)
  if (!visited_)
    for (int a = 0; a < m; ++a) ws.Q0[a].noalias() = psi0s_ * Wt.middleRows(a * d, d);
  const std::vector<MatrixXd>& Q0 = ws.Q0;
  out.dU.resize(N, r);
  const double c_init = (1.0 - gamma) / N;
  runtime().parallel_for(static_cast<std::size_t>(nch), [&](std::size_t lo, std::size_t hi) {
    VectorXd u(r), lu(p), ru(p), Alu(p), Aru(p), au(p), bu(p), gu(r), g0(r), xv(d), wv(p);
    MatrixXd Hs(d, m1), Ov(d, m), Qv;
    for (std::size_t cix = lo; cix < hi; ++cix) {
      Chunk& C = ws.ch[cix];
      const int i0 = chunk_[cix], i1 = chunk_[cix + 1];
      C.dT.setZero(m1 * d, r);
      if (!visited_) C.R.setZero(n0, static_cast<Eigen::Index>(m1) * r);
      C.Qn.resize(maxT_, m);
      C.f.resize(maxT_);
      C.vb.resize(maxT_);
      C.Coef.resize(maxT_, m1);
      C.FP.resize(maxT_, m);
      C.H.resize(d, m1);
      C.Bw.resize(d, m);
      C.Btz.resize(d, m);
      for (int j0 = i0; j0 < i1; j0 += kInitBlock) {
        const int nb = std::min(kInitBlock, i1 - j0);
        // Initial-state part, in r-dimensional form (Q0_a = psi0 Wt_a, P0_a = psi0 Theta_a),
        // for a block of individuals (columns) at a time:
        //   theta*' dc/du_i -> Wt' g_i = (1/n0) sum_a Q0_a' pi_a(.; u_i);
        //   policy gradient -> E_a = pi_a (Qt_a - sum_b pi_b Qt_b) at S0 enters dV/du_i
        //   through (1/n0) Theta_a' psi0' E_a = (1/n0) P0_a' E_a, and dV/dTheta_a
        //   through (1/n0) psi0' (sum_i E_a u_i') (accumulated in R, mapped by psi0' once).
        if (!visited_) {
          const auto Ub = U.middleRows(j0, nb);
          init_policy_block(P0, Ub, m, n0, C.IL, C.IP);
          C.IQ.resize(m);
          C.IV.resize(n0, kInitBlock);
          C.G0.resize(r, kInitBlock);
          auto IV = C.IV.leftCols(nb);
          auto G0 = C.G0.leftCols(nb);
          for (int a = 0; a < m; ++a) {
            C.IQ[a].resize(n0, kInitBlock);
            C.IQ[a].leftCols(nb).noalias() = Q0[a] * Ub.transpose();
          }
          IV = C.IP[0].leftCols(nb).cwiseProduct(C.IQ[0].leftCols(nb));
          for (int a = 1; a < m; ++a) IV += C.IP[a].leftCols(nb).cwiseProduct(C.IQ[a].leftCols(nb));
          G0.noalias() = Q0[0].transpose() * C.IP[0].leftCols(nb);
          for (int a = 1; a < m; ++a) {
            G0.noalias() += Q0[a].transpose() * C.IP[a].leftCols(nb);
            auto Ea = C.IQ[a].leftCols(nb);
            Ea.array() = C.IP[a].leftCols(nb).array() * (Ea - IV).array();
            G0.noalias() += P0[a - 1].transpose() * Ea;
            C.R.middleCols(static_cast<Eigen::Index>(a - 1) * r, r).noalias() += Ea * Ub;
          }
        }
        for (int i = j0; i < j0 + nb; ++i) {
          const int s0 = D.start[i], T = D.start[i + 1] - s0;
          u = U.row(i).transpose();
          const auto PiI = Pi.middleRows(s0, T);  // T x m
          const auto Psn = psinS_.middleCols(s0, T);
          if (visited_) {
            // The visited-state analogue of the initial-state part above, with
            // Psi_i = psi(S_t) over i's own transitions and weights 1/T_i:
            //   g0 = sum_a Wt_a' Psi_i pi_a + sum_{a>=1} Theta_a' Psi_i E_a,
            //   dV/dTheta_a += c_init (1/T_i) Psi_i E_a u_i'.
            const auto Psv = psiS_.middleCols(s0, T);
            const auto PvI = ws.Piv.middleRows(s0, T);
            wv.noalias() = Wt * u;
            Ov = Eigen::Map<const MatrixXd>(wv.data(), d, m);
            Qv.noalias() = Psv.transpose() * Ov;  // Q(S_t, a), T x m
            const VectorXd Vv = (PvI.array() * Qv.array()).rowwise().sum().matrix();
            g0.setZero();
            for (int a = 0; a < m; ++a) {
              xv.noalias() = Psv * PvI.col(a);
              g0.noalias() += Wt.middleRows(a * d, d).transpose() * xv;
              if (a == 0) continue;
              xv.noalias() = Psv * (PvI.col(a).array() * (Qv.col(a) - Vv).array()).matrix();
              g0.noalias() += Th.middleRows((a - 1) * d, d).transpose() * xv;
              C.dT.middleRows((a - 1) * d, d).noalias() += (c_init / T) * xv * u.transpose();
            }
            g0 *= static_cast<double>(n0) / T;  // gu below takes c_init / n0 of it
          } else {
            g0 = C.G0.col(i - j0);
          }
          // A_i v, block by action
          auto applyA = [&](const VectorXd& v, VectorXd& Av) {
            for (int a = 0; a < m; ++a) {
              const auto Aa = Ablk_.middleCols((static_cast<Eigen::Index>(i) * m + a) * d, d);
              Av.segment(a * d, d).noalias() = Aa * v.segment(a * d, d);
            }
          };
          gu = (c_init / n0) * g0;
          gu.noalias() += (1.0 / n) * (Z.transpose() * bI_.col(i));
          C.H.setZero();
          for (const MTerm& mt : mterms) {
            // s l' dM r with dM/du_i = (1/n)[(du u' + u du') (x) (A_i - gamma B_i)] + policy part
            const Eigen::Map<const MatrixXd> Lm(mt.l, p, r), Rm(mt.r, p, r);
            lu.noalias() = Lm * u;
            ru.noalias() = Rm * u;
            const Eigen::Map<const MatrixXd> Om(ru.data(), d, m), Zm(lu.data(), d, m);
            auto Qn = C.Qn.topRows(T);
            Qn.noalias() = Psn.transpose() * Om;  // Q_R(S'_t, a), T x m
            // f_t = phi_t' L u (the weight of transition t), by action block
            int pos = s0;
            for (int a = 0; a < m; ++a) {
              const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
              if (Ta > 0)
                C.f.segment(pos - s0, Ta).noalias() =
                    psiS_.middleCols(pos, Ta).transpose() * Zm.col(a);
              pos += Ta;
            }
            auto vb = C.vb.head(T);
            vb = PiI.cwiseProduct(Qn).rowwise().sum();  // sum_a pi_a Q_R(S', a)
            auto FP = C.FP.topRows(T);
            FP = PiI.array().colwise() * C.f.head(T).array();  // f_t pi_a(S'_t)
            auto Coef = C.Coef.topRows(T);                     // f pi_a adv_a, a >= 1
            Coef.array() = FP.rightCols(m1).array() * (Qn.rightCols(m1).colwise() - vb).array();
            Hs.noalias() = Psn * Coef;  // sum_t f pi_a adv_a psi(S')
            C.H -= mt.sign * Hs;
            C.Btz.noalias() = Psn * FP;  // B_i' (L u), d x m blocks
            pos = s0;
            for (int a = 0; a < m; ++a) {  // B_i (R u), d x m blocks
              const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
              if (Ta > 0)
                C.Bw.col(a).noalias() = psiS_.middleCols(pos, Ta) * vb.segment(pos - s0, Ta);
              else
                C.Bw.col(a).setZero();
              pos += Ta;
            }
            applyA(ru, Aru);
            applyA(lu, Alu);
            const Eigen::Map<const VectorXd> bw(C.Bw.data(), p), btz(C.Btz.data(), p);
            gu.noalias() += (mt.sign / n) * (Lm.transpose() * (Aru - gamma * bw));
            gu.noalias() += (mt.sign / n) * (Rm.transpose() * (Alu - gamma * btz));
          }
          for (const STerm& st : sterms) {
            // w a' dSigma b with dSigma/du_i = (1/n)(du u' + u du') (x) A_i
            const Eigen::Map<const MatrixXd> Am(st.a, p, r), Bm(st.b, p, r);
            au.noalias() = Am * u;
            bu.noalias() = Bm * u;
            applyA(bu, Aru);
            gu.noalias() += (st.weight / n) * (Am.transpose() * Aru);
            if (st.a == st.b) {
              gu.noalias() += (st.weight / n) * (Am.transpose() * Aru);
            } else {
              applyA(au, Alu);
              gu.noalias() += (st.weight / n) * (Bm.transpose() * Alu);
            }
          }
          // next-state policy gradient h_{i,a} = (gamma/n) H_a (d), a >= 1
          C.H *= gamma / n;
          for (int a = 1; a < m; ++a) {
            gu.noalias() += Th.middleRows((a - 1) * d, d).transpose() * C.H.col(a - 1);
            C.dT.middleRows((a - 1) * d, d).noalias() += C.H.col(a - 1) * u.transpose();
          }
          gu += (eps_coef * trA_(i)) * u;
          out.dU.row(i) = gu.transpose();
        }
      }
    }
  });
  out.dTheta.setZero(m1 * d, r);
  MatrixXd R = visited_ ? MatrixXd() : ws.ch[0].R;
  for (int ch = 0; ch < nch; ++ch) {
    out.dTheta += ws.ch[ch].dT;
    if (ch > 0 && !visited_) R += ws.ch[ch].R;
  }
  for (int a = 1; a < m && !visited_; ++a)
    out.dTheta.middleRows((a - 1) * d, d).noalias() +=
        (c_init / n0) * (psi0sT_ * R.middleCols(static_cast<Eigen::Index>(a - 1) * r, r));
}

DualSolution solve_dual(const P4LData& data, const Params& par, double gamma, double alpha,
                        double dual_ridge, double kappa) {
  P4LProblem prob(data);
  return prob.evaluate(par, gamma, alpha, dual_ridge, false, kappa).dual;
}

Gradient grad(const P4LData& data, const Params& par, double gamma, double alpha, double dual_ridge,
              double kappa) {
  P4LProblem prob(data);
  return prob.evaluate(par, gamma, alpha, dual_ridge, true, kappa);
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
MatrixXd group_ridge(const MatrixXd& X, const VectorXd& y, const VectorXi& group, int G,
                     const VectorXd& pooled, double lambda) {
  const Eigen::Index n = X.rows(), k = X.cols();
  if (y.size() != n || group.size() != n)
    throw std::invalid_argument("group_ridge: X, y and group differ in length");
  if (pooled.size() != k)
    throw std::invalid_argument("group_ridge: pooled must have ncol(X) entries");
  if (G < 0 || !(lambda > 0))
    throw std::invalid_argument("group_ridge: need G >= 0 and lambda > 0");
  // rows of each group (counting sort, stable)
  std::vector<Eigen::Index> first(static_cast<std::size_t>(G) + 1, 0), rows(n);
  for (Eigen::Index t = 0; t < n; ++t) {
    if (group(t) < 0 || group(t) >= G)
      throw std::invalid_argument("group_ridge: group index out of range");
    ++first[group(t) + 1];
  }
  for (int g = 0; g < G; ++g) first[g + 1] += first[g];
  {
    std::vector<Eigen::Index> pos(first.begin(), first.end() - 1);
    for (Eigen::Index t = 0; t < n; ++t) rows[pos[group(t)]++] = t;
  }
  MatrixXd B(G, k);
  runtime().parallel_for(static_cast<std::size_t>(G), [&](std::size_t lo, std::size_t hi) {
    MatrixXd A(k, k);
    VectorXd rhs(k);
    for (std::size_t gg = lo; gg < hi; ++gg) {
      const int g = static_cast<int>(gg);
      A.setZero();
      A.diagonal().setConstant(lambda);
      rhs = lambda * pooled;
      for (Eigen::Index j = first[g]; j < first[g + 1]; ++j) {
        const Eigen::Index t = rows[j];
        A.selfadjointView<Eigen::Lower>().rankUpdate(X.row(t).transpose());
        rhs.noalias() += y(t) * X.row(t).transpose();
      }
      B.row(g) = A.selfadjointView<Eigen::Lower>().ldlt().solve(rhs).transpose();
    }
  });
  return B;
}

MatrixXd policy_probs(const MatrixXd& psi, const MatrixXd& Theta, const VectorXd& u) {
  const Eigen::Index d = psi.cols();
  if (d == 0 || Theta.rows() % d != 0 || Theta.cols() != u.size())
    throw std::invalid_argument("p4l: policy_probs: Theta must be (m-1) d x r and u of length r");
  const Eigen::Index m = Theta.rows() / d + 1;
  const VectorXd tu = Theta * u;
  const Eigen::Map<const MatrixXd> ThU(tu.data(), d, m - 1);
  const MatrixXd L = psi * ThU;  // n x (m-1)
  MatrixXd P(psi.rows(), m);
  for (Eigen::Index t = 0; t < psi.rows(); ++t) {
    VectorXd pr(m);
    softmax_ref(L.row(t).transpose(), pr);
    P.row(t) = pr.transpose();
  }
  return P;
}

MatrixXd q_values(const MatrixXd& psi, const MatrixXd& W, const VectorXd& u) {
  const Eigen::Index d = psi.cols();
  if (d == 0 || W.rows() % d != 0 || W.cols() != u.size())
    throw std::invalid_argument("p4l: q_values: W must be m d x r and u of length r");
  const VectorXd wu = W * u;
  const Eigen::Map<const MatrixXd> Wm(wu.data(), d, W.rows() / d);
  return psi * Wm;
}

}  // namespace p4l
