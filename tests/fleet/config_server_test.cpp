// The effective configuration as a service: EffectiveConfigServer answered
// over loopback TCP by a Boost.Beast client (tests/fleet/serve_curl_test.sh
// does the same through curl against `policyctl run --serve`). Every socket
// has a 5 s timeout, so a server that does not answer fails the test rather
// than hanging it.
#define BOOST_TEST_MODULE config_server
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <csignal>
#include <filesystem>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "config_server.h"
#include "kpolicy/device_catalog.h"
#include "kpolicy/json.h"
#include "kpolicy/runtime/runtime.h"

namespace kpolicy::tools {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The document a policyctl run on an H100 + L4 host would serve.
std::string MixedHostConfig() {
  runtime::StartOptions o;
  o.environment = Environment();
  o.system_policy_path = (std::filesystem::temp_directory_path() / "kpolicy-no-such-policy.yaml").string();
  o.probe = runtime::DeviceProbe::Fixed({FindCatalogDevice("h100")->ToFacts(), FindCatalogDevice("l4")->ToFacts()});
  auto rt = runtime::Runtime::Start(o);
  if (!rt.ok()) BOOST_FAIL("startup failed: " + rt.error().message);
  return (*rt)->EffectiveConfigJson(2);
}

std::unique_ptr<EffectiveConfigServer> MustServe(std::string document) {
  auto server = EffectiveConfigServer::Start(0, std::move(document));
  if (!server.ok()) BOOST_FAIL(server.error().message);
  return std::move(server).value();
}

struct Client {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;

  explicit Client(uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    const timeval five_seconds{5, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &five_seconds, sizeof five_seconds);
  }

  http::response<http::string_body> Ask(http::verb method, const std::string& target, bool keep_alive = true) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    http::write(socket, req);
    return Read(method == http::verb::head);
  }

  http::response<http::string_body> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a HEAD answer has a Content-Length and no body
    http::read(socket, buffer, parser);
    return parser.release();
  }

  // The server has closed this connection: a read ends at EOF.
  bool Closed() {
    char byte;
    beast::error_code ec;
    socket.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof;
  }
};

BOOST_AUTO_TEST_CASE(get_serves_the_document_as_json) {
  const std::string document = MixedHostConfig();
  auto server = MustServe(document);
  BOOST_TEST(server->url() == "http://127.0.0.1:" + std::to_string(server->port()) + "/v1/effective-config");
  Client client(server->port());
  auto res = client.Ask(http::verb::get, "/v1/effective-config");
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(std::string(res[http::field::content_type]) == "application/json");
  BOOST_TEST(res.body() == document);
  auto json = ParseJson(res.body());
  BOOST_REQUIRE(json.ok());
  BOOST_TEST(json->Find("devices")->items.size() == 2u);  // the H100 and the L4
  // Kept alive: a second request on the same connection, query string ignored.
  auto again = client.Ask(http::verb::get, "/v1/effective-config?pretty=1");
  BOOST_TEST(again.result_int() == 200u);
  BOOST_TEST(again.body() == document);
}

BOOST_AUTO_TEST_CASE(head_has_the_length_and_no_body) {
  const std::string document = MixedHostConfig();
  auto server = MustServe(document);
  Client client(server->port());
  auto res = client.Ask(http::verb::head, "/v1/effective-config");
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(std::string(res[http::field::content_length]) == std::to_string(document.size()));
  BOOST_TEST(res.body().empty());
  BOOST_TEST(client.Ask(http::verb::get, "/v1/effective-config").body() == document);  // the stream is still in step
}

BOOST_AUTO_TEST_CASE(other_methods_are_405_and_other_paths_404) {
  auto server = MustServe("{}");
  Client client(server->port());
  for (http::verb method : {http::verb::post, http::verb::put, http::verb::delete_}) {
    auto res = client.Ask(method, "/v1/effective-config");
    BOOST_TEST(res.result_int() == 405u);
    BOOST_TEST(std::string(res[http::field::allow]) == "GET, HEAD");
    BOOST_TEST(ParseJson(res.body())->Find("error")->text == "method not allowed");
  }
  for (const char* path : {"/", "/v1/effective-config/", "/v1/effective_config", "/v2/effective-config"}) {
    auto res = client.Ask(http::verb::get, path);
    BOOST_TEST(res.result_int() == 404u, path);
    auto json = ParseJson(res.body());
    BOOST_REQUIRE(json.ok());
    BOOST_TEST(json->Find("path")->text == path);
    BOOST_TEST(json->Find("error")->text.find("/v1/effective-config") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_request_beast_refuses_is_answered_and_closed) {
  auto server = MustServe("{}");
  {
    Client client(server->port());
    asio::write(client.socket, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
    auto res = client.Read();
    BOOST_TEST(res.result_int() == 400u);
    BOOST_TEST(client.Closed());
  }
  {
    Client client(server->port());
    const std::string huge(9 * 1024, 'x');  // over the 8 KiB header limit
    asio::write(client.socket, asio::buffer("GET /v1/effective-config HTTP/1.1\r\nHost: a\r\nX-Big: " + huge + "\r\n\r\n"));
    BOOST_TEST(client.Read().result_int() == 431u);
  }
  {
    Client client(server->port());
    const std::string body(2048, 'x');  // over the 1 KiB body limit
    asio::write(client.socket, asio::buffer("POST /v1/effective-config HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n" + body));
    BOOST_TEST(client.Read().result_int() == 413u);
  }
  // The server still answers others.
  Client client(server->port());
  BOOST_TEST(client.Ask(http::verb::get, "/v1/effective-config").result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(connection_close_is_honoured) {
  auto server = MustServe("{}");
  Client client(server->port());
  auto res = client.Ask(http::verb::get, "/v1/effective-config", false);
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(!res.keep_alive());
  BOOST_TEST(client.Closed());
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_an_error_naming_it) {
  auto first = MustServe("{}");
  auto second = EffectiveConfigServer::Start(first->port(), "{}");
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().message.find("cannot serve on 127.0.0.1:" + std::to_string(first->port())) == 0u,
             second.error().message);
}

BOOST_AUTO_TEST_CASE(after_stop_nothing_listens) {
  auto server = MustServe("{}");
  const uint16_t port = server->port();
  server->Stop();
  server->Stop();  // idempotent
  asio::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
  BOOST_TEST((ec == asio::error::connection_refused), ec.message());
}

BOOST_AUTO_TEST_CASE(the_wait_ends_after_its_limit_without_a_signal) {
  StopSignals signals;
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST((signals.Wait(std::chrono::milliseconds(50)) == StopReason::kDuration));
  BOOST_TEST((std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(50)));
}

BOOST_AUTO_TEST_CASE(a_signal_ends_the_wait) {
  StopSignals signals;
  std::raise(SIGTERM);  // caught: without StopSignals it would end this test program
  BOOST_TEST((signals.Wait(std::chrono::seconds(5)) == StopReason::kSignal));
}

}  // namespace
}  // namespace kpolicy::tools
