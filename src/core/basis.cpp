#include "basis.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime.h"

namespace p4l {

namespace {
constexpr long kBlock = 2048;  // rows per parallel block (for_row_blocks(), runtime.h)
}  // namespace

void FeatureMap::finalize() {
  for (auto& p : parts) p.finalize();
  const std::size_t nc = columns.size();
  for (int c : columns)
    if (c < 0) throw std::invalid_argument("feature map: negative column index");
  switch (kind) {
    case Kind::Rbf:
      if (!columns.empty() && static_cast<long>(nc) != centers.cols())
        throw std::invalid_argument("RBF part: centers need one column per state column");
      if (shift.size() != centers.cols() || scale.size() != centers.cols())
        throw std::invalid_argument("RBF part: shift and scale need one entry per column");
      if (!(bandwidth > 0)) throw std::invalid_argument("RBF part: bandwidth must be positive");
      break;
    case Kind::Linear:
      if (static_cast<std::size_t>(shift.size()) != nc ||
          static_cast<std::size_t>(scale.size()) != nc)
        throw std::invalid_argument("linear part: shift and scale need one entry per column");
      break;
    case Kind::Indicator: {
      if (levels.size() != nc || nc == 0)
        throw std::invalid_argument("indicator part: one level set per column needed");
      for (const auto& lv : levels) {
        if (lv.empty()) throw std::invalid_argument("indicator part: a column has no level");
        if (!std::is_sorted(lv.begin(), lv.end()))
          throw std::invalid_argument("indicator part: levels must be sorted");
      }
      if (interactions < 0 || interactions > 2)
        throw std::invalid_argument("indicator part: interactions must be 0, 1 or 2");
      if (interactions == 2) {
        if (cells.rows() < 1 || static_cast<std::size_t>(cells.cols()) != nc)
          throw std::invalid_argument("indicator part: joint cells need one column per column");
        for (long r = 0; r < cells.rows(); ++r)
          for (std::size_t j = 0; j < nc; ++j)
            if (cells(r, j) < 0 || cells(r, j) >= static_cast<int>(levels[j].size()))
              throw std::invalid_argument("indicator part: joint cell out of range");
        dim_ = static_cast<int>(cells.rows());
        break;
      }
      dummy_offset_.assign(nc, 0);
      int off = 1;
      for (std::size_t j = 0; j < nc; ++j) {
        dummy_offset_[j] = off;
        off += static_cast<int>(levels[j].size()) - 1;
      }
      pair_offset_.clear();
      if (interactions == 1) {
        for (std::size_t j = 0; j + 1 < nc; ++j)
          for (std::size_t k = j + 1; k < nc; ++k) {
            pair_offset_.push_back(off);
            off +=
                (static_cast<int>(levels[j].size()) - 1) * (static_cast<int>(levels[k].size()) - 1);
          }
      }
      dim_ = off;
      break;
    }
    case Kind::Sum:
    case Kind::Product:
      if (parts.size() < 2 || (kind == Kind::Product && parts.size() != 2))
        throw std::invalid_argument("composed feature map: wrong number of parts");
      break;
  }
}

int FeatureMap::dim() const {
  switch (kind) {
    case Kind::Rbf:
      return static_cast<int>(centers.rows()) + 1;
    case Kind::Linear:
      return static_cast<int>(columns.size()) + 1;
    case Kind::Indicator:
      return dim_;
    case Kind::Sum: {
      int d = 1;
      for (const auto& p : parts) d += p.dim() - 1;
      return d;
    }
    case Kind::Product:
      return parts[0].dim() * parts[1].dim();
  }
  return 0;
}

int FeatureMap::min_state_dim() const {
  int m = 0;
  if (kind == Kind::Rbf && columns.empty()) m = static_cast<int>(centers.cols());
  for (int c : columns) m = std::max(m, c + 1);
  for (const auto& p : parts) m = std::max(m, p.min_state_dim());
  return m;
}

bool FeatureMap::all_columns(long ncol) const {
  if (columns.empty()) return true;
  if (static_cast<long>(columns.size()) != ncol) return false;
  for (std::size_t j = 0; j < columns.size(); ++j)
    if (columns[j] != static_cast<int>(j)) return false;
  return true;
}

// Nearest level of v in column j (ties to the lower level).
int FeatureMap::level_index(int j, double v) const {
  const std::vector<double>& lv = levels[j];
  auto it = std::lower_bound(lv.begin(), lv.end(), v);
  if (it == lv.begin()) return 0;
  if (it == lv.end()) return static_cast<int>(lv.size()) - 1;
  const int hi = static_cast<int>(it - lv.begin());
  if (*it == v) return hi;
  const int lo = hi - 1;
  return (v - lv[lo] <= lv[hi] - v) ? lo : hi;
}

// Row of the observed cell idx, or of the nearest observed cell.
int FeatureMap::joint_cell(const std::vector<int>& idx) const {
  const long nc = cells.cols();
  long lo = 0, hi = cells.rows();  // binary search in the lexicographic order
  while (lo < hi) {
    const long mid = (lo + hi) / 2;
    int cmp = 0;
    for (long j = 0; j < nc && cmp == 0; ++j)
      cmp = cells(mid, j) < idx[j] ? -1 : (cells(mid, j) > idx[j] ? 1 : 0);
    if (cmp == 0) return static_cast<int>(mid);
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  long best = 0, best_d = -1;
  for (long r = 0; r < cells.rows(); ++r) {
    long d = 0;
    for (long j = 0; j < nc; ++j) d += std::abs(cells(r, j) - idx[j]);
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
void FeatureMap::indicator_row(const Get& get, const Set& set, std::vector<int>& idx) const {
  const int nc = static_cast<int>(levels.size());
  set(0);
  for (int j = 0; j < nc; ++j) idx[j] = level_index(j, get(j));
  if (interactions == 2) {
    const int c = joint_cell(idx);
    if (c > 0) set(c);
    return;
  }
  for (int j = 0; j < nc; ++j)
    if (idx[j] > 0) set(dummy_offset_[j] + idx[j] - 1);
  if (interactions == 1) {
    int p = 0;
    for (int j = 0; j + 1 < nc; ++j)
      for (int k = j + 1; k < nc; ++k, ++p)
        if (idx[j] > 0 && idx[k] > 0)
          set(pair_offset_[p] + (idx[j] - 1) * (static_cast<int>(levels[k].size()) - 1) + idx[k] -
              1);
  }
}

void FeatureMap::features(const Eigen::VectorXd& s, Eigen::VectorXd& out) const {
  switch (kind) {
    case Kind::Rbf: {
      const long J = centers.rows();
      out.resize(J + 1);
      out(0) = 1.0;
      const double f = -1.0 / (2.0 * bandwidth * bandwidth);
      Eigen::VectorXd z;
      if (columns.empty()) {
        z = (s - shift).cwiseQuotient(scale);
      } else {
        z.resize(columns.size());
        for (std::size_t j = 0; j < columns.size(); ++j)
          z(j) = (s(columns[j]) - shift(j)) / scale(j);
      }
      for (long j = 0; j < J; ++j)
        out(j + 1) = std::exp(f * (centers.row(j).transpose() - z).squaredNorm());
      return;
    }
    case Kind::Linear:
      out.resize(columns.size() + 1);
      out(0) = 1.0;
      for (std::size_t j = 0; j < columns.size(); ++j)
        out(j + 1) = (s(columns[j]) - shift(j)) / scale(j);
      return;
    case Kind::Indicator: {
      out.setZero(dim_);
      std::vector<int> idx(levels.size());
      indicator_row([&](int j) { return s(columns[j]); }, [&](int k) { out(k) = 1.0; }, idx);
      return;
    }
    case Kind::Sum: {
      out.resize(dim());
      out(0) = 1.0;
      Eigen::VectorXd part;
      long off = 1;
      for (const auto& p : parts) {
        p.features(s, part);
        out.segment(off, part.size() - 1) = part.tail(part.size() - 1);
        off += part.size() - 1;
      }
      return;
    }
    case Kind::Product: {
      Eigen::VectorXd a, b;
      parts[0].features(s, a);
      parts[1].features(s, b);
      out.resize(a.size() * b.size());
      for (long k = 0; k < a.size(); ++k) out.segment(k * b.size(), b.size()) = a(k) * b;
      return;
    }
  }
}

Eigen::MatrixXd FeatureMap::features(const Eigen::MatrixXd& states) const {
  Eigen::MatrixXd out(states.rows(), dim());
  features_into(states, out);
  return out;
}

void FeatureMap::rbf_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                          Eigen::Ref<Eigen::MatrixXd> out) const {
  // Blocks of rows: squared distances from one matrix product, then a
  // vectorised exp. Fixed block size, so results do not depend on threads.
  const long n = states.rows();
  const long J = centers.rows();
  const long block = 2048;
  const long num_blocks = (n + block - 1) / block;
  const double f = -1.0 / (2.0 * bandwidth * bandwidth);
  const Eigen::RowVectorXd cnorm = centers.rowwise().squaredNorm().transpose();
  const Eigen::RowVectorXd inv_scale = scale.cwiseInverse().transpose();
  const bool all = all_columns(states.cols());
  out.col(0).setOnes();
  runtime().parallel_for(num_blocks, [&](std::size_t bb, std::size_t be) {
    Eigen::MatrixXd z, d2;
    for (std::size_t blk = bb; blk < be; ++blk) {
      const long r0 = static_cast<long>(blk) * block;
      const long len = std::min(block, n - r0);
      if (all) {
        z = (states.middleRows(r0, len).rowwise() - shift.transpose()).array().rowwise() *
            inv_scale.array();
      } else {
        z.resize(len, columns.size());
        for (std::size_t j = 0; j < columns.size(); ++j)
          z.col(j) = ((states.col(columns[j]).segment(r0, len).array() - shift(j)) * inv_scale(j))
                         .matrix();
      }
      d2.noalias() = z * centers.transpose();
      d2 = ((-2.0 * d2).colwise() + z.rowwise().squaredNorm()).rowwise() + cnorm;
      out.block(r0, 1, len, J) = (f * d2.array().max(0.0)).exp().matrix();
    }
  });
}

void FeatureMap::features_into(const Eigen::Ref<const Eigen::MatrixXd>& states,
                               Eigen::Ref<Eigen::MatrixXd> out) const {
  const long n = states.rows();
  switch (kind) {
    case Kind::Rbf:
      rbf_into(states, out);
      return;
    case Kind::Linear:
      out.col(0).setOnes();
      for (std::size_t j = 0; j < columns.size(); ++j)
        out.col(j + 1) = ((states.col(columns[j]).array() - shift(j)) / scale(j)).matrix();
      return;
    case Kind::Indicator:
      for_row_blocks(n, kBlock, [&](long r0, long len) {
        std::vector<int> idx(levels.size());
        out.middleRows(r0, len).setZero();
        for (long i = r0; i < r0 + len; ++i)
          indicator_row([&](int j) { return states(i, columns[j]); },
                        [&](int k) { out(i, k) = 1.0; }, idx);
      });
      return;
    case Kind::Sum: {
      out.col(0).setOnes();
      long off = 1;
      for (const auto& p : parts) {
        const long dp = p.dim();
        Eigen::MatrixXd tmp(n, dp);
        p.features_into(states, tmp);
        out.middleCols(off, dp - 1) = tmp.rightCols(dp - 1);
        off += dp - 1;
      }
      return;
    }
    case Kind::Product: {
      const long da = parts[0].dim(), db = parts[1].dim();
      Eigen::MatrixXd a(n, da), b(n, db);
      parts[0].features_into(states, a);
      parts[1].features_into(states, b);
      runtime().parallel_for(static_cast<std::size_t>(da), [&](std::size_t kb, std::size_t ke) {
        for (std::size_t k = kb; k < ke; ++k)
          for (long l = 0; l < db; ++l)
            out.col(static_cast<long>(k) * db + l) = a.col(k).cwiseProduct(b.col(l));
      });
      return;
    }
  }
}

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

}  // namespace p4l
