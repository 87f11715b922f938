#include "basis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "runtime.h"

namespace p4l {

namespace {
constexpr long kBlock = 2048;  // rows per parallel block (for_row_blocks(), runtime.h)

void check_columns(const std::vector<int>& columns) {
  for (int c : columns)
    if (c < 0) throw std::invalid_argument("feature map: negative column index");
}

int max_column(const std::vector<int>& columns) {
  int m = 0;
  for (int c : columns) m = std::max(m, c + 1);
  return m;
}
}  // namespace

// ---------------------------------------------------------------------------
// RBF

RbfMap::RbfMap(std::vector<int> columns, Eigen::MatrixXd centers, double bandwidth,
               Eigen::VectorXd shift, Eigen::VectorXd scale)
    : columns_(std::move(columns)),
      centers_(std::move(centers)),
      bandwidth_(bandwidth),
      shift_(std::move(shift)),
      scale_(std::move(scale)) {
  check_columns(columns_);
  if (!columns_.empty() && static_cast<long>(columns_.size()) != centers_.cols())
    throw std::invalid_argument("RBF part: centers need one column per state column");
  if (shift_.size() != centers_.cols() || scale_.size() != centers_.cols())
    throw std::invalid_argument("RBF part: shift and scale need one entry per column");
  if (!(bandwidth_ > 0)) throw std::invalid_argument("RBF part: bandwidth must be positive");
}

int RbfMap::min_state_dim() const {
  return columns_.empty() ? static_cast<int>(centers_.cols()) : max_column(columns_);
}

bool RbfMap::all_columns(long ncol) const {
  if (columns_.empty()) return true;
  if (static_cast<long>(columns_.size()) != ncol) return false;
  for (std::size_t j = 0; j < columns_.size(); ++j)
    if (columns_[j] != static_cast<int>(j)) return false;
  return true;
}

void RbfMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  const long J = centers_.rows();
  out.resize(J + 1);
  out(0) = 1.0;
  const double f = -1.0 / (2.0 * bandwidth_ * bandwidth_);
  Eigen::VectorXd z;
  if (columns_.empty()) {
    z = (s - shift_).cwiseQuotient(scale_);
  } else {
    z.resize(columns_.size());
    for (std::size_t j = 0; j < columns_.size(); ++j)
      z(j) = (s(columns_[j]) - shift_(j)) / scale_(j);
  }
  for (long j = 0; j < J; ++j)
    out(j + 1) = std::exp(f * (centers_.row(j).transpose() - z).squaredNorm());
}

void RbfMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                           Eigen::Ref<Eigen::MatrixXd> out) const {
  // Blocks of rows: squared distances from one matrix product, then a
  // vectorised exp. Fixed block size, so results do not depend on threads.
  const long n = states.rows();
  const long J = centers_.rows();
  const long block = 2048;
  const long num_blocks = (n + block - 1) / block;
  const double f = -1.0 / (2.0 * bandwidth_ * bandwidth_);
  const Eigen::RowVectorXd cnorm = centers_.rowwise().squaredNorm().transpose();
  const Eigen::RowVectorXd inv_scale = scale_.cwiseInverse().transpose();
  const bool all = all_columns(states.cols());
  out.col(0).setOnes();
  runtime().parallel_for(num_blocks, [&](std::size_t bb, std::size_t be) {
    Eigen::MatrixXd z, d2;
    for (std::size_t blk = bb; blk < be; ++blk) {
      const long r0 = static_cast<long>(blk) * block;
      const long len = std::min(block, n - r0);
      if (all) {
        z = (states.middleRows(r0, len).rowwise() - shift_.transpose()).array().rowwise() *
            inv_scale.array();
      } else {
        z.resize(len, columns_.size());
        for (std::size_t j = 0; j < columns_.size(); ++j)
          z.col(j) = ((states.col(columns_[j]).segment(r0, len).array() - shift_(j)) * inv_scale(j))
                         .matrix();
      }
      d2.noalias() = z * centers_.transpose();
      d2 = ((-2.0 * d2).colwise() + z.rowwise().squaredNorm()).rowwise() + cnorm;
      out.block(r0, 1, len, J) = (f * d2.array().max(0.0)).exp().matrix();
    }
  });
}

// ---------------------------------------------------------------------------
// Linear

LinearMap::LinearMap(std::vector<int> columns, Eigen::VectorXd shift, Eigen::VectorXd scale)
    : columns_(std::move(columns)), shift_(std::move(shift)), scale_(std::move(scale)) {
  check_columns(columns_);
  const std::size_t nc = columns_.size();
  if (static_cast<std::size_t>(shift_.size()) != nc ||
      static_cast<std::size_t>(scale_.size()) != nc)
    throw std::invalid_argument("linear part: shift and scale need one entry per column");
}

int LinearMap::min_state_dim() const { return max_column(columns_); }

void LinearMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  out.resize(columns_.size() + 1);
  out(0) = 1.0;
  for (std::size_t j = 0; j < columns_.size(); ++j)
    out(j + 1) = (s(columns_[j]) - shift_(j)) / scale_(j);
}

void LinearMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                              Eigen::Ref<Eigen::MatrixXd> out) const {
  out.col(0).setOnes();
  for (std::size_t j = 0; j < columns_.size(); ++j)
    out.col(j + 1) = ((states.col(columns_[j]).array() - shift_(j)) / scale_(j)).matrix();
}

// ---------------------------------------------------------------------------
// Indicators

IndicatorMap::IndicatorMap(std::vector<int> columns, std::vector<std::vector<double>> levels,
                           int interactions, Eigen::MatrixXi cells)
    : columns_(std::move(columns)),
      levels_(std::move(levels)),
      interactions_(interactions),
      cells_(std::move(cells)) {
  check_columns(columns_);
  const std::size_t nc = columns_.size();
  if (levels_.size() != nc || nc == 0)
    throw std::invalid_argument("indicator part: one level set per column needed");
  for (const auto& lv : levels_) {
    if (lv.empty()) throw std::invalid_argument("indicator part: a column has no level");
    if (!std::is_sorted(lv.begin(), lv.end()))
      throw std::invalid_argument("indicator part: levels must be sorted");
  }
  if (interactions_ < 0 || interactions_ > 2)
    throw std::invalid_argument("indicator part: interactions must be 0, 1 or 2");
  if (interactions_ == 2) {
    if (cells_.rows() < 1 || static_cast<std::size_t>(cells_.cols()) != nc)
      throw std::invalid_argument("indicator part: joint cells need one column per column");
    for (long r = 0; r < cells_.rows(); ++r)
      for (std::size_t j = 0; j < nc; ++j)
        if (cells_(r, j) < 0 || cells_(r, j) >= static_cast<int>(levels_[j].size()))
          throw std::invalid_argument("indicator part: joint cell out of range");
    dim_ = static_cast<int>(cells_.rows());
    return;
  }
  dummy_offset_.assign(nc, 0);
  int off = 1;
  for (std::size_t j = 0; j < nc; ++j) {
    dummy_offset_[j] = off;
    off += static_cast<int>(levels_[j].size()) - 1;
  }
  if (interactions_ == 1) {
    for (std::size_t j = 0; j + 1 < nc; ++j)
      for (std::size_t k = j + 1; k < nc; ++k) {
        pair_offset_.push_back(off);
        off +=
            (static_cast<int>(levels_[j].size()) - 1) * (static_cast<int>(levels_[k].size()) - 1);
      }
  }
  dim_ = off;
}

int IndicatorMap::min_state_dim() const { return max_column(columns_); }

// Nearest level of v in column j (ties to the lower level).
int IndicatorMap::level_index(int j, double v) const {
  const std::vector<double>& lv = levels_[j];
  auto it = std::lower_bound(lv.begin(), lv.end(), v);
  if (it == lv.begin()) return 0;
  if (it == lv.end()) return static_cast<int>(lv.size()) - 1;
  const int hi = static_cast<int>(it - lv.begin());
  if (*it == v) return hi;
  const int lo = hi - 1;
  return (v - lv[lo] <= lv[hi] - v) ? lo : hi;
}

// Row of the observed cell idx, or of the nearest observed cell.
int IndicatorMap::joint_cell(const std::vector<int>& idx) const {
  const long nc = cells_.cols();
  long lo = 0, hi = cells_.rows();  // binary search in the lexicographic order
  while (lo < hi) {
    const long mid = (lo + hi) / 2;
    int cmp = 0;
    for (long j = 0; j < nc && cmp == 0; ++j)
      cmp = cells_(mid, j) < idx[j] ? -1 : (cells_(mid, j) > idx[j] ? 1 : 0);
    if (cmp == 0) return static_cast<int>(mid);
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  long best = 0, best_d = -1;
  for (long r = 0; r < cells_.rows(); ++r) {
    long d = 0;
    for (long j = 0; j < nc; ++j) d += std::abs(cells_(r, j) - idx[j]);
    if (best_d < 0 || d < best_d) {
      best = r;
      best_d = d;
    }
  }
  return static_cast<int>(best);
}

// Writes the non-zero features of one state: get(j) is the value of the
// part's column j; set(k) marks feature k as 1 (the rest are 0).
template <class Get, class Set>
void IndicatorMap::indicator_row(const Get& get, const Set& set, std::vector<int>& idx) const {
  const int nc = static_cast<int>(levels_.size());
  set(0);
  for (int j = 0; j < nc; ++j) idx[j] = level_index(j, get(j));
  if (interactions_ == 2) {
    const int c = joint_cell(idx);
    if (c > 0) set(c);
    return;
  }
  for (int j = 0; j < nc; ++j)
    if (idx[j] > 0) set(dummy_offset_[j] + idx[j] - 1);
  if (interactions_ == 1) {
    int p = 0;
    for (int j = 0; j + 1 < nc; ++j)
      for (int k = j + 1; k < nc; ++k, ++p)
        if (idx[j] > 0 && idx[k] > 0)
          set(pair_offset_[p] + (idx[j] - 1) * (static_cast<int>(levels_[k].size()) - 1) + idx[k] -
              1);
  }
}

void IndicatorMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  out.setZero(dim_);
  std::vector<int> idx(levels_.size());
  indicator_row([&](int j) { return s(columns_[j]); }, [&](int k) { out(k) = 1.0; }, idx);
}

void IndicatorMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                                 Eigen::Ref<Eigen::MatrixXd> out) const {
  for_row_blocks(states.rows(), kBlock, [&](long r0, long len) {
    std::vector<int> idx(levels_.size());
    out.middleRows(r0, len).setZero();
    for (long i = r0; i < r0 + len; ++i)
      indicator_row([&](int j) { return states(i, columns_[j]); }, [&](int k) { out(i, k) = 1.0; },
                    idx);
  });
}

// ---------------------------------------------------------------------------
// Compositions

SumMap::SumMap(std::vector<FeatureMapPtr> parts) : parts_(std::move(parts)) {
  if (parts_.size() < 2) throw std::invalid_argument("composed feature map: wrong number of parts");
  for (const auto& p : parts_)
    if (!p) throw std::invalid_argument("composed feature map: a part is missing");
}

int SumMap::dim() const {
  int d = 1;
  for (const auto& p : parts_) d += p->dim() - 1;
  return d;
}

int SumMap::min_state_dim() const {
  int m = 0;
  for (const auto& p : parts_) m = std::max(m, p->min_state_dim());
  return m;
}

void SumMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  out.resize(dim());
  out(0) = 1.0;
  Eigen::VectorXd part;
  long off = 1;
  for (const auto& p : parts_) {
    p->features(s, part);
    out.segment(off, part.size() - 1) = part.tail(part.size() - 1);
    off += part.size() - 1;
  }
}

void SumMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                           Eigen::Ref<Eigen::MatrixXd> out) const {
  const long n = states.rows();
  out.col(0).setOnes();
  long off = 1;
  for (const auto& p : parts_) {
    const long dp = p->dim();
    Eigen::MatrixXd tmp(n, dp);
    p->features_into(states, tmp);
    out.middleCols(off, dp - 1) = tmp.rightCols(dp - 1);
    off += dp - 1;
  }
}

ProductMap::ProductMap(FeatureMapPtr a, FeatureMapPtr b) : a_(std::move(a)), b_(std::move(b)) {
  if (!a_ || !b_) throw std::invalid_argument("composed feature map: wrong number of parts");
}

int ProductMap::min_state_dim() const { return std::max(a_->min_state_dim(), b_->min_state_dim()); }

void ProductMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  Eigen::VectorXd a, b;
  a_->features(s, a);
  b_->features(s, b);
  out.resize(a.size() * b.size());
  for (long k = 0; k < a.size(); ++k) out.segment(k * b.size(), b.size()) = a(k) * b;
}

void ProductMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                               Eigen::Ref<Eigen::MatrixXd> out) const {
  const long n = states.rows();
  const long da = a_->dim(), db = b_->dim();
  Eigen::MatrixXd a(n, da), b(n, db);
  a_->features_into(states, a);
  b_->features_into(states, b);
  runtime().parallel_for(static_cast<std::size_t>(da), [&](std::size_t kb, std::size_t ke) {
    for (std::size_t k = kb; k < ke; ++k)
      for (long l = 0; l < db; ++l)
        out.col(static_cast<long>(k) * db + l) = a.col(k).cwiseProduct(b.col(l));
  });
}

// ---------------------------------------------------------------------------

long standardise_columns(const double* x, long n, long p, const double* shift, const double* scale,
                         double lim, double* z) {
  const long num_blocks = (n + kBlock - 1) / kBlock;
  std::vector<long> first(static_cast<std::size_t>(num_blocks) * std::max(1L, p), -1);
  for_row_blocks(n, kBlock, [&](long r0, long len) {
    const long b = r0 / kBlock;
    for (long j = 0; j < p; ++j) {
      const double c = shift[j], s = scale[j];
      const double* xj = x + j * n;
      double* zj = z + j * n;
      long bad = -1;
      for (long i = r0; i < r0 + len; ++i) {
        zj[i] = (xj[i] - c) / s;
        if (bad < 0 && !(std::abs(zj[i]) <= lim)) bad = j * n + i;
      }
      first[b * p + j] = bad;
    }
  });
  // the smallest column-major index: first by column, then by row
  long out = -1;
  for (long j = 0; j < p && out < 0; ++j)
    for (long b = 0; b < num_blocks && out < 0; ++b) out = first[b * p + j];
  return out;
}

ColumnSummary column_summary(const double* x, long n, long p, bool moments) {
  ColumnSummary out;
  out.min.assign(static_cast<std::size_t>(p), std::numeric_limits<double>::quiet_NaN());
  out.max = out.min;
  if (moments) out.mean = out.sd = out.min;
  runtime().parallel_for(static_cast<std::size_t>(p), [&](std::size_t jb, std::size_t je) {
    for (std::size_t j = jb; j < je; ++j) {
      const double* xj = x + static_cast<long>(j) * n;
      if (n > 0) {
        double lo = xj[0], hi = xj[0];
        for (long i = 1; i < n; ++i) {
          lo = std::min(lo, xj[i]);
          hi = std::max(hi, xj[i]);
        }
        out.min[j] = lo;
        out.max[j] = hi;
      }
      if (!moments) continue;
      const long double nn = static_cast<long double>(n);
      long double s = 0.0L;
      for (long i = 0; i < n; ++i) s += xj[i];
      out.mean[j] = static_cast<double>(s / nn);  // colMeans()
      if (n < 2) continue;
      long double m = s / nn;  // var()'s mean: corrected by the mean residual
      if (std::isfinite(static_cast<double>(m))) {
        long double r = 0.0L;
        for (long i = 0; i < n; ++i) r += (xj[i] - m);
        m = m + r / nn;
      }
      const long double c = static_cast<double>(m);
      long double ss = 0.0L;
      for (long i = 0; i < n; ++i) ss += (xj[i] - c) * (xj[i] - c);
      out.sd[j] = std::sqrt(static_cast<double>(ss / (nn - 1.0L)));
    }
  });
  return out;
}

}  // namespace p4l
