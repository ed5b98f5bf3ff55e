#include "sim/parallel.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace schoolsim::detail {

void run_indexed(std::size_t n, const Parallel& options, const std::function<void(std::size_t, const Stop&)>& work,
                 const std::function<void(std::size_t)>& deliver) {
  std::atomic<bool> own{false};
  const Stop stop(options.cancel, &own);
  const auto threads = static_cast<std::size_t>(std::max<std::int64_t>(
      1, std::min<std::int64_t>(options.threads, static_cast<std::int64_t>(n))));
  if (threads == 1) {
    for (std::size_t i = 0; i < n; ++i) {
      if (stop.requested()) throw Interrupted();
      work(i, stop);
      deliver(i);
    }
    return;
  }

  const std::size_t window = std::max<std::size_t>(1, options.window ? options.window : 2 * threads);
  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu:
  std::vector<char> done(n, 0);
  std::size_t next = 0;       // the next task to start
  std::size_t delivered = 0;  // results handed to the sink
  struct Failure {
    std::size_t index;
    std::exception_ptr error;
    bool interrupted;
  };
  std::optional<Failure> failure;
  // A real error outranks Interrupted (the others' reaction to it); among
  // errors of one kind, the lowest task index wins.
  auto record = [&](std::size_t i, std::exception_ptr e, bool interrupted) {
    if (!failure || (failure->interrupted && !interrupted) ||
        (failure->interrupted == interrupted && i < failure->index))
      failure = Failure{i, std::move(e), interrupted};
    own = true;
  };

  auto worker = [&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return own.load() || next >= n || next < delivered + window; });
      if (own.load() || next >= n) return;
      if (stop.requested()) {  // the caller cancelled: start nothing more
        own = true;
        cv.notify_all();
        return;
      }
      const std::size_t i = next++;
      lock.unlock();
      std::exception_ptr error;
      bool interrupted = false;
      try {
        work(i, stop);
      } catch (const Interrupted&) {
        error = std::current_exception();
        interrupted = true;
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error) {
        record(i, std::move(error), interrupted);
      } else {
        done[i] = 1;
      }
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  auto stop_and_join = [&] {
    {
      std::lock_guard lock(mu);
      own = true;
    }
    cv.notify_all();
    for (auto& t : pool) t.join();
  };
  try {
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  } catch (...) {
    stop_and_join();
    throw;
  }

  std::exception_ptr sink_error;
  bool all = true;
  for (std::size_t i = 0; i < n; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done[i] || own.load(); });
      if (own.load()) {
        all = false;
        break;
      }
    }
    if (options.cancel && options.cancel->load()) {
      all = false;
      break;
    }
    try {
      deliver(i);
    } catch (...) {
      sink_error = std::current_exception();
      all = false;
      break;
    }
    {
      std::lock_guard lock(mu);
      ++delivered;
    }
    cv.notify_all();
  }
  stop_and_join();
  if (sink_error) std::rethrow_exception(sink_error);
  if (failure) std::rethrow_exception(failure->error);
  if (!all) throw Interrupted();
}

}  // namespace schoolsim::detail

namespace schoolsim {

struct Team::Shared {
  std::mutex mu;
  std::condition_variable wake, done;
  // Guarded by mu:
  const std::function<void(std::size_t, std::int32_t)>* job = nullptr;
  // Loops started; written under mu, read without it by a member spinning
  // before it blocks.
  std::atomic<std::uint64_t> generation{0};
  // Whether workers may still join the current loop: the caller closes it once
  // it finds no chunk left, and then waits only for the workers that joined
  // (still running a chunk), not for those yet to wake.
  bool open = false;
  std::atomic<std::int32_t> active{0};  // workers that joined the current loop and have not left it
  bool quit = false;
  std::size_t failed_chunk = 0;
  std::exception_ptr failure;
  // Each member's share of the current loop's chunks: a contiguous run, so a
  // member works on the same schools loop after loop and finds them in its own
  // core's cache. A member takes its own share's chunks first, front to back,
  // then the chunks left in the others' shares. One cache line per share, so
  // taking a chunk of one's own moves no line between cores.
  struct alignas(64) Share {
    std::atomic<std::size_t> next{0};  // the share's next chunk to take
    std::size_t end = 0;               // one past its last chunk
  };
  std::vector<Share> shares;
  std::vector<std::thread> workers;
};

Team::Team(std::int32_t threads)
    : threads_(std::max<std::int32_t>(1, threads)), shared_(std::make_unique<Shared>()) {
  shared_->shares = std::vector<Shared::Share>(static_cast<std::size_t>(threads_));
  try {
    for (std::int32_t m = 1; m < threads_; ++m)
      shared_->workers.emplace_back([this, m] { work(m); });
  } catch (...) {
    {
      std::lock_guard lock(shared_->mu);
      shared_->quit = true;
    }
    shared_->wake.notify_all();
    for (auto& t : shared_->workers) t.join();
    throw;
  }
}

Team::~Team() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->quit = true;
  }
  shared_->wake.notify_all();
  for (auto& t : shared_->workers) t.join();
}

namespace {
// How long a member spins on a condition before it blocks. A step runs its
// loops a few microseconds apart, and waking a blocked thread costs tens of
// microseconds (more on a virtual machine), so a member that blocked at once
// would miss the start of most short loops; a member that spins longer than
// this between two loops sleeps, so an idle team costs no CPU.
constexpr auto kSpin = std::chrono::microseconds(50);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until ready() or kSpin has passed; whether ready() came true.
template <class Ready>
bool spin_until(Ready&& ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (std::uint32_t k = 1;; ++k) {
    if (ready()) return true;
    cpu_relax();
    if (k % 64 == 0 && std::chrono::steady_clock::now() >= until) return ready();
  }
}

}  // namespace

// Takes chunks until none is left: the member's own share, then what is left
// of the others' (in member order from the next one). A failure is kept (the
// lowest chunk's) and stops the chunks not yet taken.
void Team::take_chunks(Shared& sh, std::int32_t member,
                       const std::function<void(std::size_t, std::int32_t)>& job) {
  const std::size_t members = sh.shares.size();
  for (std::size_t k = 0; k < members; ++k) {
    auto& share = sh.shares[(static_cast<std::size_t>(member) + k) % members];
    for (;;) {
      const std::size_t c = share.next.fetch_add(1, std::memory_order_relaxed);
      if (c >= share.end) break;
      try {
        job(c, member);
      } catch (...) {
        {
          std::lock_guard lock(sh.mu);
          if (!sh.failure || c < sh.failed_chunk)
            sh.failure = std::current_exception(), sh.failed_chunk = c;
        }
        for (auto& other : sh.shares) other.next.store(other.end, std::memory_order_relaxed);
        return;
      }
    }
  }
}

void Team::work(std::int32_t member) const {
  Shared& sh = *shared_;
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(std::size_t, std::int32_t)>* job = nullptr;
    spin_until([&] { return sh.generation.load(std::memory_order_acquire) != seen; });
    {
      std::unique_lock lock(sh.mu);
      sh.wake.wait(lock, [&] { return sh.quit || sh.generation != seen; });
      if (sh.quit) return;
      seen = sh.generation;
      if (!sh.open) continue;  // woke after the loop was done: nothing to take
      ++sh.active;
      job = sh.job;
    }
    take_chunks(sh, member, *job);
    {
      std::lock_guard lock(sh.mu);
      if (--sh.active == 0) sh.done.notify_one();
    }
  }
}

void Team::run(std::size_t chunks,
               const std::function<void(std::size_t, std::int32_t)>& job) const {
  Shared& sh = *shared_;
  {
    std::lock_guard lock(sh.mu);
    sh.job = &job;
    const auto members = sh.shares.size();
    for (std::size_t m = 0; m < members; ++m) {
      sh.shares[m].next.store(chunks * m / members, std::memory_order_relaxed);
      sh.shares[m].end = chunks * (m + 1) / members;
    }
    sh.failure = nullptr;
    sh.open = true;
    sh.active = 0;
    ++sh.generation;
  }
  sh.wake.notify_all();
  take_chunks(sh, 0, job);
  std::exception_ptr failure;
  {
    std::unique_lock lock(sh.mu);
    sh.open = false;
    // A worker still in a chunk usually leaves it within microseconds: spin
    // (unlocked) for that before blocking on its notification.
    if (sh.active != 0) {
      lock.unlock();
      spin_until([&] { return sh.active.load(std::memory_order_acquire) == 0; });
      lock.lock();
    }
    sh.done.wait(lock, [&] { return sh.active == 0; });
    sh.job = nullptr;
    failure = std::exchange(sh.failure, nullptr);
  }
  if (failure) std::rethrow_exception(failure);
}

const Team& lone_team() {
  static const Team lone(1);
  return lone;
}

}  // namespace schoolsim
