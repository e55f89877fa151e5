#include "chapters/common/teacher.h"

#include "autograd/variable.h"
#include "nn/checkpoint.h"
#include "nn/losses.h"
#include "nn/optim.h"

#include <fmt/core.h>
#include <zlib.h>

#include <filesystem>

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
  m->emplace<nn::Linear>(c.hidden, 10, gen);
  return m;
}

nn::Augmentation::Config teacher_augmentation(const TeacherConfig& c, const nn::Normalization& norm) {
  return {.horizontal_flip = c.horizontal_flip, .max_shift = c.max_shift, .fill = -norm.mean / norm.std};
}

TrainedTeacher train_teacher(const TeacherConfig& c, const BookData& d) {
  tensor::Generator gen(c.seed);
  TrainedTeacher t{make_teacher(c, gen), {}};
  nn::Augmentation augment(teacher_augmentation(c, d.norm), gen.next_u64());
  nn::DataLoader loader(d.data.train, d.split.train, c.batch, true, gen.next_u64(), d.norm);
  nn::Adam opt(t.model->parameters(), c.lr);
  BatchTransform transform;
  if (augment.enabled()) transform = [&](nn::Batch& b) { augment(b.images); };
  t.curve = fit(*t.model, opt, loader, d, {.label = "teacher", .epochs = c.epochs, .lr = c.lr},
                [](const autograd::Var& logits, const nn::Batch& b) { return nn::cross_entropy(logits, b.labels); },
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

void save_teacher(const std::string& dir, const nn::Module& teacher, const TeacherCache& cache) {
  std::filesystem::create_directories(dir);
  const std::string metadata = cache.config.dump();
  nn::save_checkpoint((std::filesystem::path(dir) / "teacher.ckpt").string(), teacher, metadata);
  nn::save_tensors((std::filesystem::path(dir) / "teacher_logits.ckpt").string(),
                   {{"train_logits", cache.train_logits}, {"test_logits", cache.test_logits}}, metadata);
}

TeacherCache load_or_train_teacher(const Options& options, const BookData& d) {
  const TeacherConfig wanted = teacher_config(
      Options{.chapter = options.chapter, .seed = 1, .out = options.out, .data = options.data, .quick = options.quick});
  nlohmann::json wanted_key = wanted.to_json();
  wanted_key["data"] = data_fingerprint(d);
  wanted_key = cache_key(wanted_key);
  const std::string dir = teacher_dir(options);
  const std::string path = (std::filesystem::path(dir) / "teacher_logits.ckpt").string();
  const std::string parameters = (std::filesystem::path(dir) / "teacher.ckpt").string();
  std::string why;
  if (!std::filesystem::exists(path)) {
    why = "no teacher cache at " + path;
  } else {
    try {
      nn::Checkpoint ck = nn::load_tensors(path);
      nlohmann::json found = nlohmann::json::parse(ck.metadata, nullptr, false);
      // The parameters must come from the same training as the logits (an interrupted save
      // could pair new parameters with old logits).
      const bool same_training =
          std::filesystem::exists(parameters) && nn::load_tensors(parameters).metadata == ck.metadata;
      // Any seed will do: the cache must match the configuration and the data in everything else.
      if (!same_training) {
        why = "the teacher cache at " + dir + " holds parameters and logits of different runs";
      } else if (cache_key(found) != wanted_key || ck.tensors.size() != 2 ||
          ck.tensors[0].second.shape() != tensor::Shape{d.data.train.size(), 10} ||
          ck.tensors[1].second.shape() != tensor::Shape{d.data.test.size(), 10}) {
        why = "the teacher cache at " + path + " is from another configuration";
      } else {
        fmt::print("teacher: cached logits from {} (seed {})\n", path, found.contains("seed") ? found["seed"].dump() : "?");
        return {ck.tensors[0].second, ck.tensors[1].second, found};
      }
    } catch (const nn::CheckpointError& e) {
      why = std::string("the teacher cache is unreadable: ") + e.what();
    }
  }
  fmt::print("teacher: {}; training it with ch02's settings (this takes a few minutes)\n", why);
  const TrainedTeacher t = train_teacher(wanted, d);
  TeacherCache cache = compute_teacher_cache(*t.model, wanted, d);
  save_teacher(dir, *t.model, cache);
  fmt::print("teacher: saved to {}\n", dir);
  return cache;
}

}  // namespace book
