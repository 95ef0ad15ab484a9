// The HttpResponder given to handlers; internal.
#pragma once

#include <memory>

#include "net/http_server.h"

namespace tandem::net {

// The session side of a responder. deliver() is called from any thread, at most once.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void deliver(HttpResponse response) = 0;
};

// A responder that forwards exactly one response to `sink` if the session still exists.
// Later calls are ignored; if every copy is destroyed unused, the sink gets a 500 so that
// the client is not left waiting until the connection times out.
HttpResponder make_responder(std::weak_ptr<ResponseSink> sink, std::string path);

}  // namespace tandem::net
