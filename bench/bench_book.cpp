// What the book's chapters spend their time on, as they run it: the teacher's training step
// (BatchNorm, dropout, flips, Adam), the small student's distillation step, an evaluation
// pass over 10,000 images, and Adam's update of the teacher's parameters.
#include "autograd/variable.h"
#include "bench/common.h"
#include "chapters/common/book_data.h"
#include "chapters/common/student.h"
#include "chapters/common/teacher.h"
#include "chapters/lab/lab.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tensor/ops.h"

#include <benchmark/benchmark.h>

namespace {

using autograd::Var;
using tensor::Tensor;

using bench::kBatch;

// About the Fashion-MNIST training images' mean and std, as the chapters normalise them.
const nn::Normalization kNorm{0.286f, 0.353f};

// `count` 28 x 28 images of uniformly random bytes (labels 0), the same for a given seed.
nn::Dataset random_images(int64_t count, uint64_t seed) {
  nn::Dataset data{.images = std::vector<uint8_t>(static_cast<size_t>(count * 28 * 28)),
                   .labels = nn::Labels(static_cast<size_t>(count), 0), .height = 28, .width = 28, .classes = 10};
  tensor::Generator gen(seed);
  for (uint8_t& p : data.images) p = static_cast<uint8_t>(gen.below(256));
  return data;
}

// The FLOPs of the teacher's products on `images` images.
bench::CnnFlops teacher_flops(const book::TeacherConfig& c, double images) {
  return bench::cnn_flops(c.conv1, c.conv2, c.hidden, images);
}

// The ch02 teacher as ch02 trains it: make_teacher's network in training mode (BatchNorm
// on batch statistics, dropout), each batch flipped by the teacher's augmentation, Adam.
void BM_TeacherTrainStep(benchmark::State& state) {
  const book::TeacherConfig config;
  tensor::Generator gen(config.seed);
  std::shared_ptr<nn::Sequential> teacher = book::make_teacher(config, gen);
  teacher->train();
  nn::Augmentation augment(book::teacher_augmentation(config, {}), 5);
  const Tensor batch = bench::random_tensor({kBatch, 1, 28, 28});
  const nn::Labels labels = bench::random_labels(kBatch);
  nn::Adam opt(teacher->parameters(), config.lr);
  const bench::StepTimes times = bench::time_steps(state, [&] {
    Tensor images = batch.clone();
    augment(images);
    opt.zero_grad();
    nn::cross_entropy((*teacher)(Var(images)), labels).backward();
    opt.step();
  });
  bench::set_step_counters(state, times, teacher_flops(config, kBatch).step());
  state.SetItemsProcessed(state.iterations() * kBatch);
}

// The small student of chapters 5 to 7 (784-100-10) against cached teacher logits, as
// book::train_student steps it (distillation loss at T = 2, alpha = 0.5, SGD with
// momentum). Its products are small, so the fixed costs of a step show in non_blas_us.
void BM_SmallStudentStep(benchmark::State& state) {
  const std::vector<int64_t> widths = {784, 100, 10};
  tensor::Generator gen(3);
  std::shared_ptr<nn::Sequential> student = book::make_mlp(widths, gen);
  bench::set_mlp_counters(state, bench::distill_steps(state, *student, 2.0f, 0.5f, 0.05f), widths);
}

// One evaluation pass of the teacher over 10,000 images (the test set's size), in
// evaluation mode without a graph, in book::predict_logits' batches of 256.
void BM_TeacherEvaluate(benchmark::State& state) {
  const book::TeacherConfig config;
  tensor::Generator gen(config.seed);
  std::shared_ptr<nn::Sequential> teacher = book::make_teacher(config, gen);
  constexpr int64_t kImages = 10000;
  const nn::Dataset data = random_images(kImages, 4);
  std::vector<int64_t> all(kImages);
  for (int64_t i = 0; i < kImages; ++i) all[static_cast<size_t>(i)] = i;
  for (auto _ : state) benchmark::DoNotOptimize(book::predict_logits(*teacher, data, all, kNorm));
  bench::set_gflops(state, teacher_flops(config, kImages).forward());
  state.SetItemsProcessed(state.iterations() * kImages);
}

// One shuffled training batch of 128 images as every chapter's DataLoader makes it, from a
// data set the size of Fashion-MNIST's training images (60,000 of 28 x 28 bytes, 47 MB, far
// more than the caches): each image's first read waits for memory unless it was prefetched.
void BM_MakeBatch(benchmark::State& state) {
  constexpr int64_t kImages = 60000, kPixels = 28 * 28;
  const nn::Dataset data = random_images(kImages, 6);
  tensor::Generator gen(7);
  const std::vector<int64_t> order = tensor::permutation(kImages, gen);
  int64_t next = 0;
  for (auto _ : state) {
    if (next + kBatch > kImages) next = 0;
    const std::vector<int64_t> indices(order.begin() + next, order.begin() + next + kBatch);
    benchmark::DoNotOptimize(nn::make_batch(data, indices, kNorm));
    next += kBatch;
  }
  // Reads a byte and writes a float per pixel.
  state.counters["GB/s"] = benchmark::Counter(5.0 * kBatch * kPixels * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Adam's update of the teacher's parameters (gradients given), the step ch02 takes
// after every batch.
void BM_AdamStepTeacher(benchmark::State& state) {
  const book::TeacherConfig config;
  tensor::Generator gen(config.seed);
  std::shared_ptr<nn::Sequential> teacher = book::make_teacher(config, gen);
  std::vector<Var> params = teacher->parameters();
  int64_t count = 0;
  // One backward pass leaves a gradient on every parameter.
  nn::cross_entropy((*teacher)(Var(bench::random_tensor({kBatch, 1, 28, 28}))), bench::random_labels(kBatch)).backward();
  for (const Var& p : params) count += p.value().numel();
  nn::Adam opt(params, 1e-6f);
  for (auto _ : state) opt.step();
  state.counters["parameters"] = double(count);
  // Each parameter reads theta, g, m, v and writes theta, m, v: 7 floats.
  state.counters["GB/s"] = benchmark::Counter(7.0 * 4 * double(count) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The lab's throughput: chapter 8-10's student (784-100-10, 5,500 images, 24 epochs, soft
// targets, validated and scored on 5,000 and 10,000 images as the chapters do), four students
// per plan, on state.range(0) workers side by side. Random images and teacher logits: the time
// does not depend on what the pixels show.
void BM_LabStudents(benchmark::State& state) {
  constexpr int64_t kTrain = 5500, kValidation = 5000, kTest = 10000, kStudents = 4;
  book::BookData data{{random_images(kTrain + kValidation, 8), random_images(kTest, 9)}, {}, kNorm, {}};
  for (int64_t i = 0; i < kTrain + kValidation; ++i) (i < kTrain ? data.split.train : data.split.validation).push_back(i);
  for (int64_t i = 0; i < kTest; ++i) data.test_indices.push_back(i);
  const book::Classroom classroom{std::move(data),
                                  {bench::random_tensor({kTrain + kValidation, 10}, 3), bench::random_tensor({kTest, 10}, 4), {}},
                                  0.0};
  std::vector<book::StudentKey> plan;
  for (uint64_t seed = 1; seed <= kStudents; ++seed) {
    plan.push_back({.config = {.widths = {784, 100, 10}, .epochs = 24, .seed = seed}, .targets = book::Targets::soft(2, 0.5f)});
  }
  for (auto _ : state) {
    book::Lab lab(classroom, static_cast<int>(state.range(0)), false);
    benchmark::DoNotOptimize(lab.run(plan, "bench"));
  }
  state.counters["students_per_minute"] =
      benchmark::Counter(60.0 * kStudents, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_TeacherTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LabStudents)->Arg(1)->Arg(2)->ArgName("workers")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK(BM_SmallStudentStep)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_TeacherEvaluate)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamStepTeacher)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_MakeBatch)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
