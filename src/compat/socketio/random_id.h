// Unguessable session ids: a polling session id is all a request needs to act as its client.
#pragma once

#include <string>

namespace tandem::compat::socketio {

// 20 base64url characters from 15 random bytes of OpenSSL's CSPRNG. Throws tandem::Error
// (internal) if the generator fails.
std::string random_id();

}  // namespace tandem::compat::socketio
