// TLS configuration for HTTPS/WSS; internal.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include "net/http_server.h"

namespace tandem::net {

// A server context with the certificate chain and key loaded. Throws tandem::Error
// (config_invalid) naming the file that cannot be read or used.
boost::asio::ssl::context make_tls_context(const TlsOptions& tls);

}  // namespace tandem::net
