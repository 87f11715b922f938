// Strict reading of a settings list from R (a p4l_control(), p4l_sgd_control(),
// fqi_control(), acpi_control() or vlearning_control() object). The R
// constructors are the only place where settings have defaults: here a
// setting that is missing from the list is an R error naming it, and so is a
// name in the list that the core does not read, unless the caller declared it
// R-only (used on the R side, never passed on to the core).
#pragma once
#include <Rcpp.h>

#include <set>
#include <string>
#include <vector>

namespace p4l_settings {

class Reader {
 public:
  // `what` names the list in messages (e.g. "control"), `constructor` the R
  // function that makes it (e.g. "p4l_control").
  Reader(const Rcpp::List& list, const char* what, const char* constructor,
         std::vector<std::string> r_only = {})
      : list_(list), what_(what), constructor_(constructor), r_only_(r_only.begin(), r_only.end()) {
    SEXP nm = Rf_getAttrib(list_, R_NamesSymbol);
    if (Rf_xlength(list_) > 0 && Rf_isNull(nm))
      Rcpp::stop("`%s` must be a named list made by %s()", what_, constructor_);
  }

  // A scalar setting (a length-1 numeric or logical vector).
  template <class T>
  T get(const char* name) {
    SEXP x = element(name);
    if (Rf_isNull(x) || Rf_xlength(x) != 1 || !(Rf_isNumeric(x) || Rf_isLogical(x)))
      Rcpp::stop("`%s$%s` must be a single number or logical (from %s())", what_, name,
                 constructor_);
    return Rcpp::as<T>(x);
  }

  // A single string.
  std::string string(const char* name) {
    SEXP x = element(name);
    if (!Rf_isString(x) || Rf_xlength(x) != 1)
      Rcpp::stop("`%s$%s` must be a single string (from %s())", what_, name, constructor_);
    return Rcpp::as<std::string>(x);
  }

  // A nested settings list.
  Rcpp::List list(const char* name) {
    SEXP x = element(name);
    if (TYPEOF(x) != VECSXP)
      Rcpp::stop("`%s$%s` must be a list (from %s())", what_, name, constructor_);
    return Rcpp::List(x);
  }

  // Whether a setting that must be present is NULL (settings whose NULL has a
  // meaning of its own, e.g. acpi_control(bic.constant = NULL)).
  bool is_null(const char* name) { return Rf_isNull(element(name)); }

  // Call after reading: every name in the list must have been read or be R-only.
  void done() const {
    SEXP nm = Rf_getAttrib(list_, R_NamesSymbol);
    for (R_xlen_t i = 0; i < Rf_xlength(list_); ++i) {
      const std::string n = Rf_isNull(nm) ? std::string() : CHAR(STRING_ELT(nm, i));
      if (read_.count(n) == 0 && r_only_.count(n) == 0)
        Rcpp::stop("`%s` has an unknown setting `%s` (see ?%s for the settings)", what_, n.c_str(),
                   constructor_);
    }
  }

 private:
  SEXP element(const char* name) {
    SEXP nm = Rf_getAttrib(list_, R_NamesSymbol);
    if (!Rf_isNull(nm)) {
      for (R_xlen_t i = 0; i < Rf_xlength(list_); ++i) {
        if (std::string(CHAR(STRING_ELT(nm, i))) == name) {
          read_.insert(name);
          return VECTOR_ELT(list_, i);
        }
      }
    }
    Rcpp::stop("`%s` has no setting `%s`: make it with %s() of this version of p4l", what_, name,
               constructor_);
  }

  Rcpp::List list_;
  const char* what_;
  const char* constructor_;
  std::set<std::string> r_only_;
  std::set<std::string> read_;
};

}  // namespace p4l_settings
