// A small episodic ICU course with an exact tabular optimum (R/sim_icu.R).
//
// State (6 numbers): three SOFA-like organ scores, 0 (normal) to 4 (organ
// failure), for the circulation, the lungs and the kidneys, then three 0/1
// flags for the treatments given at the previous decision (fluids,
// vasopressor, ventilation). Action a in 0..7 = fluids + 2 vasopressor + 4
// ventilation. Each step the patient dies (reward -1, absorbing), is
// discharged (reward +1, absorbing; only from all-normal scores with every
// treatment stopped) or continues (reward 0) with each score moving down, up
// or not at all, independently. One hidden subgroup ("atypical",
// fluid-intolerant) does not respond to fluids and gets pulmonary oedema from
// them. The probabilities are written once, in IcuEnv::probs(); step()
// samples the events one after the other and transitions() enumerates them.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "env.h"
namespace p4l {

class IcuEnv : public Env {
 public:
  static constexpr int kLevels = 5;        // scores 0..4
  static constexpr int kNumStates = 1000;  // 5^3 scores x 2^3 flags
  static constexpr int kNumActions = 8;

  // Parameters of the dynamics (documented in R/sim_icu.R, ?env_icu).
  static constexpr double kDeathBase = 0.001;
  static constexpr double kDeathLevel[kLevels] = {0.0, 0.002, 0.008, 0.02, 0.05};
  static constexpr double kDeathVaso = 0.003, kDeathVent = 0.005;
  static constexpr double kDischarge = 0.8;
  static constexpr double kImpBase[3] = {0.05, 0.05, 0.15};
  static constexpr double kWorBase[3] = {0.20, 0.15, 0.05};
  static constexpr double kFluidsCardio[2] = {0.35, 0.0};  // typical, atypical
  static constexpr double kVasoCardio = 0.30;
  static constexpr double kVentResp = 0.45;
  static constexpr double kFluidsRenal[2] = {0.25, 0.0};
  static constexpr double kFluidsResp[2] = {0.10, 0.30};  // typical: only when cardio = 0
  static constexpr double kVasoRenal = 0.05;
  static constexpr double kHypoperfusionRenal = 0.15;  // cardio >= 3
  static constexpr double kRebound = 0.25;             // treatment stopped too early
  static constexpr double kInitial[kLevels] = {0.20, 0.30, 0.25, 0.15, 0.10};

  explicit IcuEnv(bool atypical) : atypical_(atypical) {}
  int state_dim() const override { return 6; }
  int num_actions() const override { return kNumActions; }
  void reset(std::mt19937_64& g, Eigen::VectorXd& s) const override;
  double step(const Eigen::VectorXd& s, int a, std::mt19937_64& g, Eigen::VectorXd& next,
              bool& done) const override;
  bool atypical() const { return atypical_; }

  // Probabilities at scores x, flags f, action a: death; discharge given
  // survival; and for each score, improve (-1) and worsen (+1) given that the
  // patient stays.
  struct Probs {
    double death, discharge;
    double imp[3], wor[3];
  };
  Probs probs(const int x[3], const int f[3], int a) const;

  // State index: x0 + 5 x1 + 25 x2 + 125 (f0 + 2 f1 + 4 f2); -1 when s is not
  // a state of the grid.
  static int index(const Eigen::VectorXd& s);
  static void decode(int idx, int x[3], int f[3]);
  static Eigen::MatrixXd grid();                  // kNumStates x 6, row = index
  static Eigen::VectorXd initial_distribution();  // over the grid

  // Exact one-step model: continuing next states with their probabilities,
  // and the probabilities of death and discharge (the three sum to 1).
  struct Next {
    int state;
    double prob;
  };
  void transitions(int s, int a, std::vector<Next>& out, double& p_death,
                   double& p_discharge) const;

 private:
  bool atypical_;
};

// The whole MDP of one subgroup in sparse form: row s * 8 + a holds the
// continuing transitions next[start[row] .. start[row + 1]), and reward(s, a)
// the expected immediate reward (P(discharge) - P(death)).
struct TabularModel {
  int num_states = 0, num_actions = 0;
  std::vector<int> start, next;
  std::vector<double> prob;
  Eigen::MatrixXd reward, death, discharge;
};
TabularModel icu_model(bool atypical);

struct TabularSolution {
  Eigen::VectorXd V;        // optimal value (exact evaluation of `action`)
  Eigen::MatrixXd Q;        // r + gamma P V
  std::vector<int> action;  // greedy action (smallest index within 1e-10 of the best)
  int iterations = 0;       // value-iteration sweeps
  int improvements = 0;     // policy-improvement rounds after value iteration
  double residual = 0.0;    // max |max_a Q - V| at the end
};
// Value iteration to sup-norm change `tol` (at most max_iter sweeps), then
// policy iteration from its greedy policy with exact evaluations until the
// greedy policy is stable.
TabularSolution solve_tabular(const TabularModel& m, double gamma, double tol, int max_iter);

// Exact value of the stationary policy prob (num_states x num_actions, rows
// sum to 1): solves (I - gamma P_pi) V = r_pi by sparse LU.
Eigen::VectorXd evaluate_tabular(const TabularModel& m, const Eigen::MatrixXd& prob, double gamma);

// Hidden subgroups: patient i is atypical (1) with probability share, drawn
// from the stream (seed, i, 1), apart from the trajectory's stream.
std::vector<int> draw_icu_subgroups(std::size_t n, double share, std::uint64_t seed);

// Long-format simulation: patient i is atypical when atypical[i] != 0; the
// clinicians take behaviour[state index] with probability 1 - noise and a
// uniformly random action otherwise, until death, discharge or max_decisions
// decisions. One block of L_i + 1 rows per patient (the last holds the final
// state with action and reward NaN). Columns: id (1-based), time, action,
// reward, the 6 state numbers, terminal (1 on the row whose transition ends in
// death or discharge). Patient i uses the stream (seed, i).
Eigen::MatrixXd simulate_icu(const std::vector<int>& atypical, const std::vector<int>& behaviour,
                             double noise, int max_decisions, std::uint64_t seed);

}  // namespace p4l
