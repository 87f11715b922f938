// The P4L problem at fixed (Theta, U): the closed-form (or regularised) dual
// of the inner problem and the exact gradient of its value V, P4LProblem in
// p4l_solver.h; the maths in shared/design/solver.md. Names: Chunk and Work
// in p4l_solver.h document the per-chunk sums and the workspace.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "crossprod.h"
#include "inner_regularised.h"
#include "moments.h"
#include "p4l_solver.h"
#include "rng.h"
#include "runtime.h"
#include "softmax.h"

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// Initial-state policies of a block of nb individuals (columns) on a tile of
// ns initial states from row s: IL[a] = psi0 Theta_a Ub' (logits, a >= 1) and
// IP[a] = pi_a(S0_j; u_i), with the reference-action softmax of softmax.h.
// A tile is stored contiguously (ns x nb with leading dimension ns, at the
// start of a ts x kInitBlock buffer: tile() below), so the elementwise steps
// run over plain arrays, and the per-action buffers of IL, IP and the
// gradient's IQ stay in cache (kInitTileBytes). The products have the rank r
// as inner dimension: r column updates per individual (tile_product()).
constexpr int kInitBlock = 64;
constexpr double kInitTileBytes = 192.0 * 1024;
int init_tile_rows(int m, int n0) {
  const int t = static_cast<int>(kInitTileBytes / (3.0 * m * kInitBlock * sizeof(double)));
  return std::max(1, std::min(n0, std::max(4, t)));
}
using TileMap = Eigen::Map<MatrixXd>;
TileMap tile(MatrixXd& X, int ns, Eigen::Index nb) { return TileMap(X.data(), ns, nb); }
// L = P.middleRows(s, ns) Ub' (ns x nb), P: n0 x r.
template <class UB>
void tile_product(const MatrixXd& P, const UB& Ub, int s, int ns, TileMap L) {
  const Eigen::Index nb = Ub.rows(), r = Ub.cols();
  for (Eigen::Index i = 0; i < nb; ++i) {
    auto col = L.col(i);
    col = P.col(0).segment(s, ns) * Ub(i, 0);
    for (Eigen::Index q = 1; q < r; ++q) col += P.col(q).segment(s, ns) * Ub(i, q);
  }
}
// W += X Ub (W: ns x r, X: ns x nb): axpys over the tile's columns.
template <class WB, class UB>
void tile_accumulate(WB&& W, const TileMap& X, const UB& Ub) {
  for (Eigen::Index q = 0; q < Ub.cols(); ++q)
    for (Eigen::Index i = 0; i < Ub.rows(); ++i) W.col(q) += X.col(i) * Ub(i, q);
}
// G += P.middleRows(s, ns)' X (G: r x nb, P: n0 x r, X: ns x nb).
template <class GB>
void tile_cross(GB&& G, const MatrixXd& P, int s, int ns, const TileMap& X) {
  for (Eigen::Index i = 0; i < X.cols(); ++i)
    for (Eigen::Index q = 0; q < P.cols(); ++q) G(q, i) += P.col(q).segment(s, ns).dot(X.col(i));
}
template <class UB>
void init_policy_tile(const std::vector<MatrixXd>& P0, const UB& Ub, int m, int s, int ns,
                      std::vector<MatrixXd>& IL, std::vector<MatrixXd>& IP) {
  const Eigen::Index nb = Ub.rows();
  for (int a = 1; a < m; ++a) tile_product(P0[a - 1], Ub, s, ns, tile(IL[a], ns, nb));
  softmax_ref_flat(IL, IP, m, ns * nb);
}
void init_tile_buffers(std::vector<MatrixXd>& X, int m, int ts) {
  X.resize(m);
  for (int a = 0; a < m; ++a) X[a].resize(ts, kInitBlock);
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction: the data-only statistics.

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
  select_initial_states(max_initial, seed);
  make_chunks();
  maxT_ = 0;
  for (int i = 0; i < N_; ++i) maxT_ = std::max(maxT_, D.start[i + 1] - D.start[i]);
  intercept_ = (D.psi.col(0).array() == 1.0).all() && (D.psi0.col(0).array() == 1.0).all();
  const int d = d_, m = m_;
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
    MatrixXd Xs(maxT_, d), Xn(maxT_, d);
    for (std::size_t ii = lo; ii < hi; ++ii)
      individual_moments(static_cast<int>(ii), cnt, off, R, Xs, Xn);
  });
}

// Initial-state rows: all, or (more rows than max_initial) all in one seeded
// random order, read in per-block windows of max_initial rows (p4l_solver.h).
void P4LProblem::select_initial_states(int max_initial, std::uint64_t seed) {
  const P4LData& D = *data_;
  const int n0all = static_cast<int>(D.psi0.rows());
  init_rows_.resize(n0all);
  std::iota(init_rows_.begin(), init_rows_.end(), 0);
  rotate_ = max_initial > 0 && n0all > max_initial;
  n0all_ = n0all;
  if (rotate_) {
    std::mt19937_64 g = make_stream(seed, 0x70736930u /* "psi0" */);
    for (int k = 0; k + 1 < n0all; ++k) {
      int j = k + static_cast<int>(unif01(g) * (n0all - k));
      j = std::min(j, n0all - 1);
      std::swap(init_rows_[k], init_rows_[j]);
    }
  }
  n0_ = rotate_ ? max_initial : n0all;
  n0ext_ = rotate_ ? n0all + n0_ - 1 : n0all;
  psi0s_.resize(n0ext_, d_);
  for (int k = 0; k < n0ext_; ++k) psi0s_.row(k) = D.psi0.row(init_rows_[k % n0all]);
  psi0sT_ = psi0s_.transpose();
  psi0mean_ = psi0sT_.leftCols(n0all).rowwise().mean();
  if (rotate_) {
    psi0cum_.setZero(n0ext_ + 1, d_);
    for (int k = 0; k < n0ext_; ++k) psi0cum_.row(k + 1) = psi0cum_.row(k) + psi0s_.row(k);
  }
}

int P4LProblem::initial_offset(int i) const {
  if (i < 0 || i >= N_) throw std::out_of_range("p4l: initial_offset(): no such individual");
  const int ch =
      static_cast<int>(std::upper_bound(chunk_.begin(), chunk_.end(), i) - chunk_.begin()) - 1;
  return init_offset(chunk_[ch] + (i - chunk_[ch]) / kInitBlock * kInitBlock);
}

int P4LProblem::init_offset(int j0) const {
  if (!rotate_) return 0;
  return static_cast<int>((static_cast<long long>(j0) * n0_ / kInitBlock) % n0all_);
}

// Fixed chunks over individuals, balanced by transitions; the boundaries
// depend on the data only (never on the thread count).
// Each chunk keeps its own policy-dependent sums (m (m-1) d^2 doubles per
// latent pair, zeroed at every evaluation): with many actions, fewer chunks
// (at most about 1e6 such doubles in all), else memory traffic dominates.
void P4LProblem::make_chunks() {
  const P4LData& D = *data_;
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
}

// Individual i's transitions sorted by action (perm_, termS_) and its
// per-action moments: A_i blocks, K_i blocks, b_i, tr(A_i), counts.
// cnt, off (m), R (maxT_), Xs and Xn (maxT_ x d): scratch.
void P4LProblem::individual_moments(int i, std::vector<int>& cnt, std::vector<int>& off,
                                    VectorXd& R, MatrixXd& Xs, MatrixXd& Xn) {
  const P4LData& D = *data_;
  const int d = d_, m = m_;
  const int s0 = D.start[i], s1 = D.start[i + 1];
  std::fill(cnt.begin(), cnt.end(), 0);
  for (int t = s0; t < s1; ++t) ++cnt[D.action(t)];
  off[0] = s0;
  for (int a = 1; a < m; ++a) off[a] = off[a - 1] + cnt[a - 1];
  for (int t = s0; t < s1; ++t) {
    const int q = off[D.action(t)]++;
    perm_[q] = t;
    termS_[q] = D.terminal[t];
  }
  gather(i, Xs, Xn);
  int pos = s0;
  double tr = 0;
  for (int a = 0; a < m; ++a) {
    const int Ta = cnt[a];
    acnt_[static_cast<std::size_t>(i) * m + a] = Ta;
    const Eigen::Index col = (static_cast<Eigen::Index>(i) * m + a) * d;
    auto Aa = Ablk_.middleCols(col, d);
    auto Ka = Kblk_.middleCols(col, d);
    auto ha = bI_.block(a * d, i, d, 1);
    Aa.setZero();
    Ka.setZero();
    ha.setZero();
    if (Ta > 0) {  // G_a, K_a and h_a of moments.h
      for (int k = 0; k < Ta; ++k) R(k) = D.reward(perm_[pos + k]);
      add_action_moments(Xs.middleRows(pos - s0, Ta).transpose(), Xn.middleRows(pos - s0, Ta),
                         R.head(Ta), Aa, Ka, ha);
    }
    tr += Aa.trace();
    pos += Ta;
  }
  trA_(i) = tr;
}

void P4LProblem::gather(int i, MatrixXd& Xs, MatrixXd& Xn) const {
  const P4LData& D = *data_;
  const int s0 = D.start[i], T = D.start[i + 1] - s0;
#if defined(__GNUC__)
  // The next individual's 2 d column segments are separate memory streams,
  // too many for the hardware prefetcher: ask for them while this one runs.
  if (i + 1 < N_) {
    const int s1 = D.start[i + 1], s2 = D.start[i + 2];
    for (int j = 0; j < d_; ++j) {
      const double* ps = D.psi.col(j).data();
      const double* pn = D.psi_next.col(j).data();
      for (int t = s1; t < s2; t += 8) {
        __builtin_prefetch(ps + t, 0, 0);
        __builtin_prefetch(pn + t, 0, 0);
      }
      __builtin_prefetch(ps + s2 - 1, 0, 0);
      __builtin_prefetch(pn + s2 - 1, 0, 0);
    }
  }
#endif
  const int* perm = perm_.data() + s0;
  const char* term = termS_.data() + s0;
  for (int j = 0; j < d_; ++j) {
    const double* ps = D.psi.col(j).data();
    const double* pn = D.psi_next.col(j).data();
    double* xs = Xs.col(j).data();
    double* xn = Xn.col(j).data();
    for (int k = 0; k < T; ++k) {
      xs[k] = ps[perm[k]];
      xn[k] = term[k] ? 0.0 : pn[perm[k]];
    }
  }
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

// ---------------------------------------------------------------------------
// Value pass: sums over individuals (in fixed chunks, reduced serially in
// chunk order), then M, Sigma, b, c and the inner solution.

void P4LProblem::value_pass(const Params& par, double gamma, double alpha, double dual_ridge,
                            double kappa, Gradient& out) const {
  const int N = N_, n = n_, d = d_, m = m_, p = p_;
  const int r = static_cast<int>(par.U.cols());
  if (par.U.rows() != N || r < 1) throw std::invalid_argument("p4l: U must be N x r, r >= 1");
  if (par.Theta.rows() != (m - 1) * d || par.Theta.cols() != r)
    throw std::invalid_argument("p4l: Theta must be (m-1) d x r");
  if (!(gamma >= 0 && gamma < 1)) throw std::invalid_argument("p4l: gamma must be in [0, 1)");
  if (!(alpha >= 0)) throw std::invalid_argument("p4l: alpha must be >= 0");
  if (!(kappa >= 0)) throw std::invalid_argument("p4l: kappa must be >= 0");
  const MatrixXd& Th = par.Theta;
  const MatrixXd& U = par.U;
  const int nch = static_cast<int>(chunk_.size()) - 1;
  const Shape sh = shape_of(U);
  Work& ws = ws_;
  ws.have_last = false;
  ws.ch.resize(nch);
  ws.Pi.resize(n, m);
  ws.P0.resize(sh.m1);
  if (!visited_)
    for (int a = 1; a < m; ++a) ws.P0[a - 1].noalias() = psi0s_ * Th.middleRows((a - 1) * d, d);
  if (visited_) ws.Piv.resize(n, m);
  // ---- pass 1: policy at next states, B_i, and chunk sums
  runtime().parallel_for(static_cast<std::size_t>(nch), [&](std::size_t lo, std::size_t hi) {
    ValueScratch w{VectorXd(r), VectorXd(d), MatrixXd(d, sh.m1)};
    for (std::size_t cix = lo; cix < hi; ++cix)
      chunk_value_sums(ws.ch[cix], chunk_[cix], chunk_[cix + 1], par, sh, w);
  });
  MatrixXd MBs;
  VectorXd c;
  reduce_value_sums(sh, U, MBs, c);
  MatrixXd M, S;
  assemble_M_Sigma(sh, gamma, MBs, M, S);
  VectorXd b = ws.bsum;
  M /= n;
  S /= n;
  b /= n;
  c *= (1.0 - gamma) / N;
  const double trS = ws.trsum / n;
  const double eps = dual_ridge * trS / sh.pr;
  M.diagonal().array() += eps;
  S.diagonal().array() += eps;
  DualSolution& ds = out.dual;
  ds.alpha = alpha;
  ds.gamma = gamma;
  ds.eps = eps;
  ds.kappa = kappa;
  ds.p = p;
  ds.r = r;
  solve_inner(sh, std::move(M), std::move(S), std::move(b), std::move(c), ds);
  ws.last.Theta = Th;
  ws.last.U = U;
  ws.gamma = gamma;
  ws.dual_ridge = dual_ridge;
  ws.have_last = true;
}

P4LProblem::Shape P4LProblem::shape_of(const MatrixXd& U) const {
  const Work& ws = ws_;
  Shape sh;
  sh.r = static_cast<int>(U.cols());
  sh.pr = p_ * sh.r;
  sh.npair = sh.r * (sh.r + 1) / 2;
  sh.m1 = m_ - 1;
  // U-only sums (Sigma, b, A and K parts of M) are reused while U is unchanged.
  sh.ucache = ws.ucache_valid && ws.Ucache.rows() == N_ && ws.Ucache.cols() == sh.r &&
              (ws.Ucache.array() == U.array()).all();
  return sh;
}

// Pass 1 over the individuals i0..i1-1 of one chunk: the initial-state sums
// W0 (or Wv), the policy-dependent sums MB and, unless cached, the U-only sums.
void P4LProblem::chunk_value_sums(Chunk& C, int i0, int i1, const Params& par, const Shape& sh,
                                  ValueScratch& w) const {
  const int d = d_, m = m_, n0 = n0_, r = sh.r, m1 = sh.m1;
  const MatrixXd& U = par.U;
  C.L.resize(maxT_, m1);
  C.Xs.resize(maxT_, d);
  C.Xn.resize(maxT_, d);
  C.w1.resize(maxT_);
  C.w2.resize(maxT_);
  C.xt.resize(static_cast<Eigen::Index>(maxT_) * d);
  C.Bv.resize(d, m1 * d);
  C.MB.setZero(d, static_cast<Eigen::Index>(sh.npair) * m * m1 * d);
  // Initial-state term. c = (1-gamma)/N sum_i u_i (x) E_nu[sum_a pi(a|S0;u_i) phi(S0,a)]
  // needs only W0_a = sum_i pi_a(S0_j; u_i) u_i' (n0 x r per action a >= 1;
  // block a = 0 follows from sum_a pi_a = 1): O(n0 r) per individual, not O(n0 d).
  if (visited_)
    C.Wv.setZero(d, static_cast<Eigen::Index>(m) * r);
  else
    C.W0.setZero(n0ext_, static_cast<Eigen::Index>(m1) * r);
  if (!sh.ucache) {
    C.SA.setZero(d, static_cast<Eigen::Index>(sh.npair) * m * d);
    C.MK.setZero(d, static_cast<Eigen::Index>(sh.npair) * m * d);
    C.b.setZero(sh.pr);
    C.tr = 0;
  }
  // initial states, by blocks of individuals and tiles of states
  const int ts = init_tile_rows(m, n0);
  if (!visited_) {
    init_tile_buffers(C.IL, m, ts);
    init_tile_buffers(C.IP, m, ts);
  }
  for (int j0 = i0; j0 < i1 && !visited_; j0 += kInitBlock) {
    const int nb = std::min(kInitBlock, i1 - j0);
    const auto Ub = U.middleRows(j0, nb);
    const int o = init_offset(j0);  // the block's window of initial states
    for (int s = 0; s < n0; s += ts) {
      const int ns = std::min(ts, n0 - s);
      init_policy_tile(ws_.P0, Ub, m, o + s, ns, C.IL, C.IP);
      for (int a = 1; a < m; ++a)
        tile_accumulate(C.W0.block(o + s, static_cast<Eigen::Index>(a - 1) * r, ns, r),
                        tile(C.IP[a], ns, nb), Ub);
    }
  }
  for (int i = i0; i < i1; ++i) {
    w.u = U.row(i).transpose();
    gather(i, C.Xs, C.Xn);
    individual_policy(C, i, par.Theta, sh, w);
    individual_B_sums(C, i, sh, w.u);
  }
  if (!sh.ucache) chunk_u_only_sums(C, i0, i1, U, sh);
}

// The policy of individual i at its next states (ws_.Pi rows, 0 on terminal
// rows) and, with visited_, at its visited states (ws_.Piv rows), where c gets
// (1/T_i) Psi_i pi_a(S_i) u_i' for every a.
void P4LProblem::individual_policy(Chunk& C, int i, const MatrixXd& Th, const Shape& sh,
                                   ValueScratch& w) const {
  const P4LData& D = *data_;
  const int d = d_, m = m_, r = sh.r;
  const int s0 = D.start[i], T = D.start[i + 1] - s0;
  for (int a = 1; a < m; ++a) w.ThU.col(a - 1).noalias() = Th.middleRows((a - 1) * d, d) * w.u;
  auto L = C.L.topRows(T);
  L.noalias() = C.Xn.topRows(T) * w.ThU;
  auto PiI = ws_.Pi.middleRows(s0, T);
  softmax_ref_rows(L, PiI, C.w1, C.w2);
  for (int t = 0; t < T; ++t)
    if (termS_[s0 + t]) PiI.row(t).setZero();
  if (!visited_) return;
  L.noalias() = C.Xs.topRows(T) * w.ThU;
  auto PvI = ws_.Piv.middleRows(s0, T);
  softmax_ref_rows(L, PvI, C.w1, C.w2);
  for (int a = 0; a < m; ++a) {
    w.fv.noalias() = C.Xs.topRows(T).transpose() * PvI.col(a);
    C.Wv.middleCols(static_cast<Eigen::Index>(a) * r, r).noalias() +=
        (1.0 / T) * w.fv * w.u.transpose();
  }
}

// Policy-dependent blocks of B_i, weighted by u_k u_l into C.MB:
// Bv_a = sum_{t: a_t = a} psi_t [pi_b(S'_t) psi(S'_t)]_{b>=1}' (all b at once,
// weighted_crossprods()), then one pass over Bv_a adds u_k u_l Bv_a to every
// pair's block.
void P4LProblem::individual_B_sums(Chunk& C, int i, const Shape& sh, const VectorXd& u) const {
  const int d = d_, m = m_, r = sh.r, m1 = sh.m1;
  const MatrixXd& Pi = ws_.Pi;
  const int s0 = data_->start[i];
  const Eigen::Index blk = static_cast<Eigen::Index>(m1) * d * d;
  C.pw.resize(sh.npair);
  C.pp.resize(sh.npair);
  int kl = 0;
  for (int k = 0; k < r; ++k)
    for (int l = k; l < r; ++l, ++kl) C.pw[kl] = u(k) * u(l);
  int pos = s0;
  for (int a = 0; a < m; ++a) {
    const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
    if (Ta == 0) continue;
    weighted_crossprods(C.Xs.data() + (pos - s0), C.Xs.outerStride(), C.Xn.data() + (pos - s0),
                        C.Xn.outerStride(), Pi.col(1).data() + pos, Pi.outerStride(), m1, Ta, d,
                        d, C.Bv.data(), C.xt.data());
    for (kl = 0; kl < sh.npair; ++kl)
      C.pp[kl] = C.MB.data() + (static_cast<Eigen::Index>(kl) * m + a) * blk;
    scaled_accumulate(C.Bv.data(), blk, C.pw.data(), sh.npair, C.pp.data());
    pos += Ta;
  }
}

// The sums that depend on U only, over the individuals i0..i1-1 of a chunk:
// u_k u_l A_i, u_k u_l K_i, u (x) b_i, ||u||^2 tr(A_i). Individual i's blocks
// of A (and K) are d m d contiguous doubles, and so is pair kl's block of
// C.SA (C.MK): one pass over A_i (K_i) adds it to every pair's block with its
// weight. Pair (0, 0) has the weight u_0^2; where coordinate 0 is the constant
// 1 (always in p4l_fit()) its sums are the chunk's plain sums of A_i and K_i,
// computed once and reused.
void P4LProblem::chunk_u_only_sums(Chunk& C, int i0, int i1, const MatrixXd& U,
                                   const Shape& sh) const {
  const int d = d_, m = m_, p = p_, r = sh.r, nb = i1 - i0;
  const Eigen::Index dmd = static_cast<Eigen::Index>(d) * m * d;
  int first = 0;
  if ((U.col(0).segment(i0, nb).array() == 1.0).all()) {
    if (C.SA00.size() != dmd) {
      C.SA00.setZero(dmd);
      C.MK00.setZero(dmd);
      const double one = 1.0;
      double* ys = C.SA00.data();
      double* yk = C.MK00.data();
      for (int i = i0; i < i1; ++i) {
        scaled_accumulate(Ablk_.data() + dmd * i, dmd, &one, 1, &ys);
        scaled_accumulate(Kblk_.data() + dmd * i, dmd, &one, 1, &yk);
      }
    }
    Eigen::Map<VectorXd>(C.SA.data(), dmd) += C.SA00;
    Eigen::Map<VectorXd>(C.MK.data(), dmd) += C.MK00;
    first = 1;
  }
  const int nw = sh.npair - first;
  if (nw > 0) {
    C.pw.resize(nw);
    C.pp.resize(2 * static_cast<std::size_t>(nw));
    for (int q = 0; q < nw; ++q) {
      C.pp[q] = C.SA.data() + dmd * (first + q);
      C.pp[nw + q] = C.MK.data() + dmd * (first + q);
    }
    for (int i = i0; i < i1; ++i) {
      int kl = 0, q = 0;
      for (int k = 0; k < r; ++k)
        for (int l = k; l < r; ++l, ++kl)
          if (kl >= first) C.pw[q++] = U(i, k) * U(i, l);
      scaled_accumulate(Ablk_.data() + dmd * i, dmd, C.pw.data(), nw, C.pp.data());
      scaled_accumulate(Kblk_.data() + dmd * i, dmd, C.pw.data(), nw, C.pp.data() + nw);
    }
  }
  Eigen::Map<MatrixXd>(C.b.data(), p, r).noalias() += bI_.middleCols(i0, nb) * U.middleRows(i0, nb);
  for (int i = i0; i < i1; ++i) C.tr += U.row(i).squaredNorm() * trA_(i);
}

// Serial reduction of the chunk sums in chunk order (the U-only sums only
// when not cached; they are then cached for U), and c (before its factor
// (1 - gamma) / N) from the initial-state sums.
void P4LProblem::reduce_value_sums(const Shape& sh, const MatrixXd& U, MatrixXd& MBs,
                                   VectorXd& c) const {
  Work& ws = ws_;
  const int nch = static_cast<int>(chunk_.size()) - 1;
  const int d = d_, m = m_, p = p_, n0 = n0_, r = sh.r;
  if (!sh.ucache) {
    ws.SAsum = ws.ch[0].SA;
    ws.MKsum = ws.ch[0].MK;
    ws.bsum = ws.ch[0].b;
    ws.trsum = ws.ch[0].tr;
    for (int ch = 1; ch < nch; ++ch) {
      ws.SAsum += ws.ch[ch].SA;
      ws.MKsum += ws.ch[ch].MK;
      ws.bsum += ws.ch[ch].b;
      ws.trsum += ws.ch[ch].tr;
    }
    ws.Ucache = U;
    ws.ucache_valid = true;
  }
  MBs = ws.ch[0].MB;
  MatrixXd W0 = visited_ ? ws.ch[0].Wv : ws.ch[0].W0;
  for (int ch = 1; ch < nch; ++ch) {
    MBs += ws.ch[ch].MB;
    W0 += visited_ ? ws.ch[ch].Wv : ws.ch[ch].W0;
  }
  c.resize(sh.pr);
  if (visited_) {
    for (int k = 0; k < r; ++k)
      for (int a = 0; a < m; ++a)
        c.segment(k * p + a * d, d) = W0.col(static_cast<Eigen::Index>(a) * r + k);
  } else {
    // block a = 0: sum_i u_i (x) the mean of psi0 over i's window (all rows
    // when not rotating)
    MatrixXd C0(d, r);
    if (rotate_) {
      C0.setZero();
      for (int ch = 0; ch < nch; ++ch)
        for (int j0 = chunk_[ch]; j0 < chunk_[ch + 1]; j0 += kInitBlock) {
          const int nb = std::min(kInitBlock, chunk_[ch + 1] - j0), o = init_offset(j0);
          const VectorXd wmean = (psi0cum_.row(o + n0) - psi0cum_.row(o)).transpose() / n0;
          C0.noalias() += wmean * U.middleRows(j0, nb).colwise().sum();
        }
    } else {
      C0.noalias() = psi0mean_ * U.colwise().sum();
    }
    for (int k = 0; k < r; ++k) {
      c.segment(k * p, d) = C0.col(k);
      for (int a = 1; a < m; ++a) {
        c.segment(k * p + a * d, d).noalias() =
            psi0sT_ * W0.col(static_cast<Eigen::Index>(a - 1) * r + k) * (1.0 / n0);
        c.segment(k * p, d) -= c.segment(k * p + a * d, d);
      }
    }
  }
}

// M = sum_i (u u') (x) (A_i - gamma B_i) and Sigma = sum_i (u u') (x) A_i
// (before the factor 1/n), block (k, l) from the sums of pair kl, symmetric
// in the pair.
void P4LProblem::assemble_M_Sigma(const Shape& sh, double gamma, const MatrixXd& MBs, MatrixXd& M,
                                  MatrixXd& S) const {
  const Work& ws = ws_;
  const int d = d_, m = m_, p = p_, r = sh.r, pr = sh.pr, m1 = sh.m1;
  M = MatrixXd::Zero(pr, pr);
  S = MatrixXd::Zero(pr, pr);
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

// The inner solution (ds.alpha, gamma, eps, kappa, p, r already set): the
// regularised solver when kappa > 0, else the paper's closed form; then the
// parts common to both. M, S, b, c end in ds.
void P4LProblem::solve_inner(const Shape& sh, MatrixXd M, MatrixXd S, VectorXd b, VectorXd c,
                             DualSolution& ds) const {
  const int pr = sh.pr;
  const double alpha = ds.alpha, kappa = ds.kappa;
  if (kappa > 0)
    solve_regularised(sh, M, S, b, c, ds);
  else
    solve_closed_form(M, S, b, c, ds);
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
}

// Regularised inner problem (see DualSolution in p4l_solver.h).
void P4LProblem::solve_regularised(const Shape& sh, const MatrixXd& M, const MatrixXd& S,
                                   const VectorXd& b, const VectorXd& c, DualSolution& ds) const {
  Work& ws = ws_;
  const int d = d_, m = m_, r = sh.r;
  VectorXd t1;
  if (intercept_) {
    t1.setZero(sh.pr);
    for (int a = 0; a < m; ++a) t1(a * d) = 1.0;
  }
  if (!ws.reg || ws.reg_r != r) {
    ws.reg = std::make_unique<RegularisedInner>(m, d, r, iterative_min_);
    ws.reg_r = r;
  }
  RegularisedSolution rs = ws.reg->solve(M, S, b, c, t1, ds.kappa);
  ds.rcond = rs.rcond;
  ds.s = rs.s;
  ds.lambda = rs.s;
  ds.w = std::move(rs.w);
  ds.y = std::move(rs.y);
  ds.z = std::move(rs.z);
  ds.e0 = std::move(rs.e0);
  ds.a0 = std::move(rs.a0);
  ds.yc = std::move(rs.yc);
}

// The paper's closed form (one LU of M serves M^-1 and M^-T).
void P4LProblem::solve_closed_form(const MatrixXd& M, const MatrixXd& S, const VectorXd& b,
                                   const VectorXd& c, DualSolution& ds) const {
  const Eigen::Index pr = M.rows();
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

// ---------------------------------------------------------------------------
// Gradient pass.
//
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
  Work& ws = ws_;
  const Params& par = ws.last;
  const DualSolution& ds = out.dual;
  const int N = N_, d = d_, m = m_, p = p_, n0 = n0_;
  const int m1 = m - 1;
  const int r = static_cast<int>(par.U.cols());
  const int pr = p * r;
  if (ds.theta.size() != pr || ds.z.size() != pr || ds.y.size() != pr)
    throw std::logic_error(
        "p4l: complete_gradient(): dual solution does not match the last evaluation");
  const int nch = static_cast<int>(chunk_.size()) - 1;
  const GradTerms gt = gradient_terms(ds, r);
  const Eigen::Map<const MatrixXd> Wt(ds.theta.data(), p, r);
  ws.Q0.resize(m);  // psi0 Wt_a (n0 x r)
  if (!visited_)
    for (int a = 0; a < m; ++a) ws.Q0[a].noalias() = psi0s_ * Wt.middleRows(a * d, d);
  out.dU.resize(N, r);
  runtime().parallel_for(static_cast<std::size_t>(nch), [&](std::size_t lo, std::size_t hi) {
    GradScratch w{VectorXd(r),     VectorXd(r),    VectorXd(r), VectorXd(d), VectorXd(p),
                  MatrixXd(d, m1), MatrixXd(d, m), MatrixXd(),  MatrixXd(),  MatrixXd(),
                  MatrixXd()};
    for (std::size_t cix = lo; cix < hi; ++cix)
      chunk_gradient(ws.ch[cix], chunk_[cix], chunk_[cix + 1], gt, ds, w, out);
  });
  out.dTheta.setZero(m1 * d, r);
  MatrixXd R = visited_ ? MatrixXd() : ws.ch[0].R;
  for (int ch = 0; ch < nch; ++ch) {
    out.dTheta += ws.ch[ch].dT;
    if (ch > 0 && !visited_) R += ws.ch[ch].R;
  }
  for (int a = 1; a < m && !visited_; ++a)
    out.dTheta.middleRows((a - 1) * d, d).noalias() +=
        (gt.c_init / n0) * (psi0sT_ * R.middleCols(static_cast<Eigen::Index>(a - 1) * r, r));
}

// The bilinear terms of the identity for the dual solution ds, and the
// coefficient of the ridge eps.
P4LProblem::GradTerms P4LProblem::gradient_terms(const DualSolution& ds, int r) const {
  const int pr = p_ * r;
  const double kappa = ds.kappa, iota = ds.iota;
  GradTerms gt;
  gt.mterms = {{ds.z.data(), ds.theta.data(), -1.0}};
  gt.sterms = {{ds.z.data(), ds.z.data(), -0.5 * iota}};
  if (kappa > 0) {
    gt.mterms.push_back({ds.e0.data(), ds.y.data(), 1.0});
    gt.sterms.push_back({ds.e0.data(), ds.z.data(), -1.0});
    gt.sterms.push_back({ds.a0.data(), ds.yc.data(), -kappa});
    gt.sterms.push_back({ds.yc.data(), ds.yc.data(), 0.5 * kappa * iota});
  }
  auto index_of = [&gt](const double* v) {
    for (std::size_t j = 0; j < gt.vecs.size(); ++j)
      if (gt.vecs[j] == v) return static_cast<int>(j);
    gt.vecs.push_back(v);
    return static_cast<int>(gt.vecs.size()) - 1;
  };
  for (MTerm& mt : gt.mterms) {
    mt.li = index_of(mt.l);
    mt.ri = index_of(mt.r);
  }
  for (STerm& st : gt.sterms) {
    st.ai = index_of(st.a);
    st.bi = index_of(st.b);
  }
  // the ridge eps adds eps I to M and Sigma: its share of every term is l'r (a'b)
  double eps_sum = 0;
  for (const MTerm& mt : gt.mterms)
    eps_sum +=
        mt.sign * Eigen::Map<const VectorXd>(mt.l, pr).dot(Eigen::Map<const VectorXd>(mt.r, pr));
  for (const STerm& st : gt.sterms)
    eps_sum +=
        st.weight * Eigen::Map<const VectorXd>(st.a, pr).dot(Eigen::Map<const VectorXd>(st.b, pr));
  // derivative of eps: d eps / d u_i = dual_ridge/(p r) * (2/n) tr(A_i) u_i
  gt.eps_coef = (ws_.dual_ridge / pr) * (2.0 / n_) * eps_sum;
  gt.c_init = (1.0 - ws_.gamma) / N_;
  return gt;
}

// dV/du_i for the individuals i0..i1-1 of one chunk (rows of out.dU) and
// their shares of dV/dTheta (C.dT, C.R).
void P4LProblem::chunk_gradient(Chunk& C, int i0, int i1, const GradTerms& gt,
                                const DualSolution& ds, GradScratch& w, Gradient& out) const {
  const int d = d_, m = m_, n0 = n0_, m1 = m - 1;
  const int r = static_cast<int>(ws_.last.U.cols());
  C.dT.setZero(m1 * d, r);
  if (!visited_) C.R.setZero(n0ext_, static_cast<Eigen::Index>(m1) * r);
  C.Qn.resize(maxT_, m);
  C.Xs.resize(maxT_, d);
  C.Xn.resize(maxT_, d);
  C.f.resize(maxT_);
  C.vb.resize(maxT_);
  C.Coef.resize(maxT_, m1);
  C.FP.resize(maxT_, m);
  C.H.resize(d, m1);
  C.Bw.resize(d, m);
  C.Btz.resize(d, m);
  for (int j0 = i0; j0 < i1; j0 += kInitBlock) {
    const int nb = std::min(kInitBlock, i1 - j0);
    if (!visited_) init_state_gradient(C, j0, nb);
    for (int i = j0; i < j0 + nb; ++i) individual_gradient(C, i, j0, gt, ds, w, out);
  }
}

// Initial-state part, in r-dimensional form (Q0_a = psi0 Wt_a, P0_a = psi0 Theta_a),
// for a block of nb individuals from j0 (columns) at a time:
//   theta*' dc/du_i -> Wt' g_i = (1/n0) sum_a Q0_a' pi_a(.; u_i)  (C.G0);
//   policy gradient -> E_a = pi_a (Qt_a - sum_b pi_b Qt_b) at S0 enters dV/du_i
//   through (1/n0) Theta_a' psi0' E_a = (1/n0) P0_a' E_a, and dV/dTheta_a
//   through (1/n0) psi0' (sum_i E_a u_i') (accumulated in C.R, mapped by psi0' once).
void P4LProblem::init_state_gradient(Chunk& C, int j0, int nb) const {
  const int m = m_, n0 = n0_;
  const int r = static_cast<int>(ws_.last.U.cols());
  const std::vector<MatrixXd>& P0 = ws_.P0;
  const std::vector<MatrixXd>& Q0 = ws_.Q0;
  const auto Ub = ws_.last.U.middleRows(j0, nb);
  const int ts = init_tile_rows(m, n0);
  init_tile_buffers(C.IL, m, ts);
  init_tile_buffers(C.IP, m, ts);
  init_tile_buffers(C.IQ, m, ts);
  C.IV.resize(ts, kInitBlock);
  C.G0.resize(r, kInitBlock);
  auto G0 = C.G0.leftCols(nb);
  G0.setZero();
  const int o = init_offset(j0);  // the block's window of initial states
  for (int t = 0; t < n0; t += ts) {
    const int ns = std::min(ts, n0 - t), s = o + t;
    init_policy_tile(P0, Ub, m, s, ns, C.IL, C.IP);
    auto IP = [&](int a) { return tile(C.IP[a], ns, nb); };
    auto IQ = [&](int a) { return tile(C.IQ[a], ns, nb); };
    auto IV = tile(C.IV, ns, nb);
    for (int a = 0; a < m; ++a) tile_product(Q0[a], Ub, s, ns, IQ(a));
    IV = IP(0).cwiseProduct(IQ(0));
    for (int a = 1; a < m; ++a) IV += IP(a).cwiseProduct(IQ(a));
    tile_cross(G0, Q0[0], s, ns, IP(0));
    for (int a = 1; a < m; ++a) {
      tile_cross(G0, Q0[a], s, ns, IP(a));
      auto Ea = IQ(a);
      Ea.array() = IP(a).array() * (Ea - IV).array();
      tile_cross(G0, P0[a - 1], s, ns, Ea);
      tile_accumulate(C.R.block(s, static_cast<Eigen::Index>(a - 1) * r, ns, r), Ea, Ub);
    }
  }
}

// dV/du_i into row i of out.dU (j0: first individual of i's initial-state block).
void P4LProblem::individual_gradient(Chunk& C, int i, int j0, const GradTerms& gt,
                                     const DualSolution& ds, GradScratch& w, Gradient& out) const {
  const MatrixXd& Th = ws_.last.Theta;
  const int n = n_, d = d_, m = m_, p = p_, n0 = n0_;
  const int r = static_cast<int>(ws_.last.U.cols());
  const double gamma = ws_.gamma;
  w.u = ws_.last.U.row(i).transpose();
  gather(i, C.Xs, C.Xn);
  if (visited_)
    visited_gradient(C, i, ds, gt.c_init, w);
  else
    w.g0 = C.G0.col(i - j0);
  const Eigen::Map<const MatrixXd> Z(ds.z.data(), p, r);
  w.gu = (gt.c_init / n0) * w.g0;
  w.gu.noalias() += (1.0 / n) * (Z.transpose() * bI_.col(i));
  // The terms' distinct vectors V_j (p x r) times u_i, and A_i times those;
  // every term adds to the coefficients x_j of dV/du_i = (1/n) sum_j V_j' x_j.
  const int nv = static_cast<int>(gt.vecs.size());
  w.Vu.resize(p, nv);
  w.AVu.resize(p, nv);
  w.X.setZero(p, nv);
  for (int j = 0; j < nv; ++j)
    w.Vu.col(j).noalias() = Eigen::Map<const MatrixXd>(gt.vecs[j], p, r) * w.u;
  for (int a = 0; a < m; ++a) {
    const auto Aa = Ablk_.middleCols((static_cast<Eigen::Index>(i) * m + a) * d, d);
    w.AVu.middleRows(a * d, d).noalias() = Aa.lazyProduct(w.Vu.middleRows(a * d, d));
  }
  C.H.setZero();
  for (const MTerm& mt : gt.mterms) mterm_gradient(C, i, mt, w);
  // Sigma-terms: weight a' dSigma b, dSigma/du_i = (1/n)(du u' + u du') (x) A_i
  for (const STerm& st : gt.sterms) {
    w.X.col(st.ai) += st.weight * w.AVu.col(st.bi);
    w.X.col(st.bi) += st.weight * w.AVu.col(st.ai);
  }
  for (int j = 0; j < nv; ++j) {
    const Eigen::Map<const MatrixXd> Vj(gt.vecs[j], p, r);
    w.gu.noalias() += (1.0 / n) * (Vj.transpose() * w.X.col(j));
  }
  // next-state policy gradient h_{i,a} = (gamma/n) H_a (d), a >= 1
  C.H *= gamma / n;
  for (int a = 1; a < m; ++a) {
    w.gu.noalias() += Th.middleRows((a - 1) * d, d).transpose() * C.H.col(a - 1);
    C.dT.middleRows((a - 1) * d, d).noalias() += C.H.col(a - 1) * w.u.transpose();
  }
  w.gu += (gt.eps_coef * trA_(i)) * w.u;
  out.dU.row(i) = w.gu.transpose();
}

// The visited-state analogue of the initial-state part, with
// Psi_i = psi(S_t) over i's own transitions and weights 1/T_i:
//   g0 = sum_a Wt_a' Psi_i pi_a + sum_{a>=1} Theta_a' Psi_i E_a,
//   dV/dTheta_a += c_init (1/T_i) Psi_i E_a u_i'.
void P4LProblem::visited_gradient(Chunk& C, int i, const DualSolution& ds, double c_init,
                                  GradScratch& w) const {
  const P4LData& D = *data_;
  const MatrixXd& Th = ws_.last.Theta;
  const int d = d_, m = m_, p = p_, n0 = n0_;
  const int r = static_cast<int>(ws_.last.U.cols());
  const int s0 = D.start[i], T = D.start[i + 1] - s0;
  const Eigen::Map<const MatrixXd> Wt(ds.theta.data(), p, r);
  const auto Psv = C.Xs.topRows(T).transpose();
  const auto PvI = ws_.Piv.middleRows(s0, T);
  w.wv.noalias() = Wt * w.u;
  w.Ov = Eigen::Map<const MatrixXd>(w.wv.data(), d, m);
  w.Qv.noalias() = Psv.transpose() * w.Ov;  // Q(S_t, a), T x m
  const VectorXd Vv = (PvI.array() * w.Qv.array()).rowwise().sum().matrix();
  w.g0.setZero();
  for (int a = 0; a < m; ++a) {
    w.xv.noalias() = Psv * PvI.col(a);
    w.g0.noalias() += Wt.middleRows(a * d, d).transpose() * w.xv;
    if (a == 0) continue;
    w.xv.noalias() = Psv * (PvI.col(a).array() * (w.Qv.col(a) - Vv).array()).matrix();
    w.g0.noalias() += Th.middleRows((a - 1) * d, d).transpose() * w.xv;
    C.dT.middleRows((a - 1) * d, d).noalias() += (c_init / T) * w.xv * w.u.transpose();
  }
  w.g0 *= static_cast<double>(n0) / T;  // gu takes c_init / n0 of it
}

// One M-term s l' dM r of dV/du_i, dM/du_i = (1/n)[(du u' + u du') (x) (A_i - gamma B_i)]:
// its coefficients in w.X (l's: s (A_i R u - gamma B_i R u), r's: s (A_i L u -
// gamma B_i' L u)) and the policy part (accumulated in C.H).
void P4LProblem::mterm_gradient(Chunk& C, int i, const MTerm& mt, GradScratch& w) const {
  const P4LData& D = *data_;
  const int d = d_, m = m_, p = p_, m1 = m - 1;
  const double gamma = ws_.gamma;
  const int s0 = D.start[i], T = D.start[i + 1] - s0;
  const auto PiI = ws_.Pi.middleRows(s0, T);  // T x m
  const auto Psn = C.Xn.topRows(T).transpose();
  const Eigen::Map<const MatrixXd> Om(w.Vu.col(mt.ri).data(), d, m),
      Zm(w.Vu.col(mt.li).data(), d, m);
  auto Qn = C.Qn.topRows(T);
  Qn.noalias() = Psn.transpose().lazyProduct(Om);  // Q_R(S'_t, a), T x m
  // f_t = phi_t' L u (the weight of transition t), by action block
  int pos = s0;
  for (int a = 0; a < m; ++a) {
    const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
    if (Ta > 0) C.f.segment(pos - s0, Ta).noalias() = C.Xs.middleRows(pos - s0, Ta) * Zm.col(a);
    pos += Ta;
  }
  auto vb = C.vb.head(T);
  vb = PiI.cwiseProduct(Qn).rowwise().sum();  // sum_a pi_a Q_R(S', a)
  auto FP = C.FP.topRows(T);
  FP = PiI.array().colwise() * C.f.head(T).array();  // f_t pi_a(S'_t)
  auto Coef = C.Coef.topRows(T);                     // f pi_a adv_a, a >= 1
  Coef.array() = FP.rightCols(m1).array() * (Qn.rightCols(m1).colwise() - vb).array();
  w.Hs.noalias() = Psn.lazyProduct(Coef);  // sum_t f pi_a adv_a psi(S')
  C.H -= mt.sign * w.Hs;
  C.Btz.noalias() = Psn.lazyProduct(FP);  // B_i' (L u), d x m blocks
  pos = s0;
  for (int a = 0; a < m; ++a) {  // B_i (R u), d x m blocks
    const int Ta = acnt_[static_cast<std::size_t>(i) * m + a];
    if (Ta > 0)
      C.Bw.col(a).noalias() = C.Xs.middleRows(pos - s0, Ta).transpose() * vb.segment(pos - s0, Ta);
    else
      C.Bw.col(a).setZero();
    pos += Ta;
  }
  const Eigen::Map<const VectorXd> bw(C.Bw.data(), p), btz(C.Btz.data(), p);
  w.X.col(mt.li) += mt.sign * (w.AVu.col(mt.ri) - gamma * bw);
  w.X.col(mt.ri) += mt.sign * (w.AVu.col(mt.li) - gamma * btz);
}

}  // namespace p4l
