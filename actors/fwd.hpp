#pragma once

// Forward declarations of herald_actors' messages, so that the typed actor
// interfaces (actors/*/*_actor.hpp) name them without pulling their
// definitions (and the storage and core headers behind them) along.
namespace herald::actors {

struct attach_session;
struct client_ack;
struct client_read;
struct detach_session;
struct feed_items;
struct load_cap_counts;
struct load_feed;
struct load_user;
struct passivate_request;
struct persist_cursors;
struct persist_read;
struct subscribe;
struct tailed;
struct user_key;
struct user_progress;

} // namespace herald::actors
