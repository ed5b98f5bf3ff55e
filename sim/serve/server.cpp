// The HTTP interface of `schoolsim serve` (the page in sim/serve/web/ is its client):
//
//   GET  /, /app.js, /style.css        the page, built into the binary
//   POST /api/sessions                 a new live simulation for one tab -> {"id": ...}
//   GET  /api/sessions/ID/events       Server-Sent Events: hello, frame, status
//   POST /api/sessions/ID/control      action=play|pause|step|reset[&seed=N]|speed&value=X|mode&value=single|compare|ping
//   POST /api/sessions/ID/levers       choice=, league_tables=, collaboration=, constructivism=,
//                                      social_capital=, durkheim=, social_movement=,
//                                      area_strategy=off|all|K, programme=launch|none
//   GET  /api/sessions/ID/schools/K    one school's history (?world=W in a comparison)
//   GET  /api/sessions/ID              {"id": ...} while the session exists, else 404
//   GET  /api/health
//
// Request bodies are form-encoded; answers are JSON; a bad request gets 400 and
// {"error": "..."} naming every problem, and changes nothing. One ticker thread
// steps every playing session; each event stream waits on its session's
// condition variable and sends what changed since it last wrote.
#include "sim/serve/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "sim/serve/assets.hpp"
#include "sim/serve/classroom.hpp"
#include "sim/serve/live.hpp"

// After Eigen: httplib.h brings in <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

namespace schoolsim::serve {

namespace {

using Clock = std::chrono::steady_clock;
using live::error_json;
using live::put_string;

// ------------------------------------------------------------------ randomness

// Bytes from the operating system's CSPRNG, as lower-case hex.
std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("cannot read the system's random numbers: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Compares without stopping at the first difference, so timing tells nothing.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// ------------------------------------------------------------------ connections
//
// httplib answers each connection on one worker thread and restarts its read
// timeout with every byte, so a few slow or idle clients can hold every worker.
// Here a single poller thread gathers each request's headers and body (with one
// deadline for the whole request) and hands only complete requests to the
// workers. Event streams move to threads of their own (Pool::become_stream), so
// open tabs never take the workers that answer requests.

struct Conn;
void close_conn(Conn& c);

struct Conn {
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close_conn(*this); }  // a connection dropped unserved (at shutdown) is closed too
  int fd = -1;
  std::string ip;
  std::string buf;  // bytes read but not yet parsed
  std::size_t pos = 0;
  Clock::time_point deadline;
  std::int32_t served = 0;  // requests answered on this connection
  std::uint64_t seq = 0;
};

void close_conn(Conn& c) {
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    c.fd = -1;
  }
}

std::string peer_ip(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof text);
  }
  return text;
}

void ip_and_port(int fd, bool local, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int r = local ? getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ip.clear();
  port = 0;
  if (r != 0) return;
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

// Whether this thread serves an event stream (set by Pool::become_stream), and
// the connection it is answering.
thread_local bool t_streaming = false;
thread_local int t_conn_fd = -1;
bool streaming() { return t_streaming; }

// Whether the client of the connection this thread answers has hung up.
bool client_hung_up() {
  if (t_conn_fd < 0) return false;
  pollfd p{t_conn_fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLRDHUP));
}

int ms_until(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 60'000));
}

// A connection as httplib reads and writes it: bytes the poller gathered first,
// then the socket, all before one deadline; writes wait at most write_seconds.
class ConnStream : public httplib::Stream {
 public:
  ConnStream(Conn& c, double write_seconds) : c_(c), write_ms_(static_cast<int>(write_seconds * 1000)) {}
  [[nodiscard]] bool is_readable() const override {
    if (c_.pos < c_.buf.size()) return true;
    pollfd p{c_.fd, POLLIN, 0};
    return ::poll(&p, 1, ms_until(c_.deadline)) > 0;
  }
  [[nodiscard]] bool is_writable() const override {
    // An event stream ends as soon as its client hangs up (httplib asks before
    // each event), not at the next failed write.
    pollfd p{c_.fd, static_cast<short>(POLLOUT | (streaming() ? POLLRDHUP : 0)), 0};
    return ::poll(&p, 1, write_ms_) > 0 && !(p.revents & (POLLERR | POLLHUP | POLLRDHUP));
  }
  ssize_t read(char* ptr, size_t size) override {
    if (c_.pos < c_.buf.size()) {
      const std::size_t n = std::min(size, c_.buf.size() - c_.pos);
      std::memcpy(ptr, c_.buf.data() + c_.pos, n);
      c_.pos += n;
      if (c_.pos == c_.buf.size()) {
        c_.buf.clear();
        c_.pos = 0;
      }
      return static_cast<ssize_t>(n);
    }
    for (;;) {
      const int wait = ms_until(c_.deadline);
      if (wait <= 0) return -1;  // the whole request has had its time
      pollfd p{c_.fd, POLLIN, 0};
      const int r = ::poll(&p, 1, wait);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return -1;
      const ssize_t n = ::recv(c_.fd, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }
  ssize_t write(const char* ptr, size_t size) override {
    for (;;) {
      const ssize_t n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      pollfd p{c_.fd, POLLOUT, 0};
      if (::poll(&p, 1, write_ms_) <= 0) return -1;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip_and_port(c_.fd, false, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip_and_port(c_.fd, true, ip, port); }
  [[nodiscard]] socket_t socket() const override { return c_.fd; }

 private:
  Conn& c_;
  int write_ms_;
};

// Workers for requests, plus one thread per open event stream (at most
// `max_streams`), so the capacity for requests does not shrink as tabs open.
class Pool : public httplib::TaskQueue {
 public:
  Pool(std::size_t request_workers, std::size_t max_streams) : base_(request_workers), max_streams_(max_streams) {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < base_; ++i) spawn();
  }
  ~Pool() override { Pool::shutdown(); }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (shutdown_) return;
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (auto& t : threads) t.join();
  }
  // Called on a worker that is about to serve an event stream for a long time:
  // another thread takes its place. False when `max_streams` are open.
  static bool become_stream() {
    Pool* p = current_;
    if (!p) return false;
    std::lock_guard lock(p->mu_);
    if (p->streaming_ >= p->max_streams_ || p->shutdown_) return false;
    ++p->streaming_;
    streaming_here_ = true;
    t_streaming = true;
    if (p->threads_.size() - p->streaming_ < p->base_) p->spawn();
    return true;
  }
  static bool streaming_here() { return streaming_here_; }

 private:
  void spawn() {  // with mu_ held
    threads_.emplace_back([this] { work(); });
  }
  void work() {
    current_ = this;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
      if (streaming_here_) {
        std::lock_guard lock(mu_);
        --streaming_;
        streaming_here_ = false;
        t_streaming = false;
      }
    }
  }
  static thread_local Pool* current_;  // NOLINT(readability-identifier-naming): private: suffix _ (check sees statics as variables)
  static thread_local bool streaming_here_;  // NOLINT(readability-identifier-naming): private: suffix _ (check sees statics as variables)
  std::size_t base_, max_streams_, streaming_ = 0;
  bool shutdown_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
};
thread_local Pool* Pool::current_ = nullptr;
thread_local bool Pool::streaming_here_ = false;

// A short answer written straight to a connection that will not be served.
void refuse(int fd, int status, const char* reason, const std::string& message) {
  const std::string body = error_json(message);
  const std::string text = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
  [[maybe_unused]] const ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The size of a request's header block in `text` (0 if not complete yet).
std::size_t header_end(std::string_view text) {
  const std::size_t p = text.find("\r\n\r\n");
  return p == std::string_view::npos ? 0 : p + 4;
}

// One header's value from a header block (the first one named `name`, lower case).
std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  std::size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    const std::size_t start = line + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view h = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const std::size_t colon = h.find(':');
    if (colon != std::string_view::npos && lower(std::string(h.substr(0, colon))) == name) {
      std::string v(h.substr(colon + 1));
      const auto a = v.find_first_not_of(" \t"), b = v.find_last_not_of(" \t");
      return a == std::string::npos ? std::string() : v.substr(a, b - a + 1);
    }
    line = end;
  }
  return std::nullopt;
}

inline constexpr std::size_t kMaxHeaderBytes = std::size_t{8} * 1024;

// httplib's server with the connection handling above in place of its own.
class Http : public httplib::Server {
 public:
  explicit Http(const serve::Options& o) : o_(o) {
    new_task_queue = [this] {
      auto* p = new Pool(static_cast<std::size_t>(std::max(1, o_.request_workers)),
                         static_cast<std::size_t>(std::max(1, o_.max_sessions)) * 2 + 8);
      pool_ = p;
      return p;
    };
  }
  ~Http() override { stop_poller(); }
  void start_poller() {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("cannot create a pipe");
    poller_ = std::thread([this] { poll_loop(); });
  }
  void stop_poller() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
      for (auto& c : pending_) close_conn(*c);
      pending_.clear();
    }
    wake();
    if (poller_.joinable()) poller_.join();
    for (int& fd : wake_)
      if (fd >= 0) ::close(std::exchange(fd, -1));
  }
  // The request being answered on this thread ends its connection.
  static void close_after() { close_after_ = true; }

 private:
  bool process_and_close_socket(socket_t sock) override {
    auto c = std::make_shared<Conn>();
    c->fd = sock;
    c->ip = peer_ip(sock);
    add(std::move(c));
    return true;
  }

  void wake() {
    if (wake_[1] >= 0) {
      [[maybe_unused]] const ssize_t n = ::write(wake_[1], "x", 1);
    }
  }

  // A connection waiting for its next request; the oldest of a client (or of
  // all) makes way when too many are waiting.
  void add(std::shared_ptr<Conn> c) {
    c->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o_.request_seconds));
    std::lock_guard lock(mu_);
    if (stop_) return close_conn(*c);
    c->seq = ++seq_;
    std::int32_t same = 0;
    for (const auto& p : pending_) same += p->ip == c->ip;
    auto drop = [&](auto it) {
      refuse((*it)->fd, 408, "Request Timeout", "too many connections from one address are still sending requests");
      close_conn(**it);
      pending_.erase(it);
    };
    if (same >= o_.max_pending_per_client)
      drop(std::find_if(pending_.begin(), pending_.end(), [&](const auto& p) { return p->ip == c->ip; }));
    if (pending_.size() >= kMaxPending) drop(pending_.begin());
    pending_.push_back(std::move(c));
    wake();
  }

  enum class Verdict { wait, ready, refused };

  Verdict examine(Conn& c) {
    const std::string_view view = std::string_view(c.buf).substr(c.pos);
    const std::size_t head_size = header_end(view);
    if (head_size == 0 || head_size > kMaxHeaderBytes) {
      if (view.size() <= kMaxHeaderBytes && head_size == 0) return Verdict::wait;
      refuse(c.fd, 431, "Request Header Fields Too Large",
             "request headers larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
      return Verdict::refused;
    }
    const std::string_view head = view.substr(0, head_size);
    if (header_value(head, "transfer-encoding")) {
      refuse(c.fd, 411, "Length Required", "send the request body with a Content-Length, not in chunks");
      return Verdict::refused;
    }
    std::size_t length = 0;
    if (auto cl = header_value(head, "content-length")) {
      if (cl->empty() || cl->size() > 18 || cl->find_first_not_of("0123456789") != std::string::npos) {
        refuse(c.fd, 400, "Bad Request", "Content-Length is not a whole number");
        return Verdict::refused;
      }
      length = std::stoull(*cl);
      if (length > o_.max_body_bytes) {
        refuse(c.fd, 413, "Payload Too Large",
               "request body of " + std::to_string(length) + " bytes: at most " + std::to_string(o_.max_body_bytes) +
                   " are accepted");
        return Verdict::refused;
      }
    }
    return view.size() >= head_size + length ? Verdict::ready : Verdict::wait;
  }

  void poll_loop() {
    std::vector<pollfd> fds;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
        fds.assign(1, pollfd{wake_[0], POLLIN, 0});
        for (const auto& c : pending_) fds.push_back(pollfd{c->fd, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), 100);
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
      std::vector<std::shared_ptr<Conn>> ready;
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
        const auto now = Clock::now();
        for (std::size_t i = 0; i < pending_.size();) {
          Conn& c = *pending_[i];
          bool gone = false;
          char tmp[4096];
          while (c.buf.size() - c.pos <= kMaxHeaderBytes + o_.max_body_bytes) {
            const ssize_t n = ::recv(c.fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (n > 0) {
              c.buf.append(tmp, static_cast<std::size_t>(n));
              continue;
            }
            if (n < 0 && errno == EINTR) continue;
            gone = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            break;
          }
          Verdict v = examine(c);
          if (v == Verdict::wait && !gone && now > c.deadline) {
            // A request begun and not finished in time is answered; an idle
            // connection (kept alive, or opened and never used) is just closed.
            if (c.buf.size() > c.pos) {
              refuse(c.fd, 408, "Request Timeout",
                     "the request did not arrive within " + std::to_string(static_cast<int>(o_.request_seconds)) +
                         " seconds");
            }
            v = Verdict::refused;
          }
          if (v == Verdict::ready) {
            ready.push_back(std::move(pending_[i]));
          } else if (v == Verdict::refused || gone) {
            close_conn(c);
          } else {
            ++i;
            continue;
          }
          pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      for (auto& c : ready) {
        Pool* p = pool_.load();
        if (!p) {
          close_conn(*c);
          continue;
        }
        p->enqueue([this, c] { serve(c); });
      }
    }
  }

  // Answers the one complete request waiting on `c`; keeps the connection for
  // the next unless it ends here.
  void serve(const std::shared_ptr<Conn>& c) {
    ConnStream stream(*c, 5);
    close_after_ = false;
    bool closed = false;
    const bool last = ++c->served >= kMaxRequestsPerConnection;
    t_conn_fd = c->fd;
    const bool ok = process_request(stream, last, closed, {});
    t_conn_fd = -1;
    if (!ok || closed || last || close_after_ || Pool::streaming_here()) close_conn(*c);
    else add(c);
  }

  static constexpr std::size_t kMaxPending = 1024;
  static constexpr std::int32_t kMaxRequestsPerConnection = 1000;
  static thread_local bool close_after_;  // NOLINT(readability-identifier-naming): private: suffix _ (check sees statics as variables)
  const serve::Options& o_;
  std::atomic<Pool*> pool_{nullptr};
  std::mutex mu_;
  std::vector<std::shared_ptr<Conn>> pending_;
  std::uint64_t seq_ = 0;
  bool stop_ = false;
  int wake_[2] = {-1, -1};
  std::thread poller_;
};
thread_local bool Http::close_after_ = false;

// ------------------------------------------------------------------ addresses

bool wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host.empty(); }

// The machine's own IP addresses (IPv4 first), for a server on 0.0.0.0 or ::.
std::vector<std::string> own_addresses(bool v6) {
  std::vector<std::string> v4s, v6s;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    char text[INET6_ADDRSTRLEN] = "";
    if (a->ifa_addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
      v4s.emplace_back(text);
    } else if (v6 && a->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a zone id in a URL
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      v6s.emplace_back(text);
    }
  }
  freeifaddrs(list);
  // The network's addresses before loopback: those are the ones to share.
  auto loopback_last = [](std::vector<std::string>& v) {
    std::stable_partition(v.begin(), v.end(), [](const std::string& s) { return s != "127.0.0.1" && s != "::1"; });
  };
  loopback_last(v4s);
  loopback_last(v6s);
  v4s.insert(v4s.end(), v6s.begin(), v6s.end());
  v4s.erase(std::unique(v4s.begin(), v4s.end()), v4s.end());
  return v4s;
}

std::string url_host(const std::string& ip) { return ip.find(':') != std::string::npos ? "[" + ip + "]" : ip; }

}  // namespace

std::vector<std::string> listen_urls(const std::string& host, int port) {
  std::vector<std::string> hosts;
  if (wildcard(host)) hosts = own_addresses(host == "::");
  else hosts.push_back(host == "localhost" ? "127.0.0.1" : host);
  if (hosts.empty()) hosts.emplace_back("127.0.0.1");
  std::vector<std::string> out;
  out.reserve(hosts.size());
for (const auto& h : hosts) out.push_back("http://" + url_host(h) + ":" + std::to_string(port) + "/");
  return out;
}

namespace {

// ------------------------------------------------------------------ sessions

// One browser tab's live simulation (classroom.hpp), with what HTTP adds: a
// lock, the streams waiting for changes, and when it was last seen.
struct Session : live::Classroom {
  std::mutex mu;
  std::condition_variable cv;
  std::string id;
  std::string token;  // the secret that lets a request steer this session (issue 14)
  Clock::time_point next_step{};
  int streams = 0;
  Clock::time_point last_seen = Clock::now();

  Session(const std::string& session_id, std::string token_, const live::ClassroomScenarios& scenarios,
          const Registry& registry)
      : Classroom(session_id, scenarios, registry), id(session_id), token(std::move(token_)) {}
  void changed() {
    Classroom::changed();
    cv.notify_all();
  }
};

// What one event stream has sent so far.
struct Cursor {
  std::uint64_t generation = 0, version = 0;
  std::int32_t sent_term = -1;
  std::string status;
  Clock::time_point last_write = Clock::now();
};

std::string event(const char* name, const std::string& data) {
  return std::string("event: ") + name + "\ndata: " + data + "\n\n";
}

// The events a stream has not yet sent, as SSE text.
std::string pending_events(const Session& s, Cursor& c) {
  std::string out;
  bool frame = c.version != s.version();
  if (c.generation != s.generation()) {
    out += event("hello", s.hello_json());
    c.generation = s.generation();
    c.sent_term = -1;
    frame = true;
  }
  if (frame) {
    out += event("frame", s.frame_json(c.sent_term + 1));
    c.sent_term = s.terms_done();
    c.version = s.version();
  }
  std::string status = s.status_json();
  if (status != c.status) {
    out += event("status", status);
    c.status = std::move(status);
  }
  return out;
}

// Whether a request carries a session's token: as an X-Session-Token header, a
// token= parameter, or the schoolsim_token cookie the page was given.
bool token_matches(const httplib::Request& req, const std::string& token) {
  if (req.has_header("X-Session-Token")) return same_secret(req.get_header_value("X-Session-Token"), token);
  if (req.has_param("token")) return same_secret(req.get_param_value("token"), token);
  const std::size_t n = req.get_header_value_count("Cookie");
  for (std::size_t k = 0; k < n; ++k) {
    const std::string cookies = req.get_header_value("Cookie", k);
    std::size_t at = 0;
    while (at < cookies.size()) {
      std::size_t end = cookies.find(';', at);
      if (end == std::string::npos) end = cookies.size();
      std::string_view c = std::string_view(cookies).substr(at, end - at);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      if (c.substr(0, 16) == "schoolsim_token=" && same_secret(c.substr(16), token)) return true;
      at = end + 1;
    }
  }
  return false;
}

// ------------------------------------------------------------------ the server

class Server {
 public:
  Server(const live::ClassroomScenarios& scenarios, const Registry& registry, Options options)
      : scenarios_(scenarios), registry_(registry), options_(std::move(options)), http_(options_) {}

  int run(const std::atomic<bool>& stop, const std::function<void(int)>& ready);

 private:
  void routes();
  std::shared_ptr<Session> find(const std::string& id);
  void tick();
  static void reply(httplib::Response& res, int status, const std::string& json) {
    res.status = status;
    res.set_content(json, "application/json");
  }
  void handle_control(Session& s, const httplib::Request& req, httplib::Response& res);
  void handle_levers(Session& s, const httplib::Request& req, httplib::Response& res);
  void handle_events(const std::shared_ptr<Session>& s, const httplib::Request& req, httplib::Response& res);
  [[nodiscard]] std::optional<std::pair<int, std::string>> check_origin(const httplib::Request& req) const;
  [[nodiscard]] bool allowed_host(const std::string& host_header) const;

  const live::ClassroomScenarios& scenarios_;
  const Registry& registry_;
  Options options_;
  Http http_;
  int port_ = 0;
  std::set<std::string> hosts_;  // names and addresses this server answers to, lower case
  std::mutex sessions_mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::map<std::string, std::int32_t> client_streams_;  // open event streams per client address
  std::atomic<bool> stopping_{false};
};

std::shared_ptr<Session> Server::find(const std::string& id) {
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Server::routes() {
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    const Asset& a = kAssets[i];
    http_.Get(a.path, [&a](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(a.body, a.type);
    });
  }
  http_.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(sessions_mu_);
    reply(res, 200, R"({"ok":true,"sessions":)" + std::to_string(sessions_.size()) + "}");
  });
  http_.Post("/api/sessions", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(sessions_mu_);
    if (static_cast<std::int32_t>(sessions_.size()) >= options_.max_sessions) {
      return reply(res, 503,
                   error_json("too many open sessions (" + std::to_string(options_.max_sessions) +
                              "): close some tabs, or wait " +
                              std::to_string(static_cast<long>(std::ceil(options_.idle_seconds))) +
                              " seconds for closed ones to be cleared"));
    }
    // 128-bit names and secrets from the system's CSPRNG: a client that has
    // seen other sessions can neither guess this one nor steer it.
    const std::string id = random_hex(16), token = random_hex(16);
    sessions_[id] = std::make_shared<Session>(id, token, scenarios_, registry_);
    // The page keeps the token as a cookie scoped to its own session; other
    // clients may send it as an X-Session-Token header.
    res.set_header("Set-Cookie", "schoolsim_token=" + token + "; Path=/api/sessions/" + id +
                                     "; HttpOnly; SameSite=Strict; Max-Age=86400");
    std::string out = "{\"id\":";
    put_string(out, id);
    out += ",\"token\":";
    put_string(out, token);
    reply(res, 200, out + "}");
  });
  const std::string session = "/api/sessions/([0-9a-f]+)";
  auto with_session = [this](auto handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      auto s = find(req.matches[1]);
      if (!s) return reply(res, 404, error_json("no session '" + std::string(req.matches[1]).substr(0, 64) +
                                                "': it was closed; reload the page to start a new one"));
      if (!token_matches(req, s->token)) {
        return reply(res, 403, error_json("this session belongs to another tab: a request must carry its "
                                          "token (the X-Session-Token header, or the page's cookie)"));
      }
      {
        std::lock_guard lock(s->mu);
        s->last_seen = Clock::now();
      }
      handler(s, req, res);
    };
  };
  http_.Get(session, with_session([](const std::shared_ptr<Session>& s, const httplib::Request&, httplib::Response& res) {
              std::string out = "{\"id\":";
              put_string(out, s->id);
              reply(res, 200, out + "}");
            }));
  http_.Get(session + "/events", with_session([this](const std::shared_ptr<Session>& s, const httplib::Request& req,
                                                     httplib::Response& res) { handle_events(s, req, res); }));
  http_.Post(session + "/control",
             with_session([this](const std::shared_ptr<Session>& s, const httplib::Request& req,
                                 httplib::Response& res) { handle_control(*s, req, res); }));
  http_.Post(session + "/levers",
             with_session([this](const std::shared_ptr<Session>& s, const httplib::Request& req,
                                 httplib::Response& res) { handle_levers(*s, req, res); }));
  http_.Get(session + "/schools/([0-9]+)",
            with_session([](const std::shared_ptr<Session>& s, const httplib::Request& req, httplib::Response& res) {
              std::lock_guard lock(s->mu);
              const std::string w = req.has_param("world") ? req.get_param_value("world") : "0";
              const live::Reply r = s->school_json(w, req.matches[2]);
              reply(res, r.status, r.json);
            }));
  // Before anything else (and before a body is read): the Host must be one this
  // server was started on, and a browser's request must come from its own page.
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (auto problem = check_origin(req)) {
      reply(res, problem->first, error_json(problem->second));
      Http::close_after();
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_payload_max_length(options_.max_body_bytes);
  http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      return res.set_content(error_json("request body too large"), "application/json");
    if (res.status == 404) res.set_content(error_json("no such page: " + req.path), "application/json");
    else if (res.status == 400 || res.status == 411) {
      res.set_content(error_json("bad request: send a form-encoded body, even an empty one (curl -d '' ...)"),
                      "application/json");
    } else {
      res.set_content(error_json("HTTP status " + std::to_string(res.status)), "application/json");
    }
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(std::move(ep));
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    reply(res, 500, error_json("schoolsim failed: " + what));
  });
}

void Server::handle_events(const std::shared_ptr<Session>& s, const httplib::Request& req,
                           httplib::Response& res) {
  const std::string client = req.remote_addr;
  {
    std::lock_guard lock(sessions_mu_);
    std::lock_guard sl(s->mu);
    if (s->streams >= options_.max_streams_per_session) {
      Http::close_after();
      return reply(res, 429, error_json("this session already has " + std::to_string(s->streams) +
                                        " event streams open; close other tabs showing it"));
    }
    if (client_streams_[client] >= options_.max_streams_per_client) {
      Http::close_after();
      return reply(res, 429, error_json("this computer already has " + std::to_string(client_streams_[client]) +
                                        " event streams open; close some tabs"));
    }
    if (!Pool::become_stream()) {
      Http::close_after();
      return reply(res, 503, error_json("the server has as many event streams open as it serves; close some tabs"));
    }
    ++s->streams;
    ++client_streams_[client];
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto cursor = std::make_shared<Cursor>();
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, s, cursor](std::size_t, httplib::DataSink& sink) {
        std::string out;
        {
          std::unique_lock lock(s->mu);
          s->cv.wait_for(lock, std::chrono::milliseconds(200), [&] {
            return stopping_.load() || s->version() != cursor->version || s->generation() != cursor->generation;
          });
          if (stopping_) return false;
          if (client_hung_up()) return false;  // a closed tab frees its stream at once
          s->last_seen = Clock::now();
          out = pending_events(*s, *cursor);
        }
        const auto now = Clock::now();
        if (out.empty() &&
            now - cursor->last_write > std::chrono::duration<double>(options_.keepalive_seconds))
          out = ": keep-alive\n\n";
        if (out.empty()) return true;
        cursor->last_write = now;
        return sink.write(out.data(), out.size());
      },
      [this, s, client](bool) {
        std::lock_guard lock(sessions_mu_);
        std::lock_guard sl(s->mu);
        --s->streams;
        s->last_seen = Clock::now();
        if (--client_streams_[client] <= 0) client_streams_.erase(client);
      });
}

void Server::handle_control(Session& s, const httplib::Request& req, httplib::Response& res) {
  const std::string action = req.get_param_value("action");
  std::optional<std::string> seed;
  if (req.has_param("seed")) seed = req.get_param_value("seed");
  std::lock_guard lock(s.mu);
  const live::Reply r = s.control(action, req.get_param_value("value"), seed);
  if (r.status == 200 && (action == "play" || action == "speed")) s.next_step = Clock::now();
  s.cv.notify_all();
  reply(res, r.status, r.json);
}

void Server::handle_levers(Session& s, const httplib::Request& req, httplib::Response& res) {
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : req.params) fields[k] = v;
  std::lock_guard lock(s.mu);
  const live::Reply r = s.set_levers(fields);
  s.cv.notify_all();
  reply(res, r.status, r.json);
}

void Server::tick() {
  const auto now = Clock::now();
  std::vector<std::shared_ptr<Session>> list;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      bool idle = false;
      {
        std::lock_guard sl(it->second->mu);
        idle = it->second->streams == 0 &&
               now - it->second->last_seen > std::chrono::duration<double>(options_.idle_seconds);
      }
      if (idle) it = sessions_.erase(it);
      else list.push_back((it++)->second);
    }
  }
  for (auto& s : list) {
    std::lock_guard lock(s->mu);
    if (!s->playing() || now < s->next_step) continue;
    s->step();
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / s->speed()));
    s->next_step = now - s->next_step > std::chrono::milliseconds(500) ? now + interval : s->next_step + interval;
    if (s->finished()) s->set_playing(false);
    s->changed();
  }
}

bool Server::allowed_host(const std::string& host_header) const {
  const std::string h = lower(host_header);
  std::string name, port;
  if (!h.empty() && h.front() == '[') {
    const std::size_t close = h.find(']');
    if (close == std::string::npos) return false;
    name = h.substr(1, close - 1);
    if (close + 1 < h.size()) {
      if (h[close + 1] != ':') return false;
      port = h.substr(close + 2);
    }
  } else {
    const std::size_t colon = h.rfind(':');
    name = h.substr(0, colon);
    if (colon != std::string::npos) port = h.substr(colon + 1);
  }
  if (!name.empty() && name.back() == '.') name.pop_back();  // "localhost." is localhost
  if (port.empty() ? port_ != 80 : port != std::to_string(port_)) return false;
  return hosts_.count(name) > 0;
}

std::optional<std::pair<int, std::string>> Server::check_origin(const httplib::Request& req) const {
  const std::string host = req.get_header_value("Host");
  if (host.empty()) return std::pair{421, std::string("the request has no Host header")};
  if (!allowed_host(host)) {
    return std::pair{421, "this server does not answer to '" + host.substr(0, 100) +
                              "': open it at an address it was started on (see docs/SECURITY.md; "
                              "serve --allow-host NAME adds a name)"};
  }
  if (req.has_header("Origin") && lower(req.get_header_value("Origin")) != "http://" + lower(host)) {
    return std::pair{403, "requests from another site's page are refused (Origin '" +
                              req.get_header_value("Origin").substr(0, 100) + "')"};
  }
  if (req.get_header_value("Sec-Fetch-Site") == "cross-site")
    return std::pair{403, std::string("requests from another site's page are refused")};
  return std::nullopt;
}

int Server::run(const std::atomic<bool>& stop, const std::function<void(int)>& ready) {
  routes();
  // The listening socket, to raise httplib's listen backlog (5) once bound.
  int listen_fd = -1;
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second server
  // share the port, and the kernel would spread a page's requests over both.
  http_.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  int port = options_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(options_.host);
    if (port < 0) port = 0;
  } else if (!http_.bind_to_port(options_.host, port)) {
    port = 0;
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "schoolsim: error: cannot listen on %s:%d (is another program using that port? "
                 "--port 0 picks a free one)\n",
                 options_.host.c_str(), options_.port);
    return 1;
  }
  if (listen_fd >= 0) ::listen(listen_fd, kListenBacklog);  // a second listen() sets the backlog
  port_ = port;
  for (const char* name : {"localhost", "127.0.0.1", "::1"}) hosts_.insert(name);
  std::string bound = lower(options_.host);
  if (bound.size() > 2 && bound.front() == '[' && bound.back() == ']') bound = bound.substr(1, bound.size() - 2);
  hosts_.insert(bound);
  for (const auto& h : options_.allowed_hosts) hosts_.insert(lower(h));
  if (wildcard(options_.host)) {
    for (const auto& a : own_addresses(true)) hosts_.insert(lower(a));
    char name[256] = "";
    if (gethostname(name, sizeof name - 1) == 0 && name[0]) {
      hosts_.insert(lower(name));
      hosts_.insert(lower(name) + ".local");
    }
  }
  http_.start_poller();
  std::thread listener([this] { http_.listen_after_bind(); });
  std::thread ticker([this] {
    while (!stopping_) {
      tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ready(port);
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stopping_ = true;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) s->cv.notify_all();
  }
  http_.stop_poller();
  http_.stop();
  listener.join();
  ticker.join();
  return 0;
}

}  // namespace

int run_server(const live::ClassroomScenarios& scenarios, const Registry& registry, const Options& options,
               const std::atomic<bool>& stop, const std::function<void(int port)>& ready) {
  Server server(scenarios, registry, options);
  return server.run(stop, ready);
}

const char* builtin_classroom_yaml() { return kClassroomYaml; }

}  // namespace schoolsim::serve
