// P4L solver core: closed-form pessimistic dual for linear Q / f classes,
// its exact gradient, and the ADMM outer loop of the paper (eq. 19-21).
// Plain C++17 + Eigen; no R headers. Spec: shared/design/solver.md.
//
// Model (p = m d, x = u (x) phi in R^{p r}):
//   phi(s,a) = e_a (x) psi(s),  Q(s,a;u) = phi' W u,  W = reshape(theta, p, r)
//   pi(a|s;u) = softmax_a(psi(s)' Theta_a u),  Theta_0 = 0 (reference action 0)
//   Sigma = (1/n) sum_i (u_i u_i') (x) A_i,  M = (1/n) sum_i (u_i u_i') (x) (A_i - gamma B_i)
//   b = (1/n) sum_i u_i (x) b_i,  c = (1-gamma)/N sum_i u_i (x) E_nu[sum_a pi(a|S0;u_i) phi(S0,a)]
//   w = M^-1 b, z = M^-T c, s = sqrt(z' Sigma z), V = c'w - alpha s,
//   theta* = w - (alpha/s) M^-1 Sigma z, beta* = Sigma^-1 (b - M theta*)/alpha, lambda* = s.
//
// Dual ridge: M and Sigma are replaced by M + eps I and Sigma + eps I with
//   eps = dual_ridge * tr(Sigma) / (p r)   (dual_ridge default 1e-6).
// eps scales with u like Sigma does, so V stays (to O(eps)) invariant to the
// scale of u; eps depends on u and its derivative is included in grad().
// The returned M and Sigma are the ridged matrices actually used.
//
// Determinism: individuals are processed in fixed chunks (boundaries depend
// only on N); per-chunk partial sums are reduced serially in chunk order, so
// every result is bitwise identical for any thread count.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "inner_regularised.h"
#include "kmeans.h"
#include "runtime.h"
#include "transitions.h"

namespace p4l {

// Interrupted (runtime.h) is thrown when runtime().interrupted() returns true
// (checked once per outer iteration).

// The data of a fit: the transitions (transitions.h: views of the caller's
// feature matrices, never copied) and the features of the initial states,
// also a view; their memory must outlive the P4LData and every P4LProblem
// built on it.
struct P4LData : TransitionData {
  ConstMatrixView psi0{nullptr, 0, 0};  // n0 x d features of the initial states (shared nu)
};
// Throws std::invalid_argument describing the first inconsistency.
void validate(const P4LData& data);

// Policy parameters and latent variables.
//   Theta: (m-1) d x r, rows (a-1) d .. a d - 1 hold Theta_a (a = 1..m-1).
//   U:     N x r, row i = u_i'.
struct Params {
  Eigen::MatrixXd Theta;
  Eigen::MatrixXd U;
};

// Two inner problems (shared/design/solver.md and vignette("p4l"), "How the
// solver works"):
//  kappa = 0 (the paper's closed form): Omega = {theta: ||b - M theta||_{Sigma^-1} <= alpha},
//    w = M^-1 b, z = M^-T c, s = ||z||_Sigma, V = c'w - alpha s. Ill-posed where
//    M(pi) is near-singular (V unbounded over the policy class).
//  kappa > 0 (regularised, the default of p4l()): the Bellman residual is
//    penalised by the spread of Q over the data,
//      q(theta) = ||b - M theta||^2_{Sigma^-1} + kappa ||C theta||^2_Sigma,
//    C theta = theta - t1 (t1' Sigma theta)/(t1' Sigma t1) removes the constant
//    Q-function t1 (intercept of every action, latent coordinate 1), and
//    Omega = {theta: q(theta) <= min q + alpha^2}. With H = M' Sigma^-1 M + kappa C' Sigma C
//    (positive definite for every policy):
//      w = theta0 = H^-1 M' Sigma^-1 b,  y = H^-1 c,  s = sqrt(c' y),
//      V = c' theta0 - alpha s,  theta* = theta0 - (alpha/s) y,
//      z = Sigma^-1 M y,  e0 = Sigma^-1 (b - M theta0).
//    |V| is bounded for every policy, and kappa -> 0 with M invertible gives
//    back the closed form above (e0 -> 0, z -> M^-T c).
struct DualSolution {
  double V = 0;            // pessimistic value c'w - alpha s (average over individuals)
  double point_value = 0;  // c'w (point estimate, alpha = 0)
  double s = 0;            // sqrt(z' Sigma z) (kappa = 0) or sqrt(c' H^-1 c)
  double lambda = 0;       // Lagrange multiplier of (13); equals s
  double alpha = 0, gamma = 0, eps = 0;  // inputs and the ridge actually added
  double kappa = 0;          // regularisation of the inner problem (0: the paper's closed form)
  double iota = 0;           // alpha / s: theta* = w - iota y
  Eigen::VectorXd w;         // p r, point estimate: M^-1 b (kappa = 0) or theta0
  Eigen::VectorXd z;         // p r, M^-T c (kappa = 0) or Sigma^-1 M y
  Eigen::VectorXd theta;     // p r, worst-case Q weights theta*
  Eigen::VectorXd beta;      // p r, maximising f weights (zero when alpha = 0)
  Eigen::VectorXd b, c;      // p r
  Eigen::MatrixXd M, Sigma;  // p r x p r, ridged
  Eigen::VectorXd y;         // p r, H^-1 c (kappa > 0) or M^-1 Sigma z (kappa = 0)
  Eigen::VectorXd e0;        // p r, Sigma^-1 (b - M w) (zero when kappa = 0)
  Eigen::VectorXd a0, yc;    // p r, C w and C y (kappa > 0)
  double rcond = 0;          // reciprocal condition estimate of M (LU) or of H (kappa > 0)
  int p = 0, r = 0;          // Q weights are p x r
  // theta* reshaped to W (p x r): Q(s,a;u) = phi(s,a)' W u.
  Eigen::MatrixXd W() const;
  Eigen::MatrixXd Z() const;  // z reshaped p x r
};

struct Gradient {
  DualSolution dual;
  Eigen::MatrixXd dTheta;  // same shape as Params::Theta: dV/dTheta
  Eigen::MatrixXd dU;      // N x r: dV/du_i
};

// Cached sufficient statistics (A_i blocks, b_i) for repeated evaluations.
// Holds a pointer to `data`, which must outlive the object.
//
// Initial states: with max_initial > 0 and n0 > max_initial, each block of
// kInitBlock individuals (p4l_problem.cpp) averages over its own window of
// w = max_initial initial states: the rows of psi0 are put in one seeded
// random order (a stream seeded by `seed`), and the block starting at
// individual j0 takes the w rows from position (j0 w / kInitBlock) mod n0,
// wrapping around. Consecutive blocks take consecutive windows, so every
// initial state is used, about equally often when N w / kInitBlock >= n0,
// and the subsampling error of one window is not shared by all individuals.
// The windows depend on the data, the seed and the individuals' order only
// (never on the thread count or call order). This bounds the O(N n0)
// initial-state work by O(N w); the one-argument constructor (used by
// solve_dual() and grad()) always uses all rows.
//
// Cost per evaluate(): O(n d^2 (m-1)) for the policy-dependent part of M, plus
// O(N n0 r m) for c (c and its gradient are formed from n0 x r products, never
// from an n0 x d one per individual); the data-only parts that depend on U alone
// (Sigma, b, the A and K parts of M) are cached and reused while U is
// unchanged (e.g. across a Theta line search). Results are a pure function of
// (Theta, U, gamma, alpha, dual_ridge): caching never changes a bit.
class P4LProblem {
 public:
  explicit P4LProblem(const P4LData& data);
  P4LProblem(const P4LData& data, int max_initial, std::uint64_t seed);
  // visited = true: individual i's value is averaged over the states of its
  // own transitions (nu_i = its visited states) instead of the shared initial
  // states psi0 (which are then not used). Cost O(n d m r) per evaluation.
  P4LProblem(const P4LData& data, int max_initial, std::uint64_t seed, bool visited);
  bool visited() const { return visited_; }
  int N() const { return N_; }
  int n() const { return n_; }
  int d() const { return d_; }
  int m() const { return m_; }
  int p() const { return p_; }
  int n0() const { return n0_; }  // initial states per individual (the window w when subsampling)
  // rows of psi0 in the order of the windows (all rows when subsampling)
  const std::vector<int>& initial_rows() const { return init_rows_; }
  // individual i's initial states: positions initial_offset(i), ...,
  // initial_offset(i) + n0() - 1 of initial_rows(), modulo its length
  int initial_offset(int i) const;
  // Closed-form dual; with want_grad also the exact gradient of V.
  Gradient evaluate(const Params& par, double gamma, double alpha, double dual_ridge,
                    bool want_grad, double kappa = 0.0) const;
  // Fills g.dTheta and g.dU for `g`, the result of the most recent evaluate()
  // call on this object (made with want_grad = false). Bitwise identical to
  // evaluate(..., true). Lets line searches pay for the gradient only for
  // accepted trial points.
  void complete_gradient(Gradient& g) const;
  // Size q = m d r from which the regularised inner systems are solved by
  // warm-started preconditioned conjugate gradients (inner_regularised.h).
  void set_iterative_min(int q) { iterative_min_ = q; }
  // Factorisations of the regularised system and conjugate-gradient iterations so far.
  int inner_factorisations() const { return ws_.reg ? ws_.reg->refactorisations() : 0; }
  int inner_cg_iterations() const { return ws_.reg ? ws_.reg->pcg_iterations() : 0; }

 private:
  void value_pass(const Params& par, double gamma, double alpha, double dual_ridge, double kappa,
                  Gradient& out) const;
  void grad_pass(Gradient& out) const;
  const P4LData* data_;
  int N_, n_, d_, m_, p_, n0_;
  std::vector<char> termS_;         // n: terminal flags in action order (perm_)
  std::vector<int> init_rows_;      // rows of psi0 used for nu (window order when rotating)
  // initial-state features used (rows of init_rows_, then, when rotating, its
  // first n0 - 1 rows again so that every window is contiguous): n0ext x d, and d x n0ext
  Eigen::MatrixXd psi0s_, psi0sT_;
  Eigen::VectorXd psi0mean_;  // d: mean of the used psi0 rows (not rotating)
  Eigen::MatrixXd psi0cum_;   // (n0ext + 1) x d prefix sums of psi0s_ rows (rotating)
  bool rotate_ = false;       // per-block windows of the initial states
  int n0all_ = 0;             // rows of init_rows_ (the window positions)
  int n0ext_ = 0;             // rows of psi0s_
  // first row of the window of the block of individuals starting at j0
  int init_offset(int j0) const;
  Eigen::MatrixXd Ablk_;            // d x (N m d): A_i block a at columns (i m + a) d
  Eigen::MatrixXd Kblk_;    // d x (N m d): sum over non-terminal t with a_t = a of psi_t psi'_t'
                            // (so B_i block (a,0) = K - sum_{b>=1} block (a,b))
  Eigen::MatrixXd bI_;      // p x N: b_i
  Eigen::VectorXd trA_;     // N: tr(A_i)
  std::vector<int> perm_;   // n: within each individual, rows sorted by action (gather())
  std::vector<int> acnt_;   // N*m: number of transitions of i with action a
  std::vector<int> chunk_;  // chunk boundaries over individuals (depend on the data only)
  int maxT_ = 0;            // max_i T_i
  bool intercept_ = false;  // psi column 0 is the constant 1 (then t1 is the constant Q)
  bool visited_ = false;    // nu_i = individual i's visited states (see the constructor)
  int iterative_min_ = 400;
  // Reusable workspace: per-chunk partial sums and scratch, the policy at next
  // states, the U-only cache. evaluate() is therefore not re-entrant: one
  // evaluation at a time per object.
  struct Chunk {
    Eigen::MatrixXd MB;      // d x (npair m (m-1) d): sum_i u_k u_l B_i blocks (a, b>=1)
    Eigen::MatrixXd SA, MK;  // d x (npair m d): sum_i u_k u_l A_ia, u_k u_l K_ia
    Eigen::VectorXd b;       // p r
    Eigen::MatrixXd W0;      // n0 x (m-1) r: sum_i pi_a(S0; u_i) u_i'
    Eigen::MatrixXd R;       // n0 x (m-1) r: gradient, sum_i E_a(S0; u_i) u_i'
    Eigen::MatrixXd Wv;      // visited: d x (m r), sum_i (1/T_i) Psi_i pi_a(S_i; u_i) u_i'
    double tr = 0;
    Eigen::MatrixXd dT;  // (m-1) d x r
    // scratch
    Eigen::MatrixXd Xs, Xn;  // maxT x d: the individual's psi(S_t), psi(S'_t) rows (gather())
    Eigen::MatrixXd L, Bv, Qn, Coef, FP, H, Bw, Btz;
    // initial states, a block of up to kInitBlock individuals (columns) and a
    // tile of states (rows) at a time: IL[a] logits (a >= 1), IP[a]
    // probabilities, IQ[a] Q values, IV sum_a pi_a Q_a (tile x block), G0
    // the initial-state part of dV/du (r x block, summed over the tiles)
    std::vector<Eigen::MatrixXd> IL, IP, IQ;
    Eigen::MatrixXd IV, G0, Ub;
    Eigen::VectorXd SA00, MK00;  // the chunk's sums of A_i and K_i (pair (0, 0) when u_0 = 1)
    std::vector<double> pw;      // pair weights u_k u_l (individual_B_sums(), chunk_u_only_sums())
    std::vector<double*> pp;     // the pairs' blocks they are added to
    Eigen::VectorXd f, vb, xt;   // xt: maxT d, transposed rows (weighted_crossprods())
    Eigen::ArrayXd w1, w2;
  };
  struct Work {
    std::vector<Chunk> ch;
    Eigen::MatrixXd Pi;      // n x m: pi(.|S'_t), permuted order, 0 on terminal rows
    Eigen::MatrixXd Piv;     // visited: n x m, pi(.|S_t), permuted order
    Eigen::MatrixXd Ucache;  // U for which the U-only sums are valid
    bool ucache_valid = false;
    Eigen::MatrixXd SAsum, MKsum;  // reduced U-only sums
    Eigen::VectorXd bsum;
    double trsum = 0;
    std::vector<Eigen::MatrixXd> P0, Q0;  // psi0 Theta_a, psi0 Wt_a (n0 x r)
    Params last;                          // parameters of the most recent evaluate()
    double gamma = 0, dual_ridge = 0;
    std::unique_ptr<RegularisedInner> reg;  // regularised inner solver (keeps its warm starts)
    int reg_r = 0;
    bool have_last = false;
  };
  mutable Work ws_;

  // Construction steps and the two passes in named steps (p4l_problem.cpp).
  void select_initial_states(int max_initial, std::uint64_t seed);
  void make_chunks();
  void individual_moments(int i, std::vector<int>& cnt, std::vector<int>& off, Eigen::VectorXd& R,
                          Eigen::MatrixXd& Xs, Eigen::MatrixXd& Xn);
  // Individual i's rows of psi and psi_next in action order (perm_) into the
  // first T_i rows of Xs and Xn (maxT x d); Xn rows of terminal transitions are 0.
  void gather(int i, Eigen::MatrixXd& Xs, Eigen::MatrixXd& Xn) const;
  struct Shape {  // of one evaluation
    int r, pr, npair, m1;
    bool ucache;  // the U-only sums in ws_ are valid for this U
  };
  struct ValueScratch {  // per thread: u_i, a d-vector, Theta_a u_i (d x (m-1))
    Eigen::VectorXd u, fv;
    Eigen::MatrixXd ThU;
  };
  Shape shape_of(const Eigen::MatrixXd& U) const;
  void chunk_value_sums(Chunk& C, int i0, int i1, const Params& par, const Shape& sh,
                        ValueScratch& w) const;
  void individual_policy(Chunk& C, int i, const Eigen::MatrixXd& Th, const Shape& sh,
                         ValueScratch& w) const;
  void individual_B_sums(Chunk& C, int i, const Shape& sh, const Eigen::VectorXd& u) const;
  void chunk_u_only_sums(Chunk& C, int i0, int i1, const Eigen::MatrixXd& U, const Shape& sh) const;
  void reduce_value_sums(const Shape& sh, const Eigen::MatrixXd& U, Eigen::MatrixXd& MBs,
                         Eigen::VectorXd& c) const;
  void assemble_M_Sigma(const Shape& sh, double gamma, const Eigen::MatrixXd& MBs,
                        Eigen::MatrixXd& M, Eigen::MatrixXd& S) const;
  void solve_inner(const Shape& sh, Eigen::MatrixXd M, Eigen::MatrixXd S, Eigen::VectorXd b,
                   Eigen::VectorXd c, DualSolution& ds) const;
  void solve_regularised(const Shape& sh, const Eigen::MatrixXd& M, const Eigen::MatrixXd& S,
                         const Eigen::VectorXd& b, const Eigen::VectorXd& c,
                         DualSolution& ds) const;
  void solve_closed_form(const Eigen::MatrixXd& M, const Eigen::MatrixXd& S,
                         const Eigen::VectorXd& b, const Eigen::VectorXd& c,
                         DualSolution& ds) const;
  // the bilinear terms of the gradient identity (weights as p x r matrices)
  struct MTerm {  // sign l' dM r
    const double* l;
    const double* r;
    double sign;
    int li = 0, ri = 0;  // positions of l and r in GradTerms::vecs
  };
  struct STerm {  // weight a' dSigma b
    const double* a;
    const double* b;
    double weight;
    int ai = 0, bi = 0;  // positions of a and b in GradTerms::vecs
  };
  struct GradTerms {
    std::vector<MTerm> mterms;
    std::vector<STerm> sterms;
    std::vector<const double*> vecs;  // the distinct p r coefficient vectors of the terms
    double eps_coef = 0;  // d eps / d u_i = eps_coef tr(A_i) u_i (times the terms' l'r, a'b)
    double c_init = 0;    // (1 - gamma) / N
  };
  struct GradScratch {  // per thread: r-, p-, d-vectors and small matrices
    Eigen::VectorXd u, gu, g0, xv, wv;
    Eigen::MatrixXd Hs, Ov, Qv;
    // per individual: Vu = [V_j u] for the distinct vectors V_j of the terms
    // (p x r each), AVu = A_i Vu, X the coefficients x_j of dV/du_i = sum_j V_j' x_j / n
    Eigen::MatrixXd Vu, AVu, X;
  };
  GradTerms gradient_terms(const DualSolution& ds, int r) const;
  void chunk_gradient(Chunk& C, int i0, int i1, const GradTerms& gt, const DualSolution& ds,
                      GradScratch& w, Gradient& out) const;
  void init_state_gradient(Chunk& C, int j0, int nb) const;
  void individual_gradient(Chunk& C, int i, int j0, const GradTerms& gt, const DualSolution& ds,
                           GradScratch& w, Gradient& out) const;
  void visited_gradient(Chunk& C, int i, const DualSolution& ds, double c_init,
                        GradScratch& w) const;
  void mterm_gradient(Chunk& C, int i, const MTerm& mt, GradScratch& w) const;
};

DualSolution solve_dual(const P4LData& data, const Params& par, double gamma, double alpha,
                        double dual_ridge = 1e-6, double kappa = 0.0);
Gradient grad(const P4LData& data, const Params& par, double gamma, double alpha,
              double dual_ridge = 1e-6, double kappa = 0.0);

// ---------------------------------------------------------------------------
// The cluster step's K-means: kmeans(X, K, KMeansOptions, rng, warm) in kmeans.h.

// ---------------------------------------------------------------------------
// ADMM outer loop. Maximises
//   F(Theta, U) = V(Theta, U) - ridge ||Theta||_F^2 - (mu / N) sum_i min_k ||u_i - v_k||^2.
// The penalty is divided by N because V is an average over individuals: this
// is the paper's (15) divided by N, so `mu` has the paper's meaning.
//
// Scale fixing (identifiability). V is invariant to u_i -> H u_i,
// Theta_a -> Theta_a H^-1 for any invertible r x r H (W absorbs H^-T), so the
// penalty alone would shrink u to 0 (and the fit would drift along flat
// directions). We fix the gauge by (i) u_i[0] = 1 for all i: an intercept
// coordinate, WLOG whenever u_i[0] != 0, that makes the shared component of Q
// and pi explicit; only u~_i = u_i[1..r-1] are free, and the penalty, K-means
// and ADMM act on them; (ii) after every u-step the free coordinates are
// centred and scaled to unit root-mean-square, (1/N) sum_i ||u~_i||^2 = 1, by
// the exact reparametrisation above (V unchanged; Theta, the ADMM variables
// and the cached gradient are mapped along). Hence the penalty equals
// mu x (within-cluster share of the spread of u~) and lies in [0, mu];
// (iii) the ridge on Theta regularises the policy and picks the remaining
// gauge (the shape of u~ within the unit-RMS set). With r = 1 the model is
// homogeneous and the u-/clustering steps are skipped.
//
// Each outer iteration: (1) Theta-step: `theta_steps` gradient-ascent steps on
// V - ridge||Theta||^2 with Armijo backtracking (step remembered and grown);
// (2) u-step: `u_steps` Armijo gradient steps on V - (rho/2N)||U~ - Wa + Eta/rho||^2
// (gradient preconditioned by N since dV/du_i = O(1/N)); (3) (v,w)-step: K-means
// on Y = U~ + Eta/rho, v = cluster means, w_i = (2 mu v_k + rho y_i)/(2 mu + rho);
// (4) Eta += rho (U~ - Wa). Converged when |dF| <= tol max(1,|F|) for
// `conv_window` consecutive iterations and max_i ||u_i - w_i|| <= tol_primal.
// With Control::stochastic, steps (1)-(2) are Algorithm 1's minibatch steps
// instead (inner_stochastic.cpp and p4l_sgd.h), for max_iter iterations. The driver:
// detail::AdmmDriver (admm.h); the inner solvers: inner_solver.h.
// Settings of the stochastic path sgd_dual() (described below). For the
// settings p4l_sgd_control() (R/p4l.R) has, the values are its defaults, for
// C++ callers only, as for Control.
struct SgdControl {
  int iterations = 20000;   // sgd_dual(): steps
  int batch = 64;           // transitions per step
  int batch_initial = 16;   // (individual, initial state) pairs per step
  double step_theta = 0.5;  // preconditioned (Sigma^-1), dimensionless step sizes
  double step_f = 0.5;
  double decay_iters = 1000;  // step_k = step / sqrt(1 + k / decay_iters)
  bool extragradient = true;
  double average_from = 0.5;  // average the iterates k >= average_from * iterations
  double dual_ridge = 1e-6;   // ridge on Sigma, as in solve_dual()
  int trace_every = 1000;     // record the averaged iterate every so many steps (0: never)
  std::uint64_t seed = 1;
  // p4l_fit() with Control::stochastic only (Algorithm 1 for the whole fit):
  int inner = 200;            // steps (22)-(23) per outer iteration, warm started
  int metric_rows = 2000;     // transitions of the subsample that estimates Sigma and M
  int per_individual = 16;    // transitions per individual in the outer gradient (24)
  int per_initial = 16;       // initial states per individual in the outer gradient
  double step_policy = 0.05;  // normalised outer steps (RMS change per coordinate)
  double step_latent = 0.02;
  double decay_outer = 25;  // outer step_k = step / sqrt(1 + k / decay_outer)
};

// The values below are p4l_control()'s defaults (R/p4l.R), for C++ callers
// only: the R bindings set every field from the R settings, which are the
// package's only defaults (src/settings.h reads them strictly).
struct Control {
  int max_iter = 500;
  double tol = 1e-4;
  int conv_window = 3;
  double tol_primal = 1e-3;
  double rho = 20.0;
  double ridge = 1e-5;  // on Theta
  // Centre of the ridge: the penalty is ridge ||Theta - theta_center||^2
  // (empty: centre 0, the penalty ridge ||Theta||^2).
  Eigen::MatrixXd theta_center;
  double dual_ridge = 1e-6;  // relative ridge on M and Sigma (see top of file)
  double kappa = 0.0;        // regularisation of the inner problem (see DualSolution)
  int iterative_min = 400;   // q = m d r from which the inner systems are solved iteratively
  int kmeans_restarts = 10;
  int kmeans_max_iter = 100;
  std::uint64_t seed = 1;
  double init_scale =
      0.1;  // sd of the initial perturbation of the free u coordinates (before re-scaling)
  int theta_steps = 1;
  int lbfgs_memory = 10;  // L-BFGS pairs for the Theta-steps (0: gradient ascent)
  int u_steps = 1;
  double step_theta0 = 1.0;  // initial trial steps
  double step_u0 = 1.0;
  double armijo = 1e-4;    // sufficient-increase constant
  double backtrack = 0.5;  // step shrink factor
  double grow = 1.5;       // step growth after an accepted step
  int max_backtrack = 20;
  double max_step = 1e8;
  // Initial-state subsample: when the number of initial states n0 exceeds
  // max_initial (> 0), nu is a fixed subsample of max_initial rows of psi0
  // (without replacement, seeded by `seed`); 0 uses every row. The initial-state
  // term costs O(N n0) per evaluation, so this matters for N in the thousands.
  int max_initial = 1000;
  // true: each individual's value over its own visited states (P4LProblem)
  bool visited_initial = false;
  // Solver: false = closed-form inner problem with Armijo steps (default);
  // true = Algorithm 1's minibatch path (settings in `sgd`; see p4l_fit()).
  bool stochastic = false;
  SgdControl sgd;
  // Value table at the end of the fit (FitResult::values): the pessimistic and
  // point values of the fitted softmax policy and of its greedy limit, on the
  // fit's own data statistics.
  bool value_table = false;
};

struct Trace {
  std::vector<double> objective, V, point_value, lambda, penalty, primal_residual, step_theta,
      step_u;
};

struct FitResult {
  Eigen::MatrixXd Theta;      // (m-1) d x r
  Eigen::MatrixXd U;          // N x r (column 0 == 1)
  Eigen::MatrixXd centroids;  // K x r (column 0 == 1)
  Eigen::VectorXi cluster;    // N, 0-based
  Eigen::MatrixXd W;          // p x r worst-case Q weights theta*
  double objective = 0, V = 0, point_value = 0, lambda = 0, penalty = 0;
  bool converged = false;
  std::string status;  // "converged", "max.iter", "stalled" (line searches failed), "primal"
  int stalls_theta = 0, stalls_u = 0;  // line searches that failed with a real predicted gain
  double rcond = 0;                    // reciprocal condition estimate of the final inner system
  int iterations = 0;
  int evaluations = 0;     // dual evaluations, line-search trials included
  int factorisations = 0;  // factorisations of the regularised inner system
  int cg_iterations = 0;   // conjugate-gradient iterations on it (iterative path)
  double sgd_step_scale =
      0;  // stochastic path: largest step divisor 1 + G^2/batch (0: closed form)
  Trace trace;
  // Control::value_table: 2 x 2, rows pessimistic value V and point value,
  // columns the softmax policy (Theta) and its greedy limit (1e6 Theta); NaN
  // and values_error set when the evaluation failed.
  Eigen::MatrixXd values;
  std::string values_error;
};

// `init` (optional) supplies a starting Theta/U (U column 0 is reset to 1).
FitResult p4l_fit(const P4LData& data, int r, int K, double gamma, double alpha, double mu,
                  const Control& control, const Params* init = nullptr);

// ---------------------------------------------------------------------------
// Algorithm 1's minibatch stochastic path for the inner problem at fixed
// (Theta, U), for the same linear classes. With the multiplier folded into the
// test function, z = lambda beta, the inner problem is the saddle point of
//   L(theta, z) = c'theta + z'(b - M theta) - alpha ||z||_Sigma
// (min over theta, max over z), whose value is the closed form V of
// solve_dual() (no duality gap); lambda = ||z||_Sigma, beta = z / lambda.
// Each step samples `batch` transitions (uniformly over all n) and
// `batch_initial` (individual, initial state) pairs (for c), and takes
//   (22) f:  z     <- prox(z + step_f Sigma^-1 (b_hat - M_hat theta))  (ascent)
//   (23) Q:  theta <- theta - step_theta P (c_hat - M_hat' z)           (descent)
// simultaneously, where prox shrinks the Sigma-norm of z by step_f alpha (the
// exact proximal step of the norm term) and P = M^-1 Sigma M^-T. Sigma^-1 and
// P are fixed preconditioners (from the exact Sigma and M here; estimated on a
// subsample in p4l_fit()): in their coordinates the coupling is the identity,
// so the rate does not depend on the conditioning of the features. Both steps
// are divided by 1 + G^2 / batch, G the root-mean-square leverage of one
// transition in those coordinates (the noise scale), so the step sizes are
// dimensionless. A literal alternation "f to convergence, then Q to
// convergence" diverges (the Q-objective is linear in theta for fixed f), so
// the steps are taken together; with `extragradient` each step is a
// stochastic extragradient (mirror-prox) step, which converges for this
// convex-concave problem. (The separate multiplier update of the paper's
// (lambda, beta) form was unstable: lambda's growth rescales the coupling.)
// Steps decay as step / sqrt(1 + k / decay_iters); the returned iterates are
// Polyak averages over the last (1 - average_from) share of the iterations.
// Serial and seeded: deterministic, independent of the thread count.

struct SgdResult {
  Eigen::VectorXd theta;  // p r, averaged Q weights (compare DualSolution::theta)
  Eigen::VectorXd beta;   // p r, averaged f weights (compare DualSolution::beta)
  double lambda = 0;      // averaged multiplier (compare DualSolution::lambda)
  double V = 0;           // c'theta at the averaged theta, exact c: (1-gamma) E_nu Q(S0, pi)
  double constraint =
      0;  // ||b - M theta||_{Sigma^-1} at the averaged theta (<= alpha at the solution)
  int iterations = 0;
  std::vector<int> trace_iter;                // checkpoints
  std::vector<double> trace_V, trace_lambda;  // averaged iterate at each checkpoint
  std::vector<Eigen::VectorXd> trace_theta;
};
SgdResult sgd_dual(const P4LData& data, const Params& par, double gamma, double alpha,
                   const SgdControl& control = SgdControl());

// ---------------------------------------------------------------------------
// Per-group ridge regressions shrunk toward a common coefficient vector:
// for each group g = 0..G-1 with rows {t: group(t) = g},
//   B_g = (X_g' X_g + lambda I)^-1 (X_g' y_g + lambda pooled),
// and B_g = pooled for a group without rows. X is n x k; returns G x k.
// Groups are solved in parallel (runtime().parallel_for); each group's result
// depends on its own rows only, so the output is thread-count independent.
Eigen::MatrixXd group_ridge(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                            const Eigen::VectorXi& group, int G, const Eigen::VectorXd& pooled,
                            double lambda);

// ---------------------------------------------------------------------------
// Prediction helpers. psi: n x d features.
// Action probabilities (n x m) under Theta ((m-1) d x r) and latent u (r).
Eigen::MatrixXd policy_probs(const Eigen::MatrixXd& psi, const Eigen::MatrixXd& Theta,
                             const Eigen::VectorXd& u);
// Q-values (n x m) for Q weights W (m d x r) and latent u.
Eigen::MatrixXd q_values(const Eigen::MatrixXd& psi, const Eigen::MatrixXd& W,
                         const Eigen::VectorXd& u);

}  // namespace p4l
