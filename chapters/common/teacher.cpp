#include "chapters/common/teacher.h"

#include "autograd/variable.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/optim.h"

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace book {

namespace {

// "conv3x3-batchnorm-pool2-relu-...": the layers make_teacher builds for this configuration.
std::string architecture(const TeacherConfig& c) {
  const std::string conv = c.batch_norm ? "conv3x3-batchnorm-pool2-relu" : "conv3x3-pool2-relu";
  return conv + "-" + conv + (c.dropout_conv > 0 ? "-dropout" : "") + "-linear-relu-dropout-linear";
}

}  // namespace

nlohmann::json TeacherConfig::to_json() const {
  return {{"architecture", architecture(*this)},
          {"conv1", conv1},
          {"conv2", conv2},
          {"hidden", hidden},
          {"dropout_conv", dropout_conv},
          {"dropout_hidden", dropout_hidden},
          {"epochs", epochs},
          {"batch", batch},
          {"lr", lr},
          {"batch_norm", batch_norm},
          {"horizontal_flip", horizontal_flip},
          {"max_shift", max_shift},
          {"seed", seed},
          {"quick", quick},
          {"label_smoothing", label_smoothing},
          {"split_seed", kSplitSeed},
          {"validation_fraction", kValidationFraction}};
}

TeacherConfig teacher_config(const Options& options) {
  TeacherConfig c;
  c.seed = options.seed;
  c.quick = options.quick;
  if (options.quick) {
    c.conv1 = 8;
    c.conv2 = 16;
    c.hidden = 64;
    c.epochs = 2;
  }
  c.snapshot_epochs = options.quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2, 4, 8, 16};
  return c;
}

std::shared_ptr<nn::Sequential> make_teacher(const TeacherConfig& c, tensor::Generator& gen) {
  auto m = std::make_shared<nn::Sequential>();
  m->emplace<nn::Conv2d>(1, c.conv1, 3, 1, 1, gen);
  if (c.batch_norm) m->emplace<nn::BatchNorm2d>(c.conv1);
  m->emplace<nn::MaxPool2d>(2);
  m->emplace<nn::ReLU>();
  m->emplace<nn::Conv2d>(c.conv1, c.conv2, 3, 1, 1, gen);
  if (c.batch_norm) m->emplace<nn::BatchNorm2d>(c.conv2);
  m->emplace<nn::MaxPool2d>(2);
  m->emplace<nn::ReLU>();
  m->emplace<nn::Flatten>();
  if (c.dropout_conv > 0.0f) m->emplace<nn::Dropout>(c.dropout_conv, gen);
  m->emplace<nn::Linear>(c.conv2 * 7 * 7, c.hidden, gen);
  m->emplace<nn::ReLU>();
  m->emplace<nn::Dropout>(c.dropout_hidden, gen);
  m->emplace<nn::Linear>(c.hidden, kClasses, gen);
  return m;
}

nn::Augmentation::Config teacher_augmentation(const TeacherConfig& c, const nn::Normalization& norm) {
  return {.horizontal_flip = c.horizontal_flip, .max_shift = c.max_shift, .fill = -norm.mean / norm.std};
}

TrainedTeacher train_teacher(const TeacherConfig& c, const BookData& d) {
  tensor::Generator gen(c.seed);
  TrainedTeacher t{make_teacher(c, gen), {}, {}};
  nn::Augmentation augment(teacher_augmentation(c, d.norm), gen.next_u64());
  nn::DataLoader loader(d.data.train, d.split.train, c.batch, true, gen.next_u64(), d.norm);
  nn::Adam opt(t.model->parameters(), c.lr);
  BatchTransform transform;
  if (augment.enabled()) transform = [&](nn::Batch& b, int64_t) { augment(b.images); };
  FitConfig fit_config{.label = "teacher", .epochs = c.epochs, .lr = c.lr};
  fit_config.after_validation = [&](const EpochRecord& r) {
    if (std::find(c.snapshot_epochs.begin(), c.snapshot_epochs.end(), r.epoch) == c.snapshot_epochs.end()) return;
    TeacherCache cache = compute_teacher_cache(*t.model, c, d);
    cache.config["after_epoch"] = r.epoch;
    t.snapshots.push_back({r.epoch, nn::module_tensors(*t.model), std::move(cache)});
  };
  const float smoothing = c.label_smoothing;
  t.curve = fit(*t.model, opt, loader, d, fit_config,
                [smoothing](const autograd::Var& logits, const nn::Batch& b, int64_t) {
                  return nn::cross_entropy(logits, b.labels, smoothing);
                },
                transform);
  return t;
}

namespace {

// What identifies the data a teacher saw: sizes and a CRC-32 of every label, so a cache
// made from another data set (or another --quick subset) is not taken for this one.
nlohmann::json data_fingerprint(const BookData& d) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (const nn::Dataset* set : {&d.data.train, &d.data.test}) {
    for (int64_t label : set->labels) {
      const auto byte = static_cast<Bytef>(label);
      crc = crc32(crc, &byte, 1);
    }
  }
  return {{"train", d.data.train.size()}, {"test", d.data.test.size()}, {"labels_crc32", static_cast<uint32_t>(crc)}};
}

// The key a cache must match: the configuration and the data, whatever the seed.
nlohmann::json cache_key(nlohmann::json config) {
  if (config.is_object()) config.erase("seed");
  return config;
}

}  // namespace

TeacherCache compute_teacher_cache(nn::Module& teacher, const TeacherConfig& config, const BookData& d) {
  std::vector<int64_t> train(static_cast<size_t>(d.data.train.size()));
  for (size_t i = 0; i < train.size(); ++i) train[i] = static_cast<int64_t>(i);
  nlohmann::json described = config.to_json();
  described["data"] = data_fingerprint(d);
  return {predict_logits(teacher, d.data.train, train, d.norm),
          predict_logits(teacher, d.data.test, d.test_indices, d.norm), described};
}

std::string teacher_dir(const Options& options) {
  return (std::filesystem::path(options.book_dir()) / "ch02_teacher").string();
}

void save_teacher(const std::string& dir, const std::string& name, const nn::NamedTensors& weights,
                  const TeacherCache& cache) {
  std::filesystem::create_directories(dir);
  const std::string metadata = cache.config.dump();
  nn::save_tensors((std::filesystem::path(dir) / (name + ".ckpt")).string(), weights, metadata);
  nn::save_tensors((std::filesystem::path(dir) / (name + "_logits.ckpt")).string(),
                   {{"train_logits", cache.train_logits}, {"test_logits", cache.test_logits}}, metadata);
}

namespace {

std::string snapshot_name(int64_t epoch) { return "teacher_epoch_" + std::to_string(epoch); }

}  // namespace

void save_teacher(const std::string& dir, const TrainedTeacher& teacher, const TeacherCache& cache) {
  // The snapshots first: a run stopped in between leaves a final teacher only with its snapshots.
  for (const TeacherSnapshot& s : teacher.snapshots) save_teacher(dir, snapshot_name(s.epoch), s.weights, s.cache);
  save_teacher(dir, "teacher", nn::module_tensors(*teacher.model), cache);
}

namespace {

// The logits of teacher NAME in DIR when both its files are there and intact, come from one
// training (an interrupted save could pair new parameters with old logits), and were made with
// `key` (compared without the seed when `any_seed`); otherwise nothing, and `why` says why not.
std::optional<TeacherCache> read_teacher(const std::string& dir, const std::string& name, const nlohmann::json& key,
                                         bool any_seed, const BookData& d, std::string& why) {
  const std::string path = (std::filesystem::path(dir) / (name + "_logits.ckpt")).string();
  const std::string parameters = (std::filesystem::path(dir) / (name + ".ckpt")).string();
  const std::string cache = name == "teacher" ? "the teacher cache" : "the cache of " + name;
  if (!std::filesystem::exists(path)) {
    why = cache + " is missing (no " + path + ")";
    return std::nullopt;
  }
  try {
    nn::Checkpoint ck = nn::load_tensors(path);
    nlohmann::json found = nlohmann::json::parse(ck.metadata, nullptr, false);
    const auto compared = [any_seed](nlohmann::json config) { return any_seed ? cache_key(std::move(config)) : config; };
    if (!std::filesystem::exists(parameters) || nn::load_tensors(parameters).metadata != ck.metadata) {
      why = cache + " in " + dir + " holds parameters and logits of different runs";
    } else if (compared(found) != compared(key) || ck.tensors.size() != 2 ||
               ck.tensors[0].second.shape() != tensor::Shape{d.data.train.size(), kClasses} ||
               ck.tensors[1].second.shape() != tensor::Shape{d.data.test.size(), kClasses}) {
      why = cache + " at " + path + " is from another configuration";
    } else {
      return TeacherCache{ck.tensors[0].second, ck.tensors[1].second, found};
    }
  } catch (const nn::CheckpointError& e) {
    why = cache + " is unreadable: " + e.what();
  }
  return std::nullopt;
}

// ch02's configuration (seed 1: any cached seed will do) and the key its cache must match.
std::pair<TeacherConfig, nlohmann::json> wanted_teacher(const Options& options, const BookData& d) {
  const TeacherConfig wanted = teacher_config(
      Options{.chapter = options.chapter, .seed = 1, .out = options.out, .data = options.data, .quick = options.quick});
  nlohmann::json key = wanted.to_json();
  key["data"] = data_fingerprint(d);
  return {wanted, key};
}

// Trains ch02's teacher with its snapshots, saves them all to `dir` and returns the final logits.
TeacherCache train_and_save(const TeacherConfig& config, const std::string& dir, const BookData& d,
                            std::vector<TeacherSnapshot>* snapshots = nullptr) {
  TrainedTeacher t = train_teacher(config, d);
  TeacherCache cache = compute_teacher_cache(*t.model, config, d);
  save_teacher(dir, t, cache);
  fmt::print("teacher: saved to {}\n", dir);
  if (snapshots) *snapshots = std::move(t.snapshots);
  return cache;
}

}  // namespace

TeacherCache load_or_train_teacher(const Options& options, const BookData& d) {
  const auto [wanted, key] = wanted_teacher(options, d);
  const std::string dir = teacher_dir(options);
  std::string why;
  if (std::optional<TeacherCache> found = read_teacher(dir, "teacher", key, true, d, why)) {
    fmt::print("teacher: cached logits from {} (seed {})\n", (std::filesystem::path(dir) / "teacher_logits.ckpt").string(),
               found->config.contains("seed") ? found->config["seed"].dump() : "?");
    return *found;
  }
  fmt::print("teacher: {}; training it with ch02's settings (this takes a few minutes)\n", why);
  return train_and_save(wanted, dir, d);
}

std::shared_ptr<nn::Sequential> load_teacher_model(const Options& options, const TeacherCache& cache) {
  tensor::Generator unused(0);  // the weights are overwritten by the checkpoint's
  std::shared_ptr<nn::Sequential> model = make_teacher(teacher_config(options), unused);
  const std::string path = (std::filesystem::path(teacher_dir(options)) / "teacher.ckpt").string();
  if (nlohmann::json::parse(nn::load_checkpoint(path, *model), nullptr, false) != cache.config) {
    throw std::runtime_error(path + ": weights of another configuration than the cached logits");
  }
  model->eval();
  return model;
}

std::vector<NamedTeacher> load_or_train_teacher_course(const Options& options, const BookData& d) {
  const auto [wanted, key] = wanted_teacher(options, d);
  const std::string dir = teacher_dir(options);
  std::vector<NamedTeacher> course;
  std::string why;
  std::optional<TeacherCache> final_teacher = read_teacher(dir, "teacher", key, true, d, why);
  for (int64_t epoch : wanted.snapshot_epochs) {
    if (!final_teacher) break;
    // A snapshot belongs to the cached teacher's training: its configuration, seed and all, and the epoch.
    nlohmann::json snapshot_key = final_teacher->config;
    snapshot_key["after_epoch"] = epoch;
    std::optional<TeacherCache> s = read_teacher(dir, snapshot_name(epoch), snapshot_key, false, d, why);
    if (!s) break;
    course.push_back({snapshot_name(epoch), epoch, std::move(*s)});
  }
  if (final_teacher && course.size() == wanted.snapshot_epochs.size()) {
    fmt::print("teacher: cached logits of the teacher and its {} snapshots from {}\n", course.size(), dir);
    course.push_back({"teacher", wanted.epochs, std::move(*final_teacher)});
    return course;
  }
  fmt::print("teacher: {}; training it again with ch02's settings, keeping its snapshots (this takes a few minutes)\n",
             why);
  std::vector<TeacherSnapshot> snapshots;
  TeacherCache trained = train_and_save(wanted, dir, d, &snapshots);
  course.clear();
  for (TeacherSnapshot& s : snapshots) course.push_back({snapshot_name(s.epoch), s.epoch, std::move(s.cache)});
  course.push_back({"teacher", wanted.epochs, std::move(trained)});
  return course;
}

TeacherCache load_or_train_teacher(const std::string& dir, const std::string& name, const TeacherConfig& config,
                                   const BookData& d) {
  nlohmann::json key = config.to_json();
  key["data"] = data_fingerprint(d);
  std::string why;
  if (std::optional<TeacherCache> found = read_teacher(dir, name, key, false, d, why)) {
    fmt::print("{}: cached logits from {}\n", name, dir);
    return *found;
  }
  fmt::print("{}: {}; training it ({} epochs)\n", name, why, config.epochs);
  TrainedTeacher t = train_teacher(config, d);
  TeacherCache cache = compute_teacher_cache(*t.model, config, d);
  save_teacher(dir, name, nn::module_tensors(*t.model), cache);
  return cache;
}

namespace {

// Row by row, the members' logits combined in double.
tensor::Tensor average_logits(const std::vector<const tensor::Tensor*>& members, Averaging averaging) {
  const tensor::Shape shape = members.front()->shape();
  const auto classes = static_cast<size_t>(shape[1]);
  std::vector<std::vector<float>> z;
  for (const tensor::Tensor* m : members) z.push_back(m->to_vector());
  std::vector<float> out(z.front().size());
  std::vector<double> log_p(classes);
  for (size_t row = 0; row * classes < out.size(); ++row) {
    std::vector<double> sum(classes, 0.0);
    for (const std::vector<float>& member : z) {
      const float* r = member.data() + row * classes;
      double top = -INFINITY, total = 0.0;
      for (size_t c = 0; c < classes; ++c) top = std::max(top, static_cast<double>(r[c]));
      for (size_t c = 0; c < classes; ++c) total += std::exp(r[c] - top);
      for (size_t c = 0; c < classes; ++c) {
        sum[c] += averaging == Averaging::probabilities ? std::exp(r[c] - top) / total : static_cast<double>(r[c]);
      }
    }
    for (size_t c = 0; c < classes; ++c) {
      const double mean = sum[c] / static_cast<double>(z.size());
      out[row * classes + c] = static_cast<float>(averaging == Averaging::probabilities ? std::log(mean) : mean);
    }
  }
  return tensor::Tensor::from_vector(shape, out);
}

}  // namespace

TeacherCache average_teachers(const std::vector<TeacherCache>& members, Averaging averaging) {
  if (members.empty()) throw std::invalid_argument("average_teachers: no member");
  std::vector<const tensor::Tensor*> train, test;
  nlohmann::json configs = nlohmann::json::array();
  for (const TeacherCache& m : members) {
    if (m.train_logits.shape() != members.front().train_logits.shape() ||
        m.test_logits.shape() != members.front().test_logits.shape() || m.train_logits.dim() != 2) {
      throw std::invalid_argument("average_teachers: members' logits " + tensor::to_string(m.train_logits.shape()) +
                                  " and " + tensor::to_string(members.front().train_logits.shape()) + " differ");
    }
    train.push_back(&m.train_logits);
    test.push_back(&m.test_logits);
    configs.push_back(m.config);
  }
  return {average_logits(train, averaging), average_logits(test, averaging),
          {{"members", configs}, {"averaging", averaging == Averaging::probabilities ? "probabilities" : "logits"}}};
}

}  // namespace book
