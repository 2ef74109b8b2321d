#include "net/server.hpp"

#include <boost/asio/ssl/context.hpp>

#include <fstream>
#include <stdexcept>

namespace herald::net {

namespace {

void require_readable(const std::string& path, const char* what) {
  if (path.empty())
    throw std::runtime_error(std::string{"TLS needs a "} + what +
                             " file: set both http.tls-cert and "
                             "http.tls-key");
  if (!std::ifstream{path})
    throw std::runtime_error(std::string{"cannot read the TLS "} + what +
                             " file '" + path + "'");
}

} // namespace

std::shared_ptr<boost::asio::ssl::context>
make_tls_context(const std::string& certificate_chain_file,
                 const std::string& private_key_file) {
  namespace ssl = boost::asio::ssl;
  require_readable(certificate_chain_file, "certificate");
  require_readable(private_key_file, "private key");
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and newer only; no compression, no renegotiation surprises.
  context->set_options(ssl::context::default_workarounds |
                       ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::no_compression);
  boost::system::error_code ec;
  context->use_certificate_chain_file(certificate_chain_file, ec);
  if (ec)
    throw std::runtime_error(
      "TLS certificate '" + certificate_chain_file +
      "' is not a PEM certificate chain: " + ec.message());
  context->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("TLS key '" + private_key_file +
                             "' is not a PEM private key: " + ec.message());
  if (SSL_CTX_check_private_key(context->native_handle()) != 1)
    throw std::runtime_error("TLS key '" + private_key_file +
                             "' does not belong to the certificate '" +
                             certificate_chain_file + "'");
  return context;
}

} // namespace herald::net
