// The thread pool (sim/parallel.hpp): order, cancel and error paths, and the
// deterministic parallel-for.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "sim/experiment/compare.hpp"
#include "sim/parallel.hpp"

using namespace schoolsim;

namespace {

// Sleeps `ms` in short steps, throwing Interrupted as soon as the pool stops;
// bounded so that a pool that never stops fails the test rather than hangs.
void busy(const Stop& stop, int ms) {
  for (int i = 0; i < ms; ++i) {
    if (stop.requested()) throw Interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Parallel with(std::int32_t threads, const std::atomic<bool>* cancel = nullptr) {
  Parallel p;
  p.threads = threads;
  p.cancel = cancel;
  return p;
}

}  // namespace

TEST_CASE("parallel: results reach the sink in index order at any thread count") {
  for (std::int32_t threads : {1, 2, 3, 8}) {
    std::vector<std::size_t> order;
    std::vector<int> values;
    // Early tasks take longest, so later ones finish first.
    run_ordered(
        12, with(threads),
        [](std::size_t i, const Stop& stop) {
          busy(stop, static_cast<int>(12 - i));
          return static_cast<int>(i * i);
        },
        [&](std::size_t i, int&& v) {
          order.push_back(i);
          values.push_back(v);
        });
    REQUIRE(order.size() == 12);
    for (std::size_t i = 0; i < 12; ++i) {
      CHECK(order[i] == i);
      CHECK(values[i] == static_cast<int>(i * i));
    }
  }
}

TEST_CASE("parallel: no more than `window` results wait for the sink") {
  std::atomic<int> waiting{0}, most{0};
  Parallel p = with(3);
  p.window = 2;
  run_ordered(
      30, p,
      [&](std::size_t i, const Stop& stop) {
        busy(stop, i % 3 == 0 ? 4 : 1);
        const int now = ++waiting;
        for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
        }
        return i;
      },
      [&](std::size_t, std::size_t&&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --waiting;
      });
  // Tasks i < delivered + window may start; each of them can finish before the sink takes one.
  CHECK(most.load() <= 2);
  CHECK(most.load() >= 1);
}

TEST_CASE("parallel: a failing task stops the others and its exception comes out") {
  for (std::int32_t threads : {1, 2, 3}) {
    CAPTURE(threads);
    std::atomic<int> started{0}, delivered{0};
    auto run = [&] {
      run_ordered(
          40, with(threads),
          [&](std::size_t i, const Stop& stop) {
            ++started;
            if (i == 3) throw std::runtime_error("task 3 failed");
            busy(stop, 20);
            return i;
          },
          [&](std::size_t, std::size_t&&) { ++delivered; });
    };
    CHECK_THROWS_WITH_AS(run(), "task 3 failed", std::runtime_error);
    // The others saw the stop: not every task ran, and nothing after task 3 was delivered.
    CHECK(started.load() < 40);
    CHECK(delivered.load() <= 3);
  }
}

TEST_CASE("parallel: among several failures the lowest task's comes out - not the others' Interrupted") {
  auto run = [] {
    run_tasks(6, with(3), [](std::size_t i, const Stop& stop) {
      if (i == 0) {
        // Fails after task 1 has failed and the pool has stopped.
        for (int k = 0; k < 2000 && !stop.requested(); ++k) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        throw std::runtime_error("task 0 failed");
      }
      if (i == 1) throw std::runtime_error("task 1 failed");
      busy(stop, 2000);
    });
  };
  CHECK_THROWS_WITH_AS(run(), "task 0 failed", std::runtime_error);
}

TEST_CASE("parallel: the sink's exception stops the workers and comes out") {
  std::atomic<int> started{0};
  auto run = [&] {
    run_ordered(
        40, with(2),
        [&](std::size_t, const Stop& stop) {
          ++started;
          busy(stop, 5);
          return 0;
        },
        [](std::size_t i, int&&) {
          if (i == 1) throw std::invalid_argument("the sink refused result 1");
        });
  };
  CHECK_THROWS_WITH_AS(run(), "the sink refused result 1", std::invalid_argument);
  CHECK(started.load() < 40);
}

TEST_CASE("parallel: the caller's cancel stops the tasks under way and nothing more starts") {
  for (std::int32_t threads : {1, 2, 3}) {
    CAPTURE(threads);
    std::atomic<bool> cancel{false};
    std::atomic<int> started{0}, finished{0};
    auto run = [&] {
      run_ordered(
          40, with(threads, &cancel),
          [&](std::size_t i, const Stop& stop) {
            ++started;
            if (i == 2) cancel = true;  // as Ctrl-C would, from elsewhere
            busy(stop, 20);
            ++finished;
            return i;
          },
          [](std::size_t, std::size_t&&) {});
    };
    CHECK_THROWS_AS(run(), Interrupted);
    CHECK(started.load() <= 2 + threads);
    CHECK(finished.load() <= 2);
  }
}

TEST_CASE("parallel: a cancel that comes after every result was delivered is not an interruption") {
  std::atomic<bool> cancel{false};
  std::vector<std::size_t> got;
  run_ordered(
      4, with(2, &cancel), [](std::size_t i, const Stop&) { return i; },
      [&](std::size_t i, std::size_t&&) {
        got.push_back(i);
        if (i == 3) cancel = true;
      });
  CHECK(got == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("parallel: no tasks and more threads than tasks are fine") {
  int calls = 0;
  run_ordered(0, with(4), [](std::size_t, const Stop&) { return 1; }, [&](std::size_t, int&&) { ++calls; });
  CHECK(calls == 0);
  run_ordered(1, with(4), [](std::size_t, const Stop&) { return 1; }, [&](std::size_t, int&& v) { calls += v; });
  CHECK(calls == 1);
}

TEST_CASE("parallel: chunk boundaries do not depend on the thread count") {
  const std::size_t n = 1003, chunk = 64;
  CHECK(chunk_count(n, chunk) == 16);
  std::vector<std::vector<std::size_t>> bounds;
  for (std::int32_t threads : {1, 2, 3}) {
    std::vector<std::size_t> b(2 * chunk_count(n, chunk));
    std::vector<int> seen(n, 0);
    parallel_chunks(n, chunk, with(threads), [&](std::size_t c, std::size_t begin, std::size_t end) {
      b[2 * c] = begin;
      b[2 * c + 1] = end;
      for (std::size_t i = begin; i < end; ++i) ++seen[i];
    });
    for (std::size_t i = 0; i < n; ++i) CHECK(seen[i] == 1);  // every index once
    bounds.push_back(b);
  }
  CHECK(bounds[0] == bounds[1]);
  CHECK(bounds[0] == bounds[2]);
  CHECK(bounds[0].back() == n);
}

TEST_CASE("parallel: a reduction over chunks gives the same bytes at 1 - 2 and 3 threads") {
  // Terms of very different sizes, so that the order of summation shows in the last bits.
  const std::size_t n = 100000;
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = (i % 7 == 0 ? 1e12 : 1.0) * std::sin(static_cast<double>(i) * 0.37) / static_cast<double>(1 + i % 13);
  auto sum = [&](std::int32_t threads) {
    return parallel_reduce(
        n, 1000, with(threads), 0.0,
        [&](std::size_t b, std::size_t e) {
          double s = 0;
          for (std::size_t i = b; i < e; ++i) s += x[i];
          return s;
        },
        [](double& acc, double&& part) { acc += part; });
  };
  const double s1 = sum(1), s2 = sum(2), s3 = sum(3);
  CHECK(std::memcmp(&s1, &s2, sizeof s1) == 0);
  CHECK(std::memcmp(&s1, &s3, sizeof s1) == 0);
  // The same as summing the chunks one after another by hand.
  double ref = 0;
  for (std::size_t b = 0; b < n; b += 1000) {
    double s = 0;
    for (std::size_t i = b; i < std::min(n, b + 1000); ++i) s += x[i];
    ref += s;
  }
  CHECK(std::memcmp(&s1, &ref, sizeof s1) == 0);
  // and not the plain left-to-right sum, so the test would notice a different split.
  double plain = 0;
  for (double v : x) plain += v;
  CHECK(plain != ref);
}

TEST_CASE("Welford: the variance of values with a large mean agrees with the two-pass formula") {
  // 1e9 plus small deviations: the one-pass sum of squares keeps none of their digits.
  std::vector<double> v;
  for (int i = 0; i < 1000; ++i) v.push_back(1e9 + 1e-3 * std::sin(i * 1.7) + 1e-4 * (i % 5));
  Welford w;
  for (double x : v) w.add(x);
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double two_pass = ss / static_cast<double>(v.size() - 1);
  CHECK(w.n == 1000);
  CHECK(w.mean == doctest::Approx(mean).epsilon(1e-15));
  CHECK(w.variance() == doctest::Approx(two_pass).epsilon(1e-6));
  CHECK(two_pass > 1e-7);
  // The one-pass formula it replaces is wrong here by orders of magnitude (or negative).
  double sum = 0, sum2 = 0;
  for (double x : v) sum += x, sum2 += x * x;
  const double n = static_cast<double>(v.size());
  const double one_pass = (sum2 - n * (sum / n) * (sum / n)) / (n - 1);
  CHECK(std::abs(one_pass - two_pass) > 100 * two_pass);
  // Fewer than two values have no sample variance.
  Welford one;
  one.add(3.0);
  CHECK(std::isnan(one.variance()));
  CHECK(one.mean == 3.0);
}
