// Strict reading of the one transition-dataset object every estimator binding
// receives: the R list made by transition_inputs() (R/baselines.R), with
// exactly the elements psi, psi_next, action, reward, terminal, start and
// num_actions. A missing or unknown element, or one of the wrong type, is an R
// error naming it. The feature matrices psi and psi_next are mapped in place
// (never copied): the R list, an argument of the binding, keeps them alive for
// the call, which outlives every TransitionData / P4LData read here.
#pragma once
#include <RcppEigen.h>

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "core/p4l_solver.h"
#include "core/transitions.h"

namespace p4l_bind {

constexpr int kNumTransitionElements = 7;
constexpr const char* kTransitionElements[kNumTransitionElements] = {
    "psi", "psi_next", "action", "reward", "terminal", "start", "num_actions"};

// The elements of x in the order of kTransitionElements; stops naming the first
// unknown, duplicated or missing element.
inline void transition_elements(const Rcpp::List& x, SEXP (&out)[kNumTransitionElements]) {
  for (SEXP& s : out) s = R_NilValue;
  const char* expected = "psi, psi_next, action, reward, terminal, start, num_actions";
  SEXP nm = Rf_getAttrib(x, R_NamesSymbol);
  if (Rf_isNull(nm))
    Rcpp::stop("`transitions` must be a named list (transition_inputs()) with the elements %s",
               expected);
  bool seen[kNumTransitionElements] = {false};
  for (R_xlen_t k = 0; k < Rf_xlength(x); ++k) {
    const char* name = CHAR(STRING_ELT(nm, k));
    int j = 0;
    while (j < kNumTransitionElements && std::strcmp(name, kTransitionElements[j]) != 0) ++j;
    if (j == kNumTransitionElements)
      Rcpp::stop("`transitions` has an unknown element '%s' (expected exactly %s)", name, expected);
    if (seen[j]) Rcpp::stop("`transitions` has the element '%s' twice", name);
    seen[j] = true;
    out[j] = VECTOR_ELT(x, k);
  }
  for (int j = 0; j < kNumTransitionElements; ++j)
    if (!seen[j])
      Rcpp::stop("`transitions` has no element '%s' (expected exactly %s)", kTransitionElements[j],
                 expected);
}

// Rebinds the view v to the double matrix s (no copy).
inline void map_double_matrix(SEXP s, const char* name, p4l::ConstMatrixView& v) {
  if (TYPEOF(s) != REALSXP || !Rf_isMatrix(s))
    Rcpp::stop("`transitions$%s` must be a double matrix", name);
  new (&v) p4l::ConstMatrixView(REAL(s), Rf_nrows(s), Rf_ncols(s));
}

inline void check_integer(SEXP s, const char* name) {
  if (TYPEOF(s) != INTSXP) Rcpp::stop("`transitions$%s` must be an integer vector", name);
}

// Fills the fields of TransitionData (also the base of a P4LData) from x,
// with no consistency check (validate() does that).
inline void fill_transitions(const Rcpp::List& x, p4l::TransitionData& D) {
  SEXP e[kNumTransitionElements];
  transition_elements(x, e);
  map_double_matrix(e[0], "psi", D.psi);
  map_double_matrix(e[1], "psi_next", D.psi_next);
  check_integer(e[2], "action");
  D.action = Eigen::Map<const Eigen::VectorXi>(INTEGER(e[2]), Rf_xlength(e[2]));
  if (TYPEOF(e[3]) != REALSXP) Rcpp::stop("`transitions$reward` must be a double vector");
  D.reward = Eigen::Map<const Eigen::VectorXd>(REAL(e[3]), Rf_xlength(e[3]));
  check_integer(e[4], "terminal");
  const int* term = INTEGER(e[4]);
  const R_xlen_t nt = Rf_xlength(e[4]);
  D.terminal.resize(static_cast<std::size_t>(nt));
  for (R_xlen_t k = 0; k < nt; ++k) {
    if (term[k] != 0 && term[k] != 1)
      Rcpp::stop("`transitions$terminal` must hold 0 or 1 (entry %d)", static_cast<int>(k + 1));
    D.terminal[static_cast<std::size_t>(k)] = static_cast<char>(term[k]);
  }
  check_integer(e[5], "start");
  D.start.assign(INTEGER(e[5]), INTEGER(e[5]) + Rf_xlength(e[5]));
  if (TYPEOF(e[6]) != INTSXP || Rf_xlength(e[6]) != 1 || INTEGER(e[6])[0] == NA_INTEGER)
    Rcpp::stop("`transitions$num_actions` must be a single integer");
  D.num_actions = INTEGER(e[6])[0];
}

// The transitions of a baseline binding; `who` prefixes the messages of
// TransitionData::validate().
inline p4l::TransitionData read_transitions(const Rcpp::List& x,
                                            const std::string& who = "transitions") {
  p4l::TransitionData D;
  fill_transitions(x, D);
  try {
    D.validate(who);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(std::string(e.what()));
  }
  return D;
}

// The data of a P4L binding: the transitions and the features of the initial
// states (mapped as well), checked by P4L's stricter p4l::validate().
inline p4l::P4LData read_p4l_data(const Rcpp::List& x, const Eigen::Map<Eigen::MatrixXd>& psi0) {
  p4l::P4LData D;
  fill_transitions(x, D);
  new (&D.psi0) p4l::ConstMatrixView(psi0.data(), psi0.rows(), psi0.cols());
  try {
    p4l::validate(D);
  } catch (const std::exception& e) {
    Rcpp::stop("invalid P4L inputs: %s", e.what());
  }
  return D;
}

}  // namespace p4l_bind
