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
#include "sim/serve/live.hpp"

// After Eigen: httplib.h brings in <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

namespace schoolsim::serve {

namespace {

using Clock = std::chrono::steady_clock;
using live::Levers;
using live::World;

// ------------------------------------------------------------------ JSON text

void put_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void put_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  out += buf;
}

template <class Seq>
void put_array(std::string& out, const Seq& values, std::size_t from = 0) {
  out += '[';
  for (std::size_t i = from; i < static_cast<std::size_t>(values.size()); ++i) {
    if (i > from) out += ',';
    put_number(out, static_cast<double>(values[static_cast<decltype(values.size())>(i)]));
  }
  out += ']';
}

// `,"name":` (no comma before the first member of an object).
void put_key(std::string& out, std::string_view name) {
  if (out.back() != '{' && out.back() != '[') out += ',';
  put_string(out, name);
  out += ':';
}

template <class Seq>
void put_named(std::string& out, std::string_view name, const Seq& values) {
  put_key(out, name);
  put_array(out, values);
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":";
  put_string(out, message);
  return out + "}";
}

void put_levers(std::string& out, const Levers& l, const std::string& programme) {
  out += "{\"choice\":";
  put_number(out, l.choice);
  auto flag = [&](const char* name, bool v) { out += std::string(",\"") + name + "\":" + (v ? "true" : "false"); };
  flag("league_tables", l.league_tables);
  flag("collaboration", l.collaboration);
  flag("constructivism", l.constructivism);
  flag("social_capital", l.social_capital);
  flag("durkheim", l.durkheim);
  flag("social_movement", l.social_movement);
  out += ",\"area_strategy\":";
  put_string(out, l.area_strategy == live::kAreaStrategyOff   ? "off"
                  : l.area_strategy == live::kAreaStrategyAll ? "all"
                                                              : std::to_string(l.area_strategy));
  out += ",\"programme\":";
  put_string(out, programme);
  out += '}';
}

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
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof text);
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
  bool is_readable() const override {
    if (c_.pos < c_.buf.size()) return true;
    pollfd p{c_.fd, POLLIN, 0};
    return ::poll(&p, 1, ms_until(c_.deadline)) > 0;
  }
  bool is_writable() const override {
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
  socket_t socket() const override { return c_.fd; }

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
  ~Pool() override { shutdown(); }
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
  static thread_local Pool* current_;
  static thread_local bool streaming_here_;
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

inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;

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
            if (c.buf.size() > c.pos)
              refuse(c.fd, 408, "Request Timeout",
                     "the request did not arrive within " + std::to_string(static_cast<int>(o_.request_seconds)) +
                         " seconds");
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
  static thread_local bool close_after_;
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
      v4s.push_back(text);
    } else if (v6 && a->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a zone id in a URL
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      v6s.push_back(text);
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
  if (hosts.empty()) hosts.push_back("127.0.0.1");
  std::vector<std::string> out;
  for (const auto& h : hosts) out.push_back("http://" + url_host(h) + ":" + std::to_string(port) + "/");
  return out;
}

namespace {

// ------------------------------------------------------------------ sessions

// One browser tab's live simulation: one world, or two side by side.
struct Session {
  std::mutex mu;
  std::condition_variable cv;
  std::string id;
  std::string token;  // the secret that lets a request steer this session (issue 14)
  const Scenario& base;
  const Registry& registry;
  std::int32_t terms;
  bool compare = false;
  Levers levers;  // of the single world
  std::vector<std::unique_ptr<World>> worlds;
  bool playing = false;
  double speed = 2;  // terms per second
  Clock::time_point next_step{};
  std::uint64_t generation = 0;  // bumped by reset and mode changes: streams start again with hello
  std::uint64_t version = 0;     // bumped by every change
  int streams = 0;
  Clock::time_point last_seen = Clock::now();

  Session(std::string id_, std::string token_, const Scenario& base_, const Registry& registry_, std::int32_t terms_)
      : id(std::move(id_)), token(std::move(token_)), base(base_), registry(registry_), terms(terms_), levers(live::levers_of(base_, registry_)) {
    build(base.seed);
  }

  void build(std::uint64_t seed) {
    Scenario s = base;
    s.seed = seed;
    worlds.clear();
    if (compare) {
      worlds.push_back(std::make_unique<World>(s, registry, live::competitive_regime(levers), terms));
      worlds.push_back(std::make_unique<World>(s, registry, live::collaborative_regime(levers), terms));
    } else {
      worlds.push_back(std::make_unique<World>(s, registry, levers, terms));
    }
    playing = false;
    ++generation;
    changed();
  }
  void changed() {
    ++version;
    cv.notify_all();
  }
  void step() {
    for (auto& w : worlds) w->step();
  }
  std::int32_t terms_done() const { return worlds.front()->terms_done(); }
  bool finished() const { return worlds.front()->finished(); }
  std::int32_t areas() const {
    const State& s = worlds.front()->state();
    return s.n_schools() == 0 ? 0 : s.area.maxCoeff() + 1;
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

std::string status_json(const Session& s) {
  std::string out = std::string("{\"playing\":") + (s.playing ? "true" : "false") + ",\"speed\":";
  put_number(out, s.speed);
  return out + ",\"finished\":" + (s.finished() ? "true" : "false") + "}";
}

std::string hello_json(const Session& s) {
  const State& st = s.worlds.front()->state();
  std::string out = "{\"session\":";
  put_string(out, s.id);
  out += ",\"scenario\":";
  put_string(out, s.base.name);
  out += std::string(",\"mode\":\"") + (s.compare ? "compare" : "single") + "\",\"seed\":";
  put_number(out, static_cast<double>(s.worlds.front()->seed()));
  out += ",\"years\":" + std::to_string(s.terms / kTermsPerYear) +
         ",\"terms_per_year\":" + std::to_string(kTermsPerYear) + ",\"playing\":" + (s.playing ? "true" : "false") +
         ",\"speed\":";
  put_number(out, s.speed);
  out += ",\"levers\":";
  put_levers(out, s.levers, s.compare ? "none" : s.worlds.front()->programme_status());
  out += ",\"areas\":" + std::to_string(s.areas()) + ",\"schools\":{";
  put_named(out, "x", st.x);
  put_named(out, "y", st.y);
  put_named(out, "area", st.area);
  put_named(out, "phase", st.phase);
  put_named(out, "places", st.places);
  out += "},\"measures\":[";
  bool first = true;
  for (const auto& m : live::chart_measures()) {
    out += first ? "{" : ",{";
    first = false;
    for (auto [key, text] : {std::pair{"name", m.name}, {"label", m.label}, {"unit", m.unit}}) {
      put_key(out, key);
      put_string(out, text);
    }
    out += '}';
  }
  out += "],\"worlds\":[";
  const char* labels[] = {"Competitive", "Collaborative"};
  for (std::size_t w = 0; w < s.worlds.size(); ++w) {
    out += w ? ",{\"label\":" : "{\"label\":";
    put_string(out, s.compare ? labels[w] : "This school system");
    out += '}';
  }
  return out + "]}";
}

std::string frame_json(const Session& s, std::int32_t from_term) {
  const std::int32_t t = s.terms_done();
  std::string out = "{\"term\":" + std::to_string(t) +
                    ",\"year\":" + std::to_string(t == 0 ? 0 : (t - 1) / kTermsPerYear + 1) +
                    ",\"term_of_year\":" + std::to_string(t == 0 ? 0 : (t - 1) % kTermsPerYear + 1) +
                    ",\"playing\":" + (s.playing ? "true" : "false") + ",\"finished\":" +
                    (s.finished() ? "true" : "false") + ",\"levers\":";
  put_levers(out, s.levers, s.compare ? "none" : s.worlds.front()->programme_status());
  out += ",\"worlds\":[";
  for (std::size_t w = 0; w < s.worlds.size(); ++w) {
    const World& world = *s.worlds[w];
    const State& st = world.state();
    const std::int32_t n = st.n_schools();
    std::vector<double> attainment(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) attainment[static_cast<std::size_t>(i)] = school_result(st, i);
    out += w ? ",{" : "{";
    out += "\"levers\":";
    put_levers(out, world.levers(), world.programme_status());
    out += ",\"schools\":{";
    put_named(out, "pupils", st.pupils);
    put_named(out, "capacity", st.capacity);
    put_named(out, "expectations", st.expectations);
    put_named(out, "attainment", attainment);
    put_named(out, "disadvantaged", st.disadvantaged);
    put_named(out, "crisis", st.crisis);
    out += "},\"ties\":[";
    bool first = true;
    st.ties.for_each([&](TieStore::Slot slot) {
      out += first ? "[" : ",[";
      first = false;
      out += std::to_string(st.ties.id[slot]) + ',' + std::to_string(st.ties.a[slot]) + ',' +
             std::to_string(st.ties.b[slot]) + ',';
      put_number(out, st.ties.strength[slot]);
      out += ',' + std::to_string(static_cast<int>(st.ties.kind[slot])) + ']';
    });
    out += "],\"history\":{\"terms\":[";
    const auto& rows = world.measures();
    const std::int32_t from = std::max(0, from_term);
    for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k) {
      if (k > from) out += ',';
      out += std::to_string(k);
    }
    out += ']';
    const auto& measures = live::chart_measures();
    for (std::size_t m = 0; m < measures.size(); ++m) {
      std::vector<double> series;
      for (std::int32_t k = from; k < static_cast<std::int32_t>(rows.size()); ++k)
        series.push_back(rows[static_cast<std::size_t>(k)][m]);
      put_named(out, measures[m].name, series);
    }
    out += "}}";
  }
  return out + "]}";
}

// The events a stream has not yet sent, as SSE text.
std::string pending_events(const Session& s, Cursor& c) {
  std::string out;
  bool frame = c.version != s.version;
  if (c.generation != s.generation) {
    out += event("hello", hello_json(s));
    c.generation = s.generation;
    c.sent_term = -1;
    frame = true;
  }
  if (frame) {
    out += event("frame", frame_json(s, c.sent_term + 1));
    c.sent_term = s.terms_done();
    c.version = s.version;
  }
  std::string status = status_json(s);
  if (status != c.status) {
    out += event("status", status);
    c.status = std::move(status);
  }
  return out;
}

std::string school_json(const World& world, std::int32_t school) {
  const State& st = world.state();
  const World::SchoolHistory& h = world.history(school);
  std::string out = "{\"school\":" + std::to_string(school) + ",\"area\":" + std::to_string(st.area[school]) +
                    ",\"phase\":" + std::to_string(st.phase[school]) + ",\"terms\":[";
  for (std::size_t k = 0; k < h.pupils.size(); ++k) {
    if (k) out += ',';
    out += std::to_string(k);
  }
  out += ']';
  put_named(out, "capacity", h.capacity);
  put_named(out, "expectations", h.expectations);
  put_named(out, "attainment", h.attainment);
  put_named(out, "pupils", h.pupils);
  put_named(out, "disadvantaged", h.disadvantaged);
  put_named(out, "ties", h.ties);
  return out + "}";
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
  Server(const Scenario& scenario, const Registry& registry, const Options& options)
      : scenario_(scenario),
        registry_(registry),
        options_(options),
        terms_(std::max(scenario.years, options.min_years) * kTermsPerYear),
        http_(options_) {}

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
  std::optional<std::pair<int, std::string>> check_origin(const httplib::Request& req) const;
  bool allowed_host(const std::string& host_header) const;

  const Scenario& scenario_;
  const Registry& registry_;
  Options options_;
  std::int32_t terms_;
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
    reply(res, 200, "{\"ok\":true,\"sessions\":" + std::to_string(sessions_.size()) + "}");
  });
  http_.Post("/api/sessions", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(sessions_mu_);
    if (static_cast<std::int32_t>(sessions_.size()) >= options_.max_sessions)
      return reply(res, 503,
                   error_json("too many open sessions (" + std::to_string(options_.max_sessions) +
                              "): close some tabs, or wait " +
                              std::to_string(static_cast<long>(std::ceil(options_.idle_seconds))) +
                              " seconds for closed ones to be cleared"));
    // 128-bit names and secrets from the system's CSPRNG: a client that has
    // seen other sessions can neither guess this one nor steer it.
    const std::string id = random_hex(16), token = random_hex(16);
    sessions_[id] = std::make_shared<Session>(id, token, scenario_, registry_, terms_);
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
      if (!token_matches(req, s->token))
        return reply(res, 403, error_json("this session belongs to another tab: a request must carry its "
                                          "token (the X-Session-Token header, or the page's cookie)"));
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
              double world = 0;
              const std::string w = req.has_param("world") ? req.get_param_value("world") : "0";
              if (!live::parse_number(w, world) || world != std::floor(world) || world < 0 ||
                  world >= static_cast<double>(s->worlds.size()))
                return reply(res, 404, error_json("no world '" + w + "' in this session"));
              const World& wd = *s->worlds[static_cast<std::size_t>(world)];
              const std::string k = req.matches[2];
              if (k.size() > 9 || std::stoi(k) >= wd.state().n_schools())
                return reply(res, 404, error_json("no school " + k + ": this world has " +
                                                  std::to_string(wd.state().n_schools()) + " schools"));
              reply(res, 200, school_json(wd, std::stoi(k)));
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
    else if (res.status == 400 || res.status == 411)
      res.set_content(error_json("bad request: send a form-encoded body, even an empty one (curl -d '' ...)"),
                      "application/json");
    else
      res.set_content(error_json("HTTP status " + std::to_string(res.status)), "application/json");
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
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
            return stopping_.load() || s->version != cursor->version || s->generation != cursor->generation;
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
  const std::string value = req.get_param_value("value");
  std::lock_guard lock(s.mu);
  if (action == "play") {
    if (s.finished())
      return reply(res, 400, error_json("the run has reached its last term: press Reset to start again"));
    s.playing = true;
    s.next_step = Clock::now();
  } else if (action == "pause") {
    s.playing = false;
  } else if (action == "ping") {  // a hidden tab, keeping its session open without a stream
    return reply(res, 200, "{\"ok\":true}");
  } else if (action == "step") {
    s.playing = false;
    s.step();
  } else if (action == "reset") {
    std::uint64_t seed = s.worlds.front()->seed();
    if (req.has_param("seed")) {
      const std::string text = req.get_param_value("seed");
      if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        return reply(res, 400, error_json("seed: expected a whole number from 0 upwards, got '" +
                                          text.substr(0, 40) + "'"));
      seed = std::stoull(text);
    }
    s.build(seed);
  } else if (action == "speed") {
    double v = 0;
    if (!live::parse_number(value, v) || v < 0.5 || v > 20)
      return reply(res, 400, error_json("speed: expected terms per second from 0.5 to 20, got '" +
                                        value.substr(0, 40) + "'"));
    s.speed = v;
    s.next_step = Clock::now();
  } else if (action == "mode") {
    if (value != "single" && value != "compare")
      return reply(res, 400, error_json("mode: expected single or compare, got '" + value.substr(0, 40) + "'"));
    s.compare = value == "compare";
    s.build(s.worlds.front()->seed());
  } else {
    return reply(res, 400, error_json("action: expected play, pause, step, reset, speed, mode or ping, got '" +
                                      action.substr(0, 40) + "'"));
  }
  s.changed();
  reply(res, 200, "{\"ok\":true}");
}

void Server::handle_levers(Session& s, const httplib::Request& req, httplib::Response& res) {
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : req.params) fields[k] = v;
  std::lock_guard lock(s.mu);
  if (s.compare)
    return reply(res, 400,
                 error_json("levers are fixed while comparing regimes; switch back to one world first"));
  if (fields.empty())
    return reply(res, 400, error_json("no lever given: send for example choice=0.3 or league_tables=false"));
  live::LeverChange c = live::parse_levers(fields, s.levers, s.areas(), s.terms_done());
  if (!c.problems.empty()) {
    std::string all;
    for (const auto& p : c.problems) all += (all.empty() ? "" : "; ") + p;
    return reply(res, 400, error_json(all));
  }
  if (c.levers.programme_year >= 0 && c.levers.programme_year * kTermsPerYear >= s.terms)
    return reply(res, 400, error_json("programme: the run ends before the next school year starts"));
  s.levers = c.levers;
  s.worlds.front()->set_levers(s.levers);
  s.changed();
  std::string out = "{\"levers\":";
  put_levers(out, s.levers, s.worlds.front()->programme_status());
  reply(res, 200, out + "}");
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
    if (!s->playing || now < s->next_step) continue;
    s->step();
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / s->speed));
    s->next_step = now - s->next_step > std::chrono::milliseconds(500) ? now + interval : s->next_step + interval;
    if (s->finished()) s->playing = false;
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
  if (!allowed_host(host))
    return std::pair{421, "this server does not answer to '" + host.substr(0, 100) +
                              "': open it at an address it was started on (see docs/SECURITY.md; "
                              "serve --allow-host NAME adds a name)"};
  if (req.has_header("Origin") && lower(req.get_header_value("Origin")) != "http://" + lower(host))
    return std::pair{403, "requests from another site's page are refused (Origin '" +
                              req.get_header_value("Origin").substr(0, 100) + "')"};
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

int run_server(const Scenario& scenario, const Registry& registry, const Options& options,
               const std::atomic<bool>& stop, const std::function<void(int port)>& ready) {
  Server server(scenario, registry, options);
  return server.run(stop, ready);
}

const char* builtin_classroom_yaml() { return kClassroomYaml; }

}  // namespace schoolsim::serve
