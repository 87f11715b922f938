// The regularised inner problem; see inner_regularised.h.
#include "inner_regularised.h"

#include "runtime.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace p4l {

using Eigen::MatrixXd;
using Eigen::VectorXd;

RegularisedInner::RegularisedInner(int m, int d, int r, int iterative_min, int max_pcg,
                                   double pcg_tol)
    : m_(m),
      d_(d),
      r_(r),
      q_(m * d * r),
      rd_(r * d),
      iterative_min_(iterative_min),
      max_pcg_(max_pcg),
      tol_(pcg_tol) {
  idx_.assign(m, std::vector<int>(rd_));
  const int p = m * d;
  for (int a = 0; a < m; ++a)
    for (int k = 0; k < r; ++k)
      for (int j = 0; j < d; ++j) idx_[a][k * d + j] = k * p + a * d + j;
  Sblk_.resize(m);
  Lblk_.resize(m);
}

void RegularisedInner::factor_sigma(const MatrixXd& S) {
  for (int a = 0; a < m_; ++a) {
    MatrixXd& B = Sblk_[a];
    B.resize(rd_, rd_);
    for (int u = 0; u < rd_; ++u)
      for (int v = 0; v < rd_; ++v) B(u, v) = S(idx_[a][u], idx_[a][v]);
    Lblk_[a].compute(B);
    if (Lblk_[a].info() != Eigen::Success)
      throw std::runtime_error("p4l: Sigma is not positive definite; increase control$dual.ridge");
  }
}

VectorXd RegularisedInner::sigma_solve(const VectorXd& v) const {
  VectorXd out(q_), va(rd_);
  for (int a = 0; a < m_; ++a) {
    for (int u = 0; u < rd_; ++u) va(u) = v(idx_[a][u]);
    va = Lblk_[a].solve(va);
    for (int u = 0; u < rd_; ++u) out(idx_[a][u]) = va(u);
  }
  return out;
}

VectorXd RegularisedInner::sigma_times(const VectorXd& v) const {
  VectorXd out(q_), va(rd_), sa(rd_);
  for (int a = 0; a < m_; ++a) {
    for (int u = 0; u < rd_; ++u) va(u) = v(idx_[a][u]);
    sa.noalias() = Sblk_[a] * va;
    for (int u = 0; u < rd_; ++u) out(idx_[a][u]) = sa(u);
  }
  return out;
}

VectorXd RegularisedInner::h_times(const VectorXd& v) const {
  const VectorXd Mv = (*M_) * v;
  VectorXd out = M_->transpose() * sigma_solve(Mv);
  VectorXd Pv = sigma_times(v);
  if (centre_) Pv -= St1_ * (St1_.dot(v) / v1_);
  out += kappa_ * Pv;
  return out;
}

void RegularisedInner::factor_h(const MatrixXd& M) {
  // G = L^-1 M, one action block of rows at a time (rows permuted: G'G is
  // unchanged by the order of G's rows).
  MatrixXd G(q_, q_), Ma(rd_, q_);
  for (int a = 0; a < m_; ++a) {
    for (int u = 0; u < rd_; ++u) Ma.row(u) = M.row(idx_[a][u]);
    Lblk_[a].matrixL().solveInPlace(Ma);
    G.middleRows(static_cast<Eigen::Index>(a) * rd_, rd_) = Ma;
  }
  // H = G'G by column blocks of fixed width (independent of the thread
  // count, so the result is too), the lower triangle of each block in parallel.
  MatrixXd H = MatrixXd::Zero(q_, q_);
  constexpr int kBlock = 64;
  const int nblk = (q_ + kBlock - 1) / kBlock;
  runtime().parallel_for(static_cast<std::size_t>(nblk), [&](std::size_t lo, std::size_t hi) {
    for (std::size_t bi = lo; bi < hi; ++bi) {
      const int j0 = static_cast<int>(bi) * kBlock;
      const int w = std::min(kBlock, q_ - j0);
      // rows j0 .. q-1 of columns j0 .. j0+w-1
      H.block(j0, j0, q_ - j0, w).noalias() =
          G.middleCols(j0, q_ - j0).transpose() * G.middleCols(j0, w);
    }
  });
  for (int a = 0; a < m_; ++a)
    for (int u = 0; u < rd_; ++u)
      for (int v = 0; v <= u; ++v) {
        const int i = std::max(idx_[a][u], idx_[a][v]), j = std::min(idx_[a][u], idx_[a][v]);
        H(i, j) += kappa_ * Sblk_[a](u, v);
      }
  if (centre_) H.selfadjointView<Eigen::Lower>().rankUpdate(St1_, -kappa_ / v1_);
  Hf_.compute(H);  // reads the lower triangle
  if (Hf_.info() != Eigen::Success)
    throw std::runtime_error(
        "p4l: the regularised Bellman system is not positive definite; "
        "increase control$kappa or control$dual.ridge");
  rcond_ = Hf_.rcond();
  have_factor_ = true;
  ++refactor_;
}

bool RegularisedInner::pcg(const VectorXd& rhs, VectorXd& x) {
  const double target = tol_ * rhs.norm();
  VectorXd r = rhs - h_times(x);
  if (r.norm() <= target) return true;
  VectorXd zv = Hf_.solve(r);
  VectorXd pv = zv;
  double rz = r.dot(zv);
  for (int it = 0; it < max_pcg_; ++it) {
    ++pcg_iter_;
    const VectorXd Hp = h_times(pv);
    const double pHp = pv.dot(Hp);
    if (!(pHp > 0)) return false;
    const double step = rz / pHp;
    x += step * pv;
    r -= step * Hp;
    if (r.norm() <= target) return true;
    zv = Hf_.solve(r);
    const double rz1 = r.dot(zv);
    pv = zv + (rz1 / rz) * pv;
    rz = rz1;
  }
  return false;
}

RegularisedSolution RegularisedInner::solve(const MatrixXd& M, const MatrixXd& S, const VectorXd& b,
                                            const VectorXd& c, const VectorXd& t1, double kappa) {
  if (M.rows() != q_ || S.rows() != q_ || b.size() != q_ || c.size() != q_)
    throw std::invalid_argument("p4l: regularised inner problem: dimensions do not match");
  M_ = &M;
  kappa_ = kappa;
  factor_sigma(S);
  v1_ = 0;
  if (t1.size() == q_) {
    St1_ = sigma_times(t1);
    v1_ = t1.dot(St1_);
  }
  centre_ = v1_ > 0;
  const VectorXd rhs = M.transpose() * sigma_solve(b);
  RegularisedSolution out;
  const bool iterative = q_ >= iterative_min_ && have_factor_ && w_prev_.size() == q_;
  bool done = false;
  if (iterative) {
    out.w = w_prev_;
    out.y = y_prev_;
    done = pcg(rhs, out.w) && pcg(c, out.y);
  }
  if (!done) {
    factor_h(M);
    out.w = Hf_.solve(rhs);
    out.y = Hf_.solve(c);
  }
  w_prev_ = out.w;
  y_prev_ = out.y;
  out.rcond = rcond_;
  out.s = std::sqrt(std::max(0.0, c.dot(out.y)));
  out.z = sigma_solve(M * out.y);
  out.e0 = sigma_solve(b - M * out.w);
  auto centred = [&](const VectorXd& v) {
    VectorXd o = v;
    if (centre_) o -= t1 * (St1_.dot(v) / v1_);
    return o;
  };
  out.a0 = centred(out.w);
  out.yc = centred(out.y);
  M_ = nullptr;
  return out;
}

}  // namespace p4l
