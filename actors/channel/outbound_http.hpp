#pragma once

// A small blocking HTTP(S) client for provider requests. Beast stays in the
// .cpp: the channel senders include only this.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace herald::actors::channel {

struct outbound_request {
  std::string method = "POST";
  std::string url; ///< http:// or https://host[:port]/path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000}; ///< for the whole exchange
};

struct outbound_response {
  unsigned status = 0;
  std::string body;
  std::optional<std::string> retry_after; ///< the header, verbatim
};

/// The request did not get an HTTP answer: DNS, connect, TLS, timeout, a
/// connection closed early. Always worth a retry.
class transport_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A URL split for a request; throws std::invalid_argument when `url` is
/// not http(s)://host[:port][/path].
struct parsed_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target; ///< path and query, at least "/"
};
parsed_url parse_url(const std::string& url);

/// Sends `req` and waits for the answer, at most req.timeout. HTTPS checks
/// the certificate against the system's trust store and the host name.
/// Throws transport_error when no answer arrives.
outbound_response send_request(const outbound_request& req);

} // namespace herald::actors::channel
