// Conversion of an R basis (its basis_spec() list, R/basis_interface.R) to
// the core's feature map: the one place where R bases become C++ maps, used
// by the feature bindings (basis_bindings.cpp) and evaluate_policy_cpp().
#pragma once
#include <RcppEigen.h>

#include "core/basis.h"

// Throws an R error naming the problem ("invalid basis: ...").
p4l::FeatureMapPtr feature_map_from_r(const Rcpp::List& spec);
