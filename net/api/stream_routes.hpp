#pragma once

#include "net/router.hpp"
#include "net/server.hpp"
#include "net/stream/stream_context.hpp"

#include <memory>

namespace herald::net::api {

/// The delivery transports of docs/protocol.md: WebSocket /v1/ws and SSE
/// /v1/stream (taking their connections over), long-poll GET /v1/poll and
/// POST /v1/ack. Every one authenticates the user token and checks the
/// Origin before anything else: 401 or 403, never an upgrade.
void add_stream_routes(server& srv, router& routes,
                       std::shared_ptr<const stream_context> ctx);

} // namespace herald::net::api
