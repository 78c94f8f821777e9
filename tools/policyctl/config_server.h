// The effective configuration as a service: `policyctl run --serve PORT`
// serves the runtime's EffectiveConfigJson over HTTP/1.1 (Boost.Beast does
// the HTTP; nothing here parses it) while the run goes on.
//
//   GET  /v1/effective-config   200, application/json: the document
//   HEAD /v1/effective-config   200, the same headers, no body
//   other methods on that path  405, Allow: GET, HEAD
//   any other path              404
//   a request Beast refuses     400 (431 headers over 8 KiB, 413 a body over
//                               1 KiB: no request here needs one), then close
// Every answer is JSON (errors: {"error": ..., ...}) with Cache-Control:
// no-store. The query string is ignored. Connections stay open as HTTP/1.1
// asks; one idle for 10 s is closed, so a stuck client holds nothing.
//
// Bound to 127.0.0.1 only: a host's status is for its own agents (a
// sidecar, a node exporter that scrapes it), never for the network.
// The document is fixed at Start: a started Runtime is immutable, so its
// effective configuration cannot change while it runs.
//
// Thread-safety: the server answers on a thread of its own; Stop (or the
// destructor) ends it and joins. StopSignals catches SIGINT and SIGTERM for
// the process from its construction to its destruction (one at a time).
#ifndef KPOLICY_TOOLS_CONFIG_SERVER_H_
#define KPOLICY_TOOLS_CONFIG_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kpolicy/expected.h"

namespace kpolicy::tools {

inline constexpr const char* kEffectiveConfigPath = "/v1/effective-config";

class EffectiveConfigServer {
 public:
  // Binds 127.0.0.1:`port` (0: a free port the system picks; port() says
  // which) and serves `document`. Fails (kInvalidArgument) when the port
  // cannot be bound, saying why ("Address already in use").
  static Expected<std::unique_ptr<EffectiveConfigServer>> Start(uint16_t port, std::string document);
  ~EffectiveConfigServer();

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT/v1/effective-config"
  std::string url() const;
  // Stops accepting and answering, and joins the server's thread. Idempotent.
  void Stop();

 private:
  struct State;
  explicit EffectiveConfigServer(std::unique_ptr<State> state, uint16_t port);

  std::unique_ptr<State> state_;
  uint16_t port_;
};

// What ended a wait for the end of serving.
enum class StopReason { kSignal, kDuration };

// Catches SIGINT and SIGTERM while it lives, so that `policyctl run --serve`
// ends cleanly (exit status of the run, server stopped) instead of dying.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  // Blocks until SIGINT or SIGTERM arrives (since construction), or until
  // `limit` has passed when one is given.
  StopReason Wait(std::optional<std::chrono::milliseconds> limit);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kpolicy::tools

#endif  // KPOLICY_TOOLS_CONFIG_SERVER_H_
