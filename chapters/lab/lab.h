/// \file
/// \brief The lab: every student experiment of chapters 5-10 through one engine. A chapter
/// declares the students it needs by what they are (`StudentKey`); the lab trains those it has
/// not trained yet side by side on every core, and hands back one `StudentResult` per student.
#pragma once

#include "chapters/common/experiment.h"
#include "chapters/common/fit.h"
#include "chapters/common/report.h"
#include "chapters/common/student.h"

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace book {

/// \ingroup chapters
/// \brief Everything that decides a student's bits, and nothing else: two students with equal
/// keys are the same student, trained once. Keys compare member by member, exactly (floats as
/// floats, never as printed text).
struct StudentKey {
  StudentConfig config;           ///< architecture (widths), epochs, batch, learning rate, seed, views
  Targets targets;                ///< hard labels, or a soft term with its T and alpha
  std::string transfer = "split"; ///< the images it learns from: a transfer set of the lab, by name
  /// \brief Whose logits the soft term reads: a teacher of the lab, by name. The lab clears it
  /// for hard targets, which read no teacher.
  std::string teacher = "teacher";
  std::string probe = "";         ///< a probe of the lab read after each validated epoch, or "" for none
  /// \brief Keys compare member by member, exactly.
  auto operator<=>(const StudentKey&) const = default;
  /// \brief "784-100-10 seed 3 soft T=2 alpha=0.5 on split", for errors and logs.
  std::string describe() const;
};

/// \ingroup chapters
/// \brief What the lab measured of one student.
///
/// A student whose loss stopped being finite is a result too: `diverged` is set, the epoch
/// recorded, every score and logit is NaN (the logits keep their shapes), the curve and the probe
/// are empty and there is no network, so that no statistic over a group of students can leave it
/// out without saying so (see `diverged_count`). A chapter that computes more from the logits
/// checks `diverged` first.
struct StudentResult {
  StudentScores scores;           ///< after the last epoch: the equal-budget comparison (NaN when diverged)
  double best_test_accuracy = 0;  ///< of the weights of the best validation epoch (early stopping on validation)
  int64_t best_epoch = 0;         ///< that epoch, 1-based
  std::vector<EpochRecord> curve; ///< one record per validated epoch
  std::vector<double> probe;      ///< the key's probe after each validated epoch (empty without one)
  tensor::Tensor test_logits;       ///< [N_test, 10] after the last epoch (NaN when diverged)
  tensor::Tensor validation_logits; ///< [N_validation, 10] after the last epoch (NaN when diverged)
  std::shared_ptr<nn::Sequential> model;  ///< the trained network, kept only when `Lab::run` was asked to (never when diverged)
  bool diverged = false;          ///< the loss stopped being finite
  int64_t diverged_epoch = 0;     ///< the epoch it did (1-based; 0 when it did not)
  std::string divergence;         ///< the training loop's one-line message (empty when it did not)
  double seconds = 0;             ///< training and scoring, on one core
};

/// \ingroup chapters
/// \brief Reads a number of a probe: called after each validated epoch with the student's key,
/// the epoch's record and the model as that epoch left it (evaluation mode). Called from the
/// lab's worker threads: it may only read what it shares with other students.
using EpochProbe = std::function<double(const StudentKey& key, const EpochRecord& record, nn::Module& model)>;

class Lab;

/// \ingroup chapters
/// \brief Trains one student of a key and measures it: what the lab runs on each core.
/// `Lab::train_and_score` is the real one; a test may give the lab another.
using StudentTrainer = std::function<StudentResult(const Lab& lab, const StudentKey& key, bool keep_model)>;

/// \ingroup chapters
/// \brief The engine of every student experiment: transfer sets, teachers and probes by name,
/// students by key, each trained once, side by side.
///
/// **Side by side, same bytes.** Each student runs whole on one core, its products on
/// single-threaded OpenBLAS (`tensor::run_side_by_side`): a 784-100-10 student's products are
/// too small to split over cores (the threads spend about a third of the step waiting on each
/// other), while independent students keep every core busy. A student's bits therefore depend
/// on its key alone, never on the number of workers nor on which other students ran beside it.
/// \see \ref ch05_student and the chapters after it, which run all their students here.
class Lab {
 public:
  /// \param classroom the data and the book's teacher (its training logits are the teacher
  /// "teacher"; the training split is the transfer set "split"); must outlive the lab
  /// \param workers students trained at once (at least 1; `workers_for` reads --threads)
  /// \param show_progress print one progress line per `run` \param trainer how a student is
  /// trained (default: `train_and_score`)
  /// \throws tensor::ValueError when workers < 1.
  Lab(const Classroom& classroom, int workers, bool show_progress = true, StudentTrainer trainer = {});

  /// \brief The workers a run's options ask for: --threads, or every core.
  static int workers_for(const Options& options);

  /// \brief Makes `images` (indices into the training set) the transfer set `name`.
  /// \throws std::invalid_argument when the name is taken by other images, or the set is empty.
  void add_transfer_set(const std::string& name, std::vector<int64_t> images);
  /// \brief `fraction` of each class of the training split, drawn by `seed` (`book::transfer_set`),
  /// as a transfer set named for both ("10% seed 3"; the whole split for 1): the transfer sets of
  /// chapters 6, 8, 9 and 10, where every seed draws its own.
  /// \returns its name \throws tensor::ValueError when fraction is outside (0, 1].
  std::string add_stratified(double fraction, uint64_t seed);
  /// \brief Makes `train_logits` the teacher `name`: [training set size, 10], or with K views
  /// [K, training set size, 10] (see `train_student`).
  /// \throws std::invalid_argument when the name is taken by other logits (equal ones are welcome:
  /// chapter 9's finished teacher is the book's "teacher").
  void add_teacher(const std::string& name, tensor::Tensor train_logits);
  /// \brief Makes `probe` the probe `name`. \throws std::invalid_argument when the name is taken.
  void add_probe(const std::string& name, EpochProbe probe);

  /// \brief Trains every student of `keys` not trained yet (side by side, the longest first),
  /// then returns the results of all of `keys`, in their order.
  /// \param keys the students \param label names the plan on its progress line
  /// \param keep_models keep each student's network in its result (a student trained before
  /// without it is trained again, to the same bits)
  /// \throws std::invalid_argument naming the key when it names an unknown transfer set,
  /// teacher or probe; any other error of a student's training, once every student has ended
  /// (the students that finished are kept).
  std::vector<const StudentResult*> run(const std::vector<StudentKey>& keys, const std::string& label,
                                        bool keep_models = false);
  /// \brief A trained student's result. \throws std::out_of_range naming the key when it was not trained.
  const StudentResult& result(const StudentKey& key) const;

  /// \brief The real trainer: `train_student` on the key's transfer set and teacher, then
  /// `score_student`; a `Diverged` training becomes a diverged result.
  static StudentResult train_and_score(const Lab& lab, const StudentKey& key, bool keep_model);

  const Classroom& classroom() const { return classroom_; }  ///< the data and the book's teacher
  const std::vector<int64_t>& transfer_set(const std::string& name) const;  ///< \throws std::invalid_argument
  const tensor::Tensor& teacher(const std::string& name) const;             ///< \throws std::invalid_argument
  const EpochProbe& probe(const std::string& name) const;                   ///< \throws std::invalid_argument
  int workers() const { return workers_; }                    ///< students trained at once
  size_t trained() const { return results_.size(); }          ///< students trained so far
  double student_seconds() const;                             ///< their training time, summed over cores

 private:
  StudentKey normalised(StudentKey key) const;
  const Classroom& classroom_;
  int workers_;
  bool show_progress_;
  StudentTrainer trainer_;
  std::map<std::string, std::vector<int64_t>> transfer_sets_;
  std::map<std::string, tensor::Tensor> teachers_;
  std::map<std::string, EpochProbe> probes_;
  std::map<StudentKey, StudentResult> results_;
};

/// \ingroup chapters
/// \brief How many of `results` diverged.
int64_t diverged_count(const std::vector<const StudentResult*>& results);

/// \ingroup chapters
/// \brief One number of each result, in order (NaN for a diverged student's scores).
std::vector<double> column(const std::vector<const StudentResult*>& results,
                           const std::function<double(const StudentResult&)>& get);

/// \ingroup chapters
/// \brief One number measured of every student, declared once: its name in tables, its key in
/// results.json, its digits, how to read it. A table, results.json and a plot series of it all
/// come from this declaration (`compare_on`).
struct Metric {
  std::string name;  ///< as a table row says it, e.g. "test NLL (nats)"
  std::string key;   ///< in results.json, e.g. "test_nll"
  int digits = 4;    ///< decimals in tables
  std::function<double(const StudentResult&)> get;  ///< the number, of one student
};

/// \ingroup chapters
/// \brief What the book measures of every student (`StudentScores`, and the test accuracy of the
/// best validation epoch), in the order tables show it.
const std::vector<Metric>& student_metrics();

/// \ingroup chapters
/// \brief The metric of `key`. \throws std::invalid_argument naming the key when there is none.
const Metric& student_metric(const std::string& key);

/// \ingroup chapters
/// \brief Two groups of students compared seed by seed on every metric: a row per metric (mean +-
/// std of each, the paired difference b - a, its 95% CI, whether beyond 2 std), and the same as
/// JSON: `a` and `b` (per-seed values by key), their means (`{"mean", "std"}` by key) and
/// `difference` (`PairedDifference::to_json` by key).
struct MetricComparison {
  Table table;                 ///< metric, a, b, b - a (paired), 95% CI, beyond 2 std
  nlohmann::json a;            ///< the first group's per-seed values, by metric key
  nlohmann::json b;            ///< the second group's, by metric key
  nlohmann::json difference;   ///< b - a (`PairedDifference::to_json`), by metric key
  nlohmann::json a_mean;       ///< the first group's mean and std over the seeds, by metric key
  nlohmann::json b_mean;       ///< the second group's, by metric key
};

/// \ingroup chapters
/// \brief Compares `b` with `a` (one student per seed each, in the same seed order) on `metrics`.
/// \param metrics what to compare \param a the first group \param b the second, paired by seed
/// \param a_name column title of the first, e.g. "hard" \param b_name of the second, e.g. "soft"
/// \throws std::invalid_argument when a and b differ in length or are empty.
MetricComparison compare_on(const std::vector<Metric>& metrics, const std::vector<const StudentResult*>& a,
                            const std::vector<const StudentResult*>& b, const std::string& a_name,
                            const std::string& b_name);

/// \ingroup chapters
/// \brief What `compare_hard_soft` measured: the tuning students, the choice, and the paired ones.
struct HardSoftComparison {
  std::vector<uint64_t> tuning_seeds;                       ///< the seeds T and alpha were chosen on
  std::vector<const StudentResult*> tuning_hard;            ///< a hard student per tuning seed: the baseline of the choice
  std::vector<Candidate> candidates;                        ///< every soft setting tried, with its mean validation accuracy
  std::vector<std::vector<const StudentResult*>> tuning_soft;  ///< their students: [candidate][tuning seed]
  Targets chosen;                                           ///< the best candidate's T and alpha
  std::vector<uint64_t> seeds;                              ///< the comparison seeds (no tuning seed among them)
  std::vector<const StudentResult*> hard;                   ///< one hard student per comparison seed
  std::vector<const StudentResult*> soft;                   ///< one soft student (the chosen T and alpha) per comparison seed
};

/// \ingroup chapters
/// \brief The experiment of chapters 5-7: on each tuning seed, a hard student and a soft one for
/// every setting of `grid`; the setting whose validation accuracy, averaged over the tuning
/// seeds, is best is chosen; then, on each comparison seed, a hard and a soft student with it.
///
/// One seed's validation accuracy on 5,000 images moves by about 0.4 points from seed to seed,
/// as much as the settings differ, so a choice from one seed is partly luck; averaging over
/// seeds shrinks that. The tuning students are kept apart from the comparison: a student picked
/// as the best of a grid on validation is luckier than its hard partner. Two plans go to the lab:
/// the tuning students with the comparison's hard ones, then the chosen soft ones.
/// \param lab trains the students \param student the key of a student with these targets and seed
/// \param grid the soft settings to try \param tuning_seeds the seeds they are tried on
/// \param seeds the comparison seeds \param label names the plans on the progress line
/// \param validation what a setting is chosen on, of each tuning student (default: its
/// validation accuracy)
/// \throws std::invalid_argument when the grid or the tuning seeds are empty, or a tuning seed
/// is also a comparison seed.
/// \see \ref ch05_student, \ref ch06_low_data, \ref ch07_unseen_class
HardSoftComparison compare_hard_soft(Lab& lab, const std::function<StudentKey(const Targets&, uint64_t)>& student,
                                     const std::vector<Targets>& grid, const std::vector<uint64_t>& tuning_seeds,
                                     const std::vector<uint64_t>& seeds, const std::string& label,
                                     const std::function<double(const StudentResult&)>& validation = {});

}  // namespace book
