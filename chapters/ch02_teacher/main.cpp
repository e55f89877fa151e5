// Chapter 2: training the teacher, measuring it, and caching it for the chapters that follow.
//
// 1. Data: Fashion-MNIST, minus a validation split that every chapter shares.
// 2. Teacher: a small CNN, trained with Adam, a cosine schedule and dropout.
// 3. Evaluation on the 10,000 test images: accuracy, errors, confusion matrix.
// 4. The cache: parameters and the logits of every training and test image, of the teacher and
//    of its snapshots after a few epochs (chapter 9's weaker teachers).
#include "chapters/common/book_data.h"
#include "chapters/common/options.h"
#include "chapters/common/plot.h"
#include "chapters/common/report.h"
#include "chapters/common/teacher.h"
#include "nn/metrics.h"

#include <fmt/core.h>

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace {

// Peak resident memory of this process so far, in MB.
double peak_memory_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Each count of a confusion matrix row as a fraction of the row's total (the true class's images).
std::vector<double> fractions_of(const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  std::vector<double> fractions;
  for (int64_t count : counts) {
    fractions.push_back(total ? static_cast<double>(count) / static_cast<double>(total) : 0.0);
  }
  return fractions;
}

// --- 1. data ---------------------------------------------------------------------------
// Fashion-MNIST and the book's split, with a line about each.
book::BookData load_data(const book::Options& options) {
  book::BookData data = book::load_book_data(options);
  fmt::print("{} training images ({} for training, {} held out for validation), {} test images, from {}\n",
             data.data.train.size(), data.split.train.size(), data.split.validation.size(), data.data.test.size(),
             options.data);
  fmt::print("pixel mean {:.4f}, std {:.4f} (training part, on the [0, 1] scale)\n", data.norm.mean, data.norm.std);
  return data;
}

// --- 2. teacher ------------------------------------------------------------------------
// The teacher's architecture and recipe, then the teacher trained by them.
book::TrainedTeacher train(const book::TeacherConfig& config, const book::BookData& data) {
  {
    tensor::Generator preview(config.seed);
    const auto architecture = book::make_teacher(config, preview);
    fmt::print("{}{} parameters; Adam, peak learning rate {}, cosine schedule, {} epochs of batches of {}, {}\n",
               architecture->summary(), architecture->parameter_count(), config.lr, config.epochs, config.batch,
               nn::Augmentation(book::teacher_augmentation(config, data.norm), 0).describe());
  }
  return book::train_teacher(config, data);
}

// --- 3. evaluation ---------------------------------------------------------------------
// The teacher's logits (the cache) and what they score on the test set.
struct Evaluation {
  book::TeacherCache cache;
  double test_accuracy = 0;
  int64_t test_errors = 0;
  double test_nll = 0;                          // nats
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class], test images
};

// The teacher on the test set: accuracy, errors, NLL and the confusion matrix (printed, and as a CSV).
Evaluation evaluate(const book::Options& options, const book::TrainedTeacher& teacher,
                    const book::TeacherConfig& config, const book::BookData& data) {
  Evaluation out{book::compute_teacher_cache(*teacher.model, config, data), 0, 0, 0, {}};
  const nn::Labels& test_labels = data.data.test.labels;
  out.test_accuracy = nn::accuracy(out.cache.test_logits, test_labels);
  out.test_errors = nn::error_count(out.cache.test_logits, test_labels);
  out.test_nll = nn::mean_nll(out.cache.test_logits, test_labels);
  out.confusion = nn::confusion_matrix(out.cache.test_logits, test_labels);
  std::vector<std::string> headers = {"true \\ predicted"};
  for (auto name : nn::kFashionMnistClasses) headers.emplace_back(name);
  headers.emplace_back("accuracy");
  book::Table table(headers);
  for (size_t i = 0; i < out.confusion.size(); ++i) {
    std::vector<std::string> row = {std::string(nn::kFashionMnistClasses[i])};
    for (int64_t count : out.confusion[i]) row.push_back(std::to_string(count));
    row.push_back(fmt::format("{:.3f}", fractions_of(out.confusion[i])[i]));
    table.add_row(row);
  }
  fmt::print("{}", table.to_text());
  book::write_file(options.file("confusion_matrix.csv"), table.to_csv());
  fmt::print("test accuracy {:.4f} ({} errors of {}), test NLL {:.4f} nats\n", out.test_accuracy, out.test_errors,
             test_labels.size(), out.test_nll);
  return out;
}

// --- 4. the cache and the report --------------------------------------------------------
// The confusion matrix as a heatmap, each row as fractions of its true class.
book::Heatmap confusion_heatmap(const std::vector<std::vector<int64_t>>& confusion) {
  book::Heatmap heatmap{"Teacher confusion matrix on the test set (fraction of each true class)", "predicted class",
                        "true class", {}, {}, {}, "fraction of the true class"};
  for (size_t i = 0; i < confusion.size(); ++i) {
    heatmap.rows.emplace_back(nn::kFashionMnistClasses[i]);
    heatmap.columns.emplace_back(nn::kFashionMnistClasses[i]);
    heatmap.values.push_back(fractions_of(confusion[i]));
  }
  return heatmap;
}

// The learning curve: a table (printed, and as a CSV) and a plot. Returns it for results.json.
nlohmann::json learning_curve(const book::Options& options, const book::TrainedTeacher& teacher) {
  book::Table curve({"epoch", "train loss", "val accuracy", "seconds"});
  book::Series loss{"training loss (nats)", {}, {}}, val{"validation accuracy", {}, {}};
  nlohmann::json curve_json = nlohmann::json::array();
  for (const book::EpochRecord& r : teacher.curve) {
    curve.add_row({std::to_string(r.epoch), fmt::format("{:.4f}", r.train_loss),
                   fmt::format("{:.4f}", r.validation_accuracy), fmt::format("{:.1f}", r.seconds)});
    loss.x.push_back(static_cast<double>(r.epoch));
    loss.y.push_back(r.train_loss);
    val.x.push_back(static_cast<double>(r.epoch));
    val.y.push_back(r.validation_accuracy);
    curve_json.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"validation_accuracy", r.validation_accuracy},
                          {"seconds", r.seconds}});
  }
  fmt::print("{}", curve.to_text());
  book::write_file(options.file("learning_curve.csv"), curve.to_csv());
  fmt::print("{}\n", book::save_plot(options.out, "learning_curve",
                                     book::LinePlot{"Teacher learning curve", "epoch", "loss (nats) / accuracy",
                                                    {loss, val}, false}));
  return curve_json;
}

// Saves the teacher, its snapshots and their logits for the chapters that follow, then the
// learning curve, the confusion matrix, the time and memory, and results.json.
void cache_and_report(const book::Options& options, const book::TeacherConfig& config,
                      const book::TrainedTeacher& teacher, const Evaluation& evaluation,
                      const nn::Labels& test_labels, std::chrono::steady_clock::time_point start) {
  book::save_teacher(options.out, teacher, evaluation.cache);
  fmt::print("saved {} and {} (configuration stored with them)\n", options.file("teacher.ckpt"),
             options.file("teacher_logits.ckpt"));
  nlohmann::json snapshots = nlohmann::json::array();
  for (const book::TeacherSnapshot& s : teacher.snapshots) {
    const double accuracy = nn::accuracy(s.cache.test_logits, test_labels);
    fmt::print("  and the teacher after epoch {}: teacher_epoch_{}.ckpt (test accuracy {:.4f}), for chapter 9\n", s.epoch,
               s.epoch, accuracy);
    snapshots.push_back({{"epoch", s.epoch}, {"test_accuracy", accuracy}});
  }
  const nlohmann::json curve_json = learning_curve(options, teacher);
  fmt::print("{}\n", book::save_plot(options.out, "confusion_matrix", confusion_heatmap(evaluation.confusion)));
  double train_seconds = 0.0;
  for (const book::EpochRecord& r : teacher.curve) train_seconds += r.seconds;
  const double seconds_per_epoch = train_seconds / static_cast<double>(teacher.curve.size());
  const double peak_mb = peak_memory_mb();
  const double total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{:.1f} s per epoch, {:.0f} s of training, {:.0f} s in all; peak memory {:.0f} MB\n", seconds_per_epoch,
             train_seconds, total_seconds, peak_mb);
  nlohmann::json results = {{"teacher",
                             {{"test_accuracy", evaluation.test_accuracy},
                              {"test_errors", evaluation.test_errors},
                              {"test_nll", evaluation.test_nll},
                              {"parameters", teacher.model->parameter_count()},
                              {"epochs", config.epochs},
                              {"seconds_per_epoch", seconds_per_epoch},
                              {"total_seconds", total_seconds},
                              {"peak_memory_mb", peak_mb}}},
                            {"snapshots", snapshots},
                            {"config", config.to_json()},
                            {"learning_curve", curve_json},
                            {"confusion_matrix", evaluation.confusion},
                            {"classes", std::vector<std::string>(nn::kFashionMnistClasses.begin(),
                                                                 nn::kFashionMnistClasses.end())}};
  book::write_results(options, results);
  fmt::print("results: {}\n", options.file("results.json"));
}

}  // namespace

int chapter(const book::Options& options) {
  const auto start = std::chrono::steady_clock::now();
  const book::TeacherConfig config = book::teacher_config(options);
  fmt::print("Chapter 2: the teacher (seed {}{})\n", options.seed, options.quick ? ", --quick" : "");

  book::banner(1, "Data");
  const book::BookData data = load_data(options);

  book::banner(2, "Teacher");
  const book::TrainedTeacher teacher = train(config, data);

  book::banner(3, "Evaluation on the test set");
  const Evaluation evaluation = evaluate(options, teacher, config, data);

  book::banner(4, "Cache and report");
  cache_and_report(options, config, teacher, evaluation, data.data.test.labels, start);
  return 0;
}

int main(int argc, char** argv) {
  return book::run_chapter(argc, argv, "ch02_teacher", "Chapter 2: train the teacher and cache its logits", chapter);
}
