// The lab: students by key, each trained once, side by side with the same bytes as one at a
// time, a diverging student recorded instead of ending the plan, and the hard-against-soft
// experiment on top of it.
#include "chapters/lab/lab.h"

#include "tensor/ops.h"
#include "tensor/parallel.h"

#include "tests/chapters/helpers.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using testing::quick_options;

// The quick data with a random "teacher": what the lab needs, in a second.
book::Classroom quick_classroom() {
  book::BookData data = book::load_book_data(quick_options());
  tensor::Generator gen(3);
  book::TeacherCache teacher{tensor::normal({data.data.train.size(), 10}, 0.0f, 3.0f, gen),
                             tensor::normal({data.data.test.size(), 10}, 0.0f, 3.0f, gen), {}};
  return {std::move(data), std::move(teacher), 0.5};
}

book::StudentKey small(const book::Targets& targets, uint64_t seed) {
  return {.config = {.widths = {784, 16, 10}, .epochs = 2, .seed = seed}, .targets = targets, .transfer = "300"};
}

// Everything a result holds but its time, as one comparable list of numbers.
std::vector<double> bytes_of(const book::StudentResult& r) {
  std::vector<double> out = {r.scores.validation_accuracy, r.scores.test_accuracy, r.scores.test_nll,
                             r.scores.test_ece,           r.scores.agreement,     r.scores.kl_to_teacher,
                             r.best_test_accuracy,        static_cast<double>(r.best_epoch)};
  for (const book::EpochRecord& e : r.curve) out.insert(out.end(), {e.train_loss, e.validation_accuracy});
  for (const tensor::Tensor* t : {&r.test_logits, &r.validation_logits}) {
    for (float v : t->to_vector()) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_SUITE("chapters/lab") {
TEST_CASE("a plan gives the same bytes with one worker as with two, whatever ran beside each student") {
  const book::Classroom classroom = quick_classroom();
  const std::vector<int64_t> images(classroom.data.split.train.begin(), classroom.data.split.train.begin() + 300);
  std::vector<book::StudentKey> plan;
  for (uint64_t seed : {1, 2}) {
    for (const book::Targets& t : {book::Targets::hard(), book::Targets::soft(2, 0.5f), book::Targets::soft(4, 0.9f)}) {
      plan.push_back(small(t, seed));
    }
  }
  book::Lab one(classroom, 1, false), two(classroom, 2, false), alone(classroom, 2, false);
  for (book::Lab* lab : {&one, &two, &alone}) lab->add_transfer_set("300", images);
  const auto a = one.run(plan, "one worker");
  const auto b = two.run(plan, "two workers");
  REQUIRE(a.size() == plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    CAPTURE(plan[i].describe());
    CHECK(bytes_of(*a[i]) == bytes_of(*b[i]));
    // The same student in a plan of its own, with nothing beside it.
    CHECK(bytes_of(*alone.run({plan[i]}, "alone")[0]) == bytes_of(*b[i]));
  }
  CHECK(a[0]->scores.validation_accuracy > 0.3);  // 300 images, 2 epochs: well above chance (0.1)
  CHECK(bytes_of(*a[0]) != bytes_of(*a[1]));      // soft targets change the student

  SUBCASE("a student trained again to keep its network is the same student") {
    const auto kept = two.run({plan[1]}, "again", true);
    REQUIRE(kept[0]->model != nullptr);
    CHECK(bytes_of(*kept[0]) == bytes_of(*a[1]));
    // Its network gives its logits, computed on one thread as the lab's workers do.
    tensor::Tensor logits;
    tensor::run_side_by_side(1, 1, [&](int64_t) {
      logits = book::predict_logits(*kept[0]->model, classroom.data.data.test, classroom.data.test_indices,
                                    classroom.data.norm);
    });
    CHECK(logits.to_vector() == kept[0]->test_logits.to_vector());
  }
  SUBCASE("a probe is read after every validated epoch, on the model as that epoch left it") {
    book::Lab lab(classroom, 2, false);
    lab.add_transfer_set("300", images);
    lab.add_probe("epoch", [](const book::StudentKey&, const book::EpochRecord& r, nn::Module&) {
      return static_cast<double>(r.epoch);
    });
    book::StudentKey probed = plan[0];
    probed.probe = "epoch";
    const auto r = lab.run({probed, plan[0]}, "probes");
    CHECK(r[0]->probe == std::vector<double>{1, 2});
    CHECK(r[1]->probe.empty());
    CHECK(bytes_of(*r[0]) == bytes_of(*a[0]));  // reading changes nothing of the training
  }
}

TEST_CASE("a student that diverges is recorded with its epoch, and the rest of the plan goes on") {
  const book::Classroom classroom = quick_classroom();
  book::Lab lab(classroom, 2, false);
  lab.add_transfer_set("300", std::vector<int64_t>(classroom.data.split.train.begin(),
                                                   classroom.data.split.train.begin() + 300));
  book::StudentKey wild = small(book::Targets::hard(), 1);
  wild.config.lr = 1e9f;  // the first steps throw the weights to infinity
  const auto r = lab.run({small(book::Targets::hard(), 1), wild, small(book::Targets::soft(2, 0.5f), 1)}, "plan");
  CHECK_FALSE(r[0]->diverged);
  CHECK_FALSE(r[2]->diverged);
  CHECK(r[0]->scores.test_accuracy > 0.3);
  REQUIRE(r[1]->diverged);
  CHECK(r[1]->diverged_epoch >= 1);  // the weights reach infinity within the 2 epochs
  CHECK(r[1]->diverged_epoch <= 2);
  CHECK(r[1]->divergence.find("loss is") != std::string::npos);
  CHECK(std::isnan(r[1]->scores.test_accuracy));  // no statistic can take it for a number
  CHECK(book::diverged_count(r) == 1);
  CHECK(r[1]->test_logits.shape() == tensor::Shape{classroom.data.data.test.size(), book::kClasses});  // NaN, not missing
  CHECK(r[1]->model == nullptr);
  const std::vector<double> accuracy = book::column(r, [](const book::StudentResult& s) { return s.scores.test_accuracy; });
  CHECK(std::isnan(book::mean_std(accuracy).mean));
}

TEST_CASE("keys compare exactly: each student is trained once, and hard students read no teacher") {
  const book::Classroom classroom = quick_classroom();
  std::atomic<int> trained{0};
  book::Lab lab(classroom, 2, false, [&](const book::Lab&, const book::StudentKey& key, bool) {
    ++trained;
    book::StudentResult r;
    r.scores.validation_accuracy = key.targets.temperature + static_cast<double>(key.config.seed);
    return r;
  });
  lab.add_transfer_set("300", {1, 2, 3});
  lab.add_teacher("other", classroom.teacher.train_logits.clone());
  book::StudentKey hard = small(book::Targets::hard(), 1), hard_other = hard;
  hard_other.teacher = "other";
  book::StudentKey soft = small(book::Targets::soft(2, 0.5f), 1), nearly = soft;
  nearly.targets.temperature = std::nextafter(2.0f, 3.0f);  // one float apart: another student
  const auto r = lab.run({hard, hard_other, soft, nearly, soft}, "plan");
  CHECK(trained == 3);
  CHECK(r[0] == r[1]);
  CHECK(r[2] == r[4]);
  CHECK(r[2] != r[3]);
  lab.run({soft}, "again");
  CHECK(trained == 3);
  CHECK(&lab.result(hard_other) == r[0]);

  book::StudentKey unknown = soft;
  unknown.teacher = "nobody";
  CHECK_THROWS_WITH_AS(lab.run({unknown}, "plan"), doctest::Contains("lab: no teacher named 'nobody' (student 784-16-10"),
                       std::invalid_argument);
  unknown = soft;
  unknown.transfer = "none";
  CHECK_THROWS_WITH_AS(lab.run({unknown}, "plan"), doctest::Contains("lab: no transfer set named 'none'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(lab.add_transfer_set("300", {1, 2}), "lab: transfer set '300' already names other images",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(lab.result(small(book::Targets::hard(), 9)), doctest::Contains("lab: student not trained yet"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(book::Lab(classroom, 0), "Lab: need at least 1 worker, got 0", tensor::ValueError);
  CHECK_THROWS_WITH_AS(lab.add_transfer_set("empty", {}), "lab: transfer set 'empty' is empty", std::invalid_argument);
  CHECK_THROWS_WITH_AS(lab.add_teacher("other", tensor::Tensor::zeros(classroom.teacher.train_logits.shape())),
                       "lab: teacher 'other' already names other logits", std::invalid_argument);
  lab.add_teacher("other", classroom.teacher.train_logits.clone().clone());  // the same logits again: welcome
  lab.add_probe("p", [](const book::StudentKey&, const book::EpochRecord&, nn::Module&) { return 0.0; });
  CHECK_THROWS_WITH_AS(lab.add_probe("p", {}), "lab: probe 'p' already exists", std::invalid_argument);
  CHECK_THROWS_WITH_AS(book::student_metric("speed"), "student_metric: no metric 'speed'", std::invalid_argument);
  CHECK(book::student_metric("test_nll").name == "test NLL (nats)");
}

TEST_CASE("a student whose training fails stops the plan's run, and the students that finished are kept") {
  const book::Classroom classroom = quick_classroom();
  book::Lab lab(classroom, 2, false, [](const book::Lab&, const book::StudentKey& key, bool) {
    if (key.config.seed == 2) throw std::runtime_error("seed 2 failed");
    book::StudentResult r;
    r.scores.test_accuracy = 0.5;
    return r;
  });
  lab.add_transfer_set("300", {1, 2, 3});
  CHECK_THROWS_WITH_AS(lab.run({small(book::Targets::hard(), 1), small(book::Targets::hard(), 2),
                                small(book::Targets::hard(), 3)},
                               "plan"),
                       "seed 2 failed", std::runtime_error);
  CHECK(lab.result(small(book::Targets::hard(), 1)).scores.test_accuracy == 0.5);
  CHECK(lab.result(small(book::Targets::hard(), 3)).scores.test_accuracy == 0.5);
  CHECK_THROWS_AS(lab.result(small(book::Targets::hard(), 2)), std::out_of_range);
}

TEST_CASE("compare_hard_soft chooses on the tuning seeds' mean and compares fresh pairs on the other seeds") {
  // A fake student whose validation accuracy peaks at T = 4, alpha = 0.5 on average; on tuning
  // seed 7 alone T = 2 looks best, so a choice from that seed alone would be wrong.
  const book::Classroom classroom = quick_classroom();
  std::atomic<int> trained{0};
  const book::StudentTrainer fake = [&](const book::Lab&, const book::StudentKey& key, bool) {
    ++trained;
    book::StudentResult r;
    const book::Targets& t = key.targets;
    const uint64_t seed = key.config.seed;
    const double luck = t.temperature == 2.0f ? (seed == 7 ? 2.5 : -3.0) : 0.0;
    r.scores.validation_accuracy = t.uses_teacher() ? 1.0 - std::abs(t.temperature - 4.0f) - t.alpha + luck : 0.0;
    return r;
  };
  const auto grid = book::soft_grid({2, 4, 8}, {0.5f, 0.9f});
  REQUIRE(grid.size() == 6);
  CHECK(grid[3].temperature == 2.0f);
  CHECK(grid[3].alpha == 0.9f);
  {
    book::Lab lab(classroom, 2, false, fake);
    lab.add_transfer_set("300", {1, 2, 3});
    CHECK(book::compare_hard_soft(lab, small, grid, {7}, book::seed_range(9, 3), "t").chosen.temperature == 2.0f);  // seed 7's luck decides
  }
  trained = 0;
  book::Lab lab(classroom, 2, false, fake);
  lab.add_transfer_set("300", {1, 2, 3});
  const auto c = book::compare_hard_soft(lab, small, grid, {7, 8}, book::seed_range(9, 3), "t");
  CHECK(c.chosen.temperature == 4.0f);
  CHECK(c.chosen.alpha == 0.5f);
  REQUIRE(c.tuning_hard.size() == 2);
  CHECK(c.tuning_hard[1] == &lab.result(small(book::Targets::hard(), 8)));
  REQUIRE(c.candidates.size() == 6);
  REQUIRE(c.candidates[0].per_seed.size() == 2);
  CHECK(c.candidates[0].validation_accuracy == doctest::Approx((c.candidates[0].per_seed[0] + c.candidates[0].per_seed[1]) / 2));
  REQUIRE(c.tuning_soft.size() == 6);
  CHECK(c.tuning_soft[4][1] == &lab.result(small(grid[4], 8)));
  REQUIRE(c.hard.size() == 3);
  REQUIRE(c.soft.size() == 3);
  for (uint64_t k = 0; k < 3; ++k) {
    // A fresh pair on every comparison seed, never a tuning student.
    CHECK(c.hard[k] == &lab.result(small(book::Targets::hard(), 9 + k)));
    CHECK(c.soft[k] == &lab.result(small(book::Targets::soft(4, 0.5f), 9 + k)));
  }
  CHECK(trained == 2 + 6 * 2 + 2 * 3);

  SUBCASE("a setting whose students diverged is never the one chosen") {
    book::Lab wild(classroom, 2, false, [&](const book::Lab& l, const book::StudentKey& key, bool keep) {
      book::StudentResult r = fake(l, key, keep);
      if (key.targets.temperature == 4.0f) r.scores.validation_accuracy = std::nan("");  // the best, diverged
      return r;
    });
    wild.add_transfer_set("300", {1, 2, 3});
    const auto d = book::compare_hard_soft(wild, small, grid, {7, 8}, book::seed_range(9, 3), "t");
    CHECK(d.chosen.temperature != 4.0f);
  }
  CHECK_THROWS_WITH_AS(book::compare_hard_soft(lab, small, {}, {7}, {8}, "t"), "compare_hard_soft: no soft settings to try",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(book::compare_hard_soft(lab, small, grid, {}, {8}, "t"), "compare_hard_soft: no tuning seeds",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(book::compare_hard_soft(lab, small, grid, {7, 8}, {8, 9}, "t"),
                       "compare_hard_soft: seed 8 is both a tuning and a comparison seed", std::invalid_argument);
}
}
