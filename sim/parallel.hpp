// The one way schoolsim runs work on threads.
//
// run_ordered runs N indexed tasks on up to T threads and hands each result to
// a sink on the calling thread in index order (0, 1, 2, ...), so whatever the
// sink writes or sums is the same at any thread count. There is one cancel
// path and one error path:
//   - the caller's cancel flag (Ctrl-C) and the pool's own stop flag (a task or
//     the sink failed) are both visible to every task through `Stop`;
//   - the first failure stops the others; once every worker has stopped, the
//     failure is rethrown: the sink's own exception first, else the exception of
//     the lowest-indexed task that failed with something other than
//     Interrupted, else Interrupted;
//   - a cancel request that arrives before every result was delivered ends the
//     call with Interrupted.
// Nothing busy-waits: idle workers and the waiting caller block on a condition
// variable. Results finished ahead of the sink are held at most `window` at a
// time (a worker waits before starting a task further ahead), which bounds the
// memory of results that are large.
//
// parallel_chunks / parallel_reduce split an index range into chunks whose
// boundaries depend only on the range and the chunk size, never on the thread
// count, and combine the chunks' partial results in chunk order: a reduction
// gives the same bytes at 1, 2 or 32 threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace schoolsim {

// Thrown by a run (and by the pool) that stopped because it was cancelled.
struct Interrupted : std::exception {
  [[nodiscard]] const char* what() const noexcept override { return "interrupted"; }
};

// What a task checks to stop early: the caller's cancel flag and the pool's own.
class Stop {
 public:
  Stop() = default;
  Stop(const std::atomic<bool>* caller, const std::atomic<bool>* own) : caller_(caller), own_(own) {}
  [[nodiscard]] bool requested() const {
    return (caller_ && caller_->load(std::memory_order_relaxed)) || (own_ && own_->load(std::memory_order_relaxed));
  }
  // The two flags, for code that polls a flag itself (RunOptions::cancel and ::stop).
  [[nodiscard]] const std::atomic<bool>* caller() const { return caller_; }
  [[nodiscard]] const std::atomic<bool>* own() const { return own_; }

 private:
  const std::atomic<bool>* caller_ = nullptr;
  const std::atomic<bool>* own_ = nullptr;
};

struct Parallel {
  // Worker threads (at least 1; never more than there are tasks). With 1 the
  // tasks run on the calling thread, one after another.
  std::int32_t threads = 1;
  // The caller's cancel flag: when it turns true, tasks see Stop::requested(),
  // no new task starts and the call throws Interrupted.
  const std::atomic<bool>* cancel = nullptr;
  // At most this many results are held finished but not yet delivered; 0 means
  // 2 x threads.
  std::size_t window = 0;
};

namespace detail {
// The scheduling core: work(i, stop) on the workers, then deliver(i) on the
// calling thread in index order once work(i) has returned.
void run_indexed(std::size_t n, const Parallel& options, const std::function<void(std::size_t, const Stop&)>& work,
                 const std::function<void(std::size_t)>& deliver);
}  // namespace detail

// Runs task(i, stop) -> R for i in [0, n) and calls sink(i, R&&) in index order
// on the calling thread.
template <class Task, class Sink>
void run_ordered(std::size_t n, const Parallel& options, Task&& task, Sink&& sink) {
  using R = std::invoke_result_t<Task&, std::size_t, const Stop&>;
  static_assert(!std::is_void_v<R>, "run_ordered: a task returns its result; use run_tasks for tasks without one");
  std::vector<std::optional<R>> slots(n);
  detail::run_indexed(
      n, options, [&](std::size_t i, const Stop& stop) { slots[i].emplace(task(i, stop)); },
      [&](std::size_t i) {
        R r = std::move(*slots[i]);
        slots[i].reset();
        sink(i, std::move(r));
      });
}

// Runs task(i, stop) for i in [0, n); each task writes its own result.
template <class Task>
void run_tasks(std::size_t n, const Parallel& options, Task&& task) {
  Parallel o = options;
  o.window = std::max<std::size_t>(n, 1);  // nothing is held for a sink
  detail::run_indexed(n, o, [&](std::size_t i, const Stop& stop) { task(i, stop); }, [](std::size_t) {});
}

// The chunks of [0, n) of `chunk` indices each (the last one shorter): their
// number, and the bounds of chunk c. Independent of the thread count.
inline std::size_t chunk_count(std::size_t n, std::size_t chunk) { return chunk == 0 ? 0 : (n + chunk - 1) / chunk; }

// Runs body(c, begin, end) for every chunk c of [0, n).
template <class Body>
void parallel_chunks(std::size_t n, std::size_t chunk, const Parallel& options, Body&& body) {
  const std::size_t chunks = chunk_count(n, std::max<std::size_t>(chunk, 1));
  const std::size_t size = std::max<std::size_t>(chunk, 1);
  run_tasks(chunks, options, [&](std::size_t c, const Stop&) { body(c, c * size, std::min(n, (c + 1) * size)); });
}

// Folds partial(begin, end) -> T of every chunk of [0, n) into `init` with
// combine(T&, T&&), in chunk order: the same bytes at any thread count.
template <class T, class Partial, class Combine>
T parallel_reduce(std::size_t n, std::size_t chunk, const Parallel& options, T init, Partial&& partial,
                  Combine&& combine) {
  const std::size_t size = std::max<std::size_t>(chunk, 1);
  const std::size_t chunks = chunk_count(n, size);
  run_ordered(
      chunks, options,
      [&](std::size_t c, const Stop&) -> T { return partial(c * size, std::min(n, (c + 1) * size)); },
      [&](std::size_t, T&& part) { combine(init, std::move(part)); });
  return init;
}

// A team of threads for the loops inside one replicate's step (issue 16): the
// per-school and per-tie loops of the mechanisms and measures. The caller works
// as member 0 and `threads - 1` workers wait between loops, so a loop costs a
// wake-up, not a thread start. A member that finishes a loop spins for up to
// 50 microseconds before it blocks (a step starts its next loop sooner than a
// blocked thread wakes), so only a team left idle for longer sleeps. Each
// member takes a contiguous share of a loop's chunks first (the same schools
// loop after loop, so they stay in its core's cache), then helps with what is
// left of the others' shares. A loop is split into chunks whose bounds depend
// only on the range and the chunk size, never on the thread count; each chunk
// writes only its own results, and whatever is summed across chunks is summed
// by the caller in chunk order, so a step gives the same bytes at any thread
// count. A failure in any chunk stops the chunks not yet started and is
// rethrown on the caller (of the chunks that failed, the lowest-numbered).
class Team {
 public:
  explicit Team(std::int32_t threads = 1);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // Members, the caller included (at least 1).
  [[nodiscard]] std::int32_t threads() const { return threads_; }

  // Runs body(member, begin, end) for every chunk [begin, end) of [0, n).
  // `member` (0 .. threads() - 1) identifies the thread, for scratch space;
  // results must not depend on it.
  template <class Body>
  void for_chunks(std::size_t n, std::size_t chunk, Body&& body) const {
    const std::size_t size = std::max<std::size_t>(chunk, 1);
    const std::size_t chunks = chunk_count(n, size);
    if (threads_ <= 1 || chunks <= 1) {
      for (std::size_t c = 0; c < chunks; ++c)
        body(std::int32_t{0}, c * size, std::min(n, (c + 1) * size));
      return;
    }
    run(chunks, [&](std::size_t c, std::int32_t member) {
      body(member, c * size, std::min(n, (c + 1) * size));
    });
  }

 private:
  void run(std::size_t chunks, const std::function<void(std::size_t, std::int32_t)>& job) const;
  void work(std::int32_t member) const;

  struct Shared;
  static void take_chunks(Shared& sh, std::int32_t member,
                          const std::function<void(std::size_t, std::int32_t)>& job);
  std::int32_t threads_ = 1;
  std::unique_ptr<Shared> shared_;
};

// A team of one: the calling thread alone runs the chunks, one after another,
// with the same bounds as any team's. For loops given no team; it starts no
// thread, and any number of threads may use it at once.
const Team& lone_team();

}  // namespace schoolsim
