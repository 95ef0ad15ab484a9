#include "net/tls_context.h"

#include <openssl/ssl.h>

#include <fstream>

#include "common/error.h"

namespace tandem::net {
namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's own message for a missing file ("system lib") does not say which file, nor that
// it is missing; check readability first for a message an operator can act on.
void require_readable(const std::string& what, const std::string& file) {
  if (std::ifstream(file).good()) return;
  throw Error(ErrorCode::config_invalid, "cannot read TLS " + what + " file '" + file + "'");
}

[[noreturn]] void throw_unusable(const std::string& what, const std::string& file,
                                 const boost::system::error_code& ec) {
  throw Error(ErrorCode::config_invalid,
              "cannot use TLS " + what + " file '" + file + "': " + ec.message());
}

}  // namespace

ssl::context make_tls_context(const TlsOptions& tls) {
  require_readable("certificate", tls.certificate_file);
  require_readable("private key", tls.private_key_file);

  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
  boost::system::error_code ec;
  context.use_certificate_chain_file(tls.certificate_file, ec);
  if (ec) throw_unusable("certificate", tls.certificate_file, ec);
  context.use_private_key_file(tls.private_key_file, ssl::context::pem, ec);
  if (ec) throw_unusable("private key", tls.private_key_file, ec);
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw Error(ErrorCode::config_invalid, "TLS private key file '" + tls.private_key_file +
                                               "' does not match certificate file '" +
                                               tls.certificate_file + "'");
  }
  return context;
}

}  // namespace tandem::net
