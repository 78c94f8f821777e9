#include "config_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <csignal>
#include <string_view>
#include <thread>

#include "kpolicy/json.h"

namespace kpolicy::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;

// A GET carries no body and a client's headers are a few hundred bytes; the
// limits refuse what no client of this endpoint sends.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 1024;
constexpr std::chrono::seconds kIdleTimeout{10};

Response JsonResponse(http::status status, unsigned version, std::string body) {
  Response res{status, version};
  res.set(http::field::server, "kpolicy");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string ErrorBody(std::string_view error, std::string_view detail_key, std::string_view detail) {
  JsonWriter w;
  w.BeginObject().Key("error").String(error).Key(detail_key).String(detail).EndObject();
  return w.text();
}

// The whole of the server's HTTP behaviour, request in, response out.
Response Route(const http::request<http::string_body>& req, const std::string& document) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  Response res;
  if (target != kEffectiveConfigPath) {
    res = JsonResponse(http::status::not_found, req.version(),
                       ErrorBody("no such path; the one served is " + std::string(kEffectiveConfigPath), "path",
                                 target));
  } else if (req.method() == http::verb::get) {
    res = JsonResponse(http::status::ok, req.version(), document);
  } else if (req.method() == http::verb::head) {
    res = JsonResponse(http::status::ok, req.version(), "");
    res.content_length(document.size());  // the headers a GET would have, no body
  } else {
    res = JsonResponse(http::status::method_not_allowed, req.version(),
                       ErrorBody("method not allowed", "method", std::string(req.method_string())));
    res.set(http::field::allow, "GET, HEAD");
  }
  res.keep_alive(req.keep_alive());
  return res;
}

// The answer to a request Beast could not read; the connection closes after it.
Response Refusal(const beast::error_code& ec) {
  http::status status = http::status::bad_request;
  if (ec == http::error::header_limit) status = http::status::request_header_fields_too_large;
  if (ec == http::error::body_limit) status = http::status::payload_too_large;
  Response res = JsonResponse(status, 11, ErrorBody("request refused", "reason", ec.message()));
  res.keep_alive(false);
  return res;
}

// One connection: read a request, answer it, again while it is kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const std::string> document)
      : stream_(std::move(socket)), document_(std::move(document)) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset) {
      return Close();
    }
    Write(ec ? Refusal(ec) : Route(parser_->get(), *document_));
  }

  void Write(Response res) {
    response_ = std::move(res);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::shared_ptr<const std::string> document_;
};

}  // namespace

// Declared in this order so that the acceptor closes before the io_context
// that owns its handlers goes away.
struct EffectiveConfigServer::State {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::shared_ptr<const std::string> document;
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<Session>(std::move(socket), document)->Read();
      if (acceptor.is_open()) Accept();
    });
  }
};

Expected<std::unique_ptr<EffectiveConfigServer>> EffectiveConfigServer::Start(uint16_t port, std::string document) {
  auto state = std::make_unique<State>();
  state->document = std::make_shared<const std::string>(std::move(document));
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port);
  beast::error_code ec;
  state->acceptor.open(endpoint.protocol(), ec);
  // A restarted run may take back its port while the last one's
  // connections sit in TIME_WAIT.
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidArgument, "cannot serve on 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
  }
  const uint16_t bound = state->acceptor.local_endpoint().port();
  state->Accept();
  State* s = state.get();
  state->thread = std::thread([s] { s->ioc.run(); });
  return std::unique_ptr<EffectiveConfigServer>(new EffectiveConfigServer(std::move(state), bound));
}

EffectiveConfigServer::EffectiveConfigServer(std::unique_ptr<State> state, uint16_t port)
    : state_(std::move(state)), port_(port) {}

EffectiveConfigServer::~EffectiveConfigServer() { Stop(); }

std::string EffectiveConfigServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + kEffectiveConfigPath;
}

void EffectiveConfigServer::Stop() {
  if (!state_->thread.joinable()) return;
  state_->ioc.stop();
  state_->thread.join();
  beast::error_code ignored;
  state_->acceptor.close(ignored);
}

struct StopSignals::State {
  asio::io_context ioc{1};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
};

StopSignals::StopSignals() : state_(std::make_unique<State>()) {}
StopSignals::~StopSignals() = default;

StopReason StopSignals::Wait(std::optional<std::chrono::milliseconds> limit) {
  asio::io_context& ioc = state_->ioc;
  StopReason reason = StopReason::kDuration;
  state_->signals.async_wait([&](beast::error_code ec, int) {
    if (ec) return;  // cancelled below
    reason = StopReason::kSignal;
    ioc.stop();
  });
  asio::steady_timer timer(ioc);
  if (limit) {
    timer.expires_after(*limit);
    timer.async_wait([&](beast::error_code ec) {
      if (!ec) ioc.stop();
    });
  }
  ioc.restart();
  ioc.run();
  // Whichever wait did not finish is cancelled and its handler run now,
  // while what it refers to is still alive.
  state_->signals.cancel();
  timer.cancel();
  ioc.restart();
  ioc.poll();
  return reason;
}

}  // namespace kpolicy::tools
