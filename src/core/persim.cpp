#include "persim.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "rng.h"
#include "runtime.h"

namespace p4l {

namespace {

// Rows are reduced in fixed blocks of this size, summed in block order, so
// that sums do not depend on how many threads ran the blocks.
constexpr long kBlock = 2048;

long num_blocks(long n) { return (n + kBlock - 1) / kBlock; }

// G(:, r) = V_r phi for every r: d x r.
void factor_images(const std::vector<Eigen::MatrixXd>& V,
                   const Eigen::Ref<const Eigen::RowVectorXd>& phi, Eigen::MatrixXd& G) {
  for (std::size_t r = 0; r < V.size(); ++r)
    G.col(static_cast<long>(r)).noalias() = V[r] * phi.transpose();
}

// Solves (M + ridge I) x = b for a small symmetric positive definite system.
Eigen::VectorXd ridge_solve(Eigen::MatrixXd M, const Eigen::VectorXd& b, double ridge) {
  M.diagonal().array() += ridge;
  Eigen::LLT<Eigen::MatrixXd> llt(M);
  if (llt.info() != Eigen::Success) return M.ldlt().solve(b);
  return llt.solve(b);
}

// Latent step: u_i minimises sum_{t in i} |dS_t - G_t diag(W(a_t, :)) u|^2 + ridge |u|^2.
void update_latent(const PersimData& data, const std::vector<std::vector<long>>& rows_of,
                   double ridge, PersimFit& fit) {
  const int r = static_cast<int>(fit.W.cols());
  const int d = static_cast<int>(data.dS.cols());
  runtime().parallel_for(rows_of.size(), [&](std::size_t b, std::size_t e) {
    Eigen::MatrixXd G(d, r), B(d, r), M(r, r);
    Eigen::VectorXd rhs(r);
    for (std::size_t i = b; i < e; ++i) {
      M.setZero();
      rhs.setZero();
      for (long t : rows_of[i]) {
        factor_images(fit.V, data.phi.row(t), G);
        B = G * fit.W.row(data.action[t]).asDiagonal();
        M.noalias() += B.transpose() * B;
        rhs.noalias() += B.transpose() * data.dS.row(t).transpose();
      }
      fit.U.row(static_cast<long>(i)) = ridge_solve(M, rhs, ridge).transpose();
    }
  });
}

// Action step: w_a minimises sum_{t: a_t = a} |dS_t - G_t diag(U(i_t, :)) w|^2 + ridge |w|^2.
void update_action(const PersimData& data, double ridge, PersimFit& fit) {
  const int r = static_cast<int>(fit.W.cols());
  const int d = static_cast<int>(data.dS.cols());
  const int A = data.num_actions;
  const long n = data.dS.rows(), nb = num_blocks(n);
  std::vector<Eigen::MatrixXd> M(nb * A, Eigen::MatrixXd::Zero(r, r));
  std::vector<Eigen::VectorXd> rhs(nb * A, Eigen::VectorXd::Zero(r));
  runtime().parallel_for(static_cast<std::size_t>(nb), [&](std::size_t b, std::size_t e) {
    Eigen::MatrixXd G(d, r), B(d, r);
    for (std::size_t blk = b; blk < e; ++blk) {
      const long lo = static_cast<long>(blk) * kBlock, hi = std::min(n, lo + kBlock);
      for (long t = lo; t < hi; ++t) {
        const long slot = static_cast<long>(blk) * A + data.action[t];
        factor_images(fit.V, data.phi.row(t), G);
        B = G * fit.U.row(data.individual[t]).asDiagonal();
        M[slot].noalias() += B.transpose() * B;
        rhs[slot].noalias() += B.transpose() * data.dS.row(t).transpose();
      }
    }
  });
  for (int a = 0; a < A; ++a) {
    Eigen::MatrixXd Ma = Eigen::MatrixXd::Zero(r, r);
    Eigen::VectorXd ba = Eigen::VectorXd::Zero(r);
    for (long blk = 0; blk < nb; ++blk) {
      Ma += M[blk * A + a];
      ba += rhs[blk * A + a];
    }
    fit.W.row(a) = ridge_solve(Ma, ba, ridge).transpose();
  }
}

// State step: with c_t = U(i_t, :) .* W(a_t, :), dS_t = sum_r c_tr V_r phi_t
// is linear in vec(V); one ridge solve shared by the d state dimensions.
void update_state(const PersimData& data, double ridge, PersimFit& fit) {
  const int r = static_cast<int>(fit.W.cols());
  const int d = static_cast<int>(data.dS.cols());
  const int m = static_cast<int>(data.phi.cols());
  const long n = data.dS.rows(), nb = num_blocks(n), p = static_cast<long>(r) * m;
  std::vector<Eigen::MatrixXd> XtX(nb), XtY(nb);
  runtime().parallel_for(static_cast<std::size_t>(nb), [&](std::size_t b, std::size_t e) {
    for (std::size_t blk = b; blk < e; ++blk) {
      const long lo = static_cast<long>(blk) * kBlock, len = std::min(n, lo + kBlock) - lo;
      Eigen::MatrixXd X(len, p);
      for (long t = 0; t < len; ++t) {
        const long row = lo + t;
        for (int k = 0; k < r; ++k) {
          const double c = fit.U(data.individual[row], k) * fit.W(data.action[row], k);
          X.block(t, static_cast<long>(k) * m, 1, m) = c * data.phi.row(row);
        }
      }
      XtX[blk].noalias() = X.transpose() * X;
      XtY[blk].noalias() = X.transpose() * data.dS.middleRows(lo, len);
    }
  });
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(p, p), Y = Eigen::MatrixXd::Zero(p, d);
  for (long blk = 0; blk < nb; ++blk) {
    M += XtX[blk];
    Y += XtY[blk];
  }
  M.diagonal().array() += ridge;
  Eigen::LLT<Eigen::MatrixXd> llt(M);
  const Eigen::MatrixXd beta = llt.info() == Eigen::Success ? Eigen::MatrixXd(llt.solve(Y))
                                                            : Eigen::MatrixXd(M.ldlt().solve(Y));
  for (int k = 0; k < r; ++k) fit.V[k] = beta.middleRows(static_cast<long>(k) * m, m).transpose();
}

// Equalises the norms of U(:, r), W(:, r) and V_r without changing their
// product: the fit is unchanged and the ridge penalty does not increase.
void rebalance(PersimFit& fit) {
  for (long k = 0; k < fit.W.cols(); ++k) {
    const double nu = fit.U.col(k).norm(), nw = fit.W.col(k).norm(), nv = fit.V[k].norm();
    if (!(nu > 0 && nw > 0 && nv > 0)) continue;
    const double g = std::cbrt(nu * nw * nv);
    fit.U.col(k) *= g / nu;
    fit.W.col(k) *= g / nw;
    fit.V[k] *= g / nv;
  }
}

}  // namespace

void PersimFeatures::eval(const Eigen::VectorXd& s, Eigen::Ref<Eigen::VectorXd> out) const {
  const int d = state_dim();
  out(0) = 1.0;
  for (int j = 0; j < d; ++j) out(1 + j) = (s(j) - center(j)) / scale(j);
  const double inv = 1.0 / (2.0 * bandwidth * bandwidth);
  for (long k = 0; k < centres.rows(); ++k) {
    double dist = 0.0;
    for (int j = 0; j < d; ++j) {
      const double diff = out(1 + j) - centres(k, j);
      dist += diff * diff;
    }
    out(1 + d + k) = std::exp(-dist * inv);
  }
}

Eigen::MatrixXd PersimFeatures::eval_rows(const Eigen::MatrixXd& S) const {
  Eigen::MatrixXd out(S.rows(), dim());
  runtime().parallel_for(static_cast<std::size_t>(S.rows()), [&](std::size_t b, std::size_t e) {
    Eigen::VectorXd s(S.cols()), f(dim());
    for (std::size_t t = b; t < e; ++t) {
      s = S.row(static_cast<long>(t)).transpose();
      eval(s, f);
      out.row(static_cast<long>(t)) = f.transpose();
    }
  });
  return out;
}

Eigen::MatrixXd persim_fitted(const PersimData& data, const PersimFit& fit) {
  const long n = data.dS.rows();
  const int d = static_cast<int>(data.dS.cols()), r = static_cast<int>(fit.W.cols());
  Eigen::MatrixXd out(n, d);
  runtime().parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e) {
    Eigen::MatrixXd G(d, r);
    for (std::size_t t = b; t < e; ++t) {
      factor_images(fit.V, data.phi.row(static_cast<long>(t)), G);
      const Eigen::VectorXd c =
          (fit.U.row(data.individual[t]).array() * fit.W.row(data.action[t]).array()).transpose();
      out.row(static_cast<long>(t)) = (G * c).transpose();
    }
  });
  return out;
}

double persim_objective(const PersimData& data, const PersimFit& fit, double ridge) {
  const double rss = (data.dS - persim_fitted(data, fit)).squaredNorm();
  double pen = fit.U.squaredNorm() + fit.W.squaredNorm();
  for (const auto& V : fit.V) pen += V.squaredNorm();
  return 0.5 * rss + 0.5 * ridge * pen;
}

PersimFit fit_persim(const PersimData& data, const PersimControl& ctl) {
  const long n = data.dS.rows();
  const int d = static_cast<int>(data.dS.cols()), m = static_cast<int>(data.phi.cols());
  if (ctl.rank < 1) throw std::invalid_argument("rank must be at least 1");
  if (data.phi.rows() != n || static_cast<long>(data.individual.size()) != n ||
      static_cast<long>(data.action.size()) != n)
    throw std::invalid_argument("persim data: rows differ");
  std::vector<std::vector<long>> rows_of(data.num_individuals);
  for (long t = 0; t < n; ++t) {
    if (data.individual[t] < 0 || data.individual[t] >= data.num_individuals ||
        data.action[t] < 0 || data.action[t] >= data.num_actions)
      throw std::invalid_argument("persim data: individual or action index out of range");
    rows_of[data.individual[t]].push_back(t);
  }
  PersimFit fit;
  std::mt19937_64 g = make_stream(ctl.seed, 0x9e5, 0);
  fit.U.resize(data.num_individuals, ctl.rank);
  fit.W.resize(data.num_actions, ctl.rank);
  for (long i = 0; i < fit.U.size(); ++i) fit.U(i) = 1.0 + 0.1 * std_normal(g);
  for (long i = 0; i < fit.W.size(); ++i) fit.W(i) = 1.0 + 0.1 * std_normal(g);
  fit.V.assign(ctl.rank, Eigen::MatrixXd::Zero(d, m));
  double prev = 0.0;
  for (int it = 1; it <= ctl.max_iter; ++it) {
    check_interrupt();
    update_state(data, ctl.ridge, fit);
    update_latent(data, rows_of, ctl.ridge, fit);
    update_action(data, ctl.ridge, fit);
    rebalance(fit);
    const double obj = persim_objective(data, fit, ctl.ridge);
    fit.objective.push_back(obj);
    fit.iterations = it;
    if (it > 1 && prev - obj <= ctl.tol * std::max(obj, 1e-300)) {
      fit.converged = true;
      break;
    }
    prev = obj;
  }
  // The last block step was on W and then a rebalance: a final state step
  // leaves V optimal for the returned U and W (the objective cannot increase).
  update_state(data, ctl.ridge, fit);
  fit.objective.back() = persim_objective(data, fit, ctl.ridge);
  return fit;
}

// Flat parameter layout (all matrices column-major), m = 1 + d + k:
//   d, A, r, k, bandwidth, clip (0/1), noise (0/1),
//   center (d), scale (d), centres (k x d), u (r), W (A x r), V_1..V_r (d x m each),
//   L (d x d), reward_phi (m x A), reward_next (d), reward_lo, reward_hi,
//   lo (d), hi (d), initial mean (d), initial factor (d x d): S_0 = mean + factor e,
//   e ~ N(0, I) (a zero factor starts every episode at the mean).
PersimEnv::PersimEnv(const std::vector<double>& p) {
  auto need = [&](std::size_t k) {
    if (p.size() < k) throw std::invalid_argument("persim environment: parameter vector too short");
  };
  need(7);
  auto whole = [](double x, double lo) {
    if (!(x >= lo) || x != std::floor(x) || x > 1e6)
      throw std::invalid_argument("persim environment: bad dimension");
    return static_cast<int>(x);
  };
  d_ = whole(p[0], 1);
  A_ = whole(p[1], 1);
  r_ = whole(p[2], 1);
  const int k = whole(p[3], 0), m = 1 + d_ + k;
  phi_.bandwidth = p[4];
  clip_ = p[5] != 0.0;
  noise_ = p[6] != 0.0;
  const std::size_t total =
      7 + 2 * d_ + static_cast<std::size_t>(k) * d_ + r_ + static_cast<std::size_t>(A_) * r_ +
      static_cast<std::size_t>(r_) * d_ * m + static_cast<std::size_t>(d_) * d_ +
      static_cast<std::size_t>(m) * A_ + d_ + 2 + 3 * d_ + static_cast<std::size_t>(d_) * d_;
  if (p.size() != total)
    throw std::invalid_argument("persim environment: parameter vector has the wrong length");
  std::size_t pos = 7;
  auto take = [&](long rows, long cols) {
    Eigen::MatrixXd M = Eigen::Map<const Eigen::MatrixXd>(p.data() + pos, rows, cols);
    pos += static_cast<std::size_t>(rows * cols);
    return M;
  };
  phi_.center = take(d_, 1);
  phi_.scale = take(d_, 1);
  phi_.centres = take(k, d_);
  u_ = take(r_, 1);
  W_ = take(A_, r_);
  for (int j = 0; j < r_; ++j) V_.push_back(take(d_, m));
  L_ = take(d_, d_);
  reward_phi_ = take(m, A_);
  reward_next_ = take(d_, 1);
  reward_lo_ = p[pos++];
  reward_hi_ = p[pos++];
  lo_ = take(d_, 1);
  hi_ = take(d_, 1);
  initial_ = take(d_, 1);
  initial_factor_ = take(d_, d_);
  random_start_ = !initial_factor_.isZero(0.0);
  if (!(phi_.bandwidth > 0) || !(phi_.scale.array() > 0).all())
    throw std::invalid_argument("persim environment: bandwidth and scales must be positive");
}

void PersimEnv::reset(std::mt19937_64& g, Eigen::VectorXd& s) const {
  s = initial_;
  if (!random_start_) return;
  Eigen::VectorXd e(d_);
  for (int j = 0; j < d_; ++j) e(j) = std_normal(g);
  s.noalias() += initial_factor_ * e;
  if (clip_) s = s.cwiseMax(lo_).cwiseMin(hi_);
}

double PersimEnv::mean_next(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next) const {
  Eigen::VectorXd f(phi_.dim());
  phi_.eval(s, f);
  next = s;
  for (int k = 0; k < r_; ++k) next.noalias() += (u_(k) * W_(a, k)) * (V_[k] * f);
  return f.dot(reward_phi_.col(a));
}

void PersimEnv::mean_step(const Eigen::VectorXd& s, int a, Eigen::VectorXd& next, double& r) const {
  const double part = mean_next(s, a, next);
  if (clip_) next = next.cwiseMax(lo_).cwiseMin(hi_);
  r = std::min(reward_hi_, std::max(reward_lo_, part + reward_next_.dot(next)));
}

double PersimEnv::step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
                       bool& done) const {
  const double part = mean_next(s, a, next);
  if (noise_) {
    Eigen::VectorXd e(d_);
    for (int j = 0; j < d_; ++j) e(j) = std_normal(g);
    next.noalias() += L_ * e;
  }
  if (clip_) next = next.cwiseMax(lo_).cwiseMin(hi_);
  done = false;
  return std::min(reward_hi_, std::max(reward_lo_, part + reward_next_.dot(next)));
}

}  // namespace p4l
