# Helpers shared by the baselines fqi(), vlearning() and acpi(): the shared
# basis, transition features and the p4l_policy object.

# The shared basis: given (any p4l_basis on the data's states), or
# default_basis(): on continuous states 16 RBF centres by K-means with the
# median bandwidth (paper, Sec 6.1), indicators on discrete columns. `...`
# are further arguments of default_basis() (P4L's default differs, see
# resolve_p4l_basis()).
resolve_basis <- function(basis, data, seed, num.threads, ...) {
  if (is.null(basis)) {
    return(default_basis(data, seed = seed, num.threads = num.threads, ...))
  }
  if (!is_basis(basis)) {
    stop_arg("`basis` must be NULL or a basis (class p4l_basis, e.g. rbf_basis(), ",
             "indicator_basis(), default_basis()); got an object of class '", class(basis)[1], "'.")
  }
  check_basis_states(basis, data$state.names)
  basis
}

# The one transition-dataset object every C++ binding reads (strictly: exactly
# these elements, src/transition_bindings.h): 0-based actions, and the row
# offsets of the individuals (rows of a p4l_data are grouped by individual).
# The core reads the feature matrices in place (no copy), so they must be double.
transition_inputs <- function(data, psi, psi.next) {
  list(psi = as_double(psi), psi_next = as_double(psi.next), action = as.integer(data$A - 1L),
       reward = as.numeric(data$R), terminal = as.integer(data$terminal),
       start = row_starts(data), num_actions = length(data$action.levels))
}

data_features <- function(data, basis, num.threads) {
  list(psi = basis_features(basis, data$S, num.threads),
       psi.next = basis_features(basis, data$S_next, num.threads))
}

name_coef <- function(x, basis, action.levels) {
  rownames(x) <- basis_names(basis)
  colnames(x) <- as.character(action.levels)
  x
}

baseline_policy <- function(method, class, data, basis, gamma, slot, policy.coef, q.coef,
                            greedy, cluster = NULL, ...) {
  new_p4l_policy(method, class, basis = basis, gamma = gamma,
                 action.levels = data$action.levels, action.type = data$action.type,
                 state.names = data$state.names, id.column = data$columns$id, ids = data$ids,
                 slot = slot, policy.coef = policy.coef, q.coef = q.coef, greedy = greedy,
                 epsilon = 0, raw.state = FALSE, cluster = cluster, coding = data$coding,
                 num.transitions = length(data$R), ...)
}
