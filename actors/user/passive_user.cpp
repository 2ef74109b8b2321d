#include "actors/user/passive_user.hpp"

#include "actors/user/user_pushes.hpp"
#include "core/metrics.hpp"

#include <algorithm>
#include <limits>

namespace herald::actors {

namespace {

// Pushes `batch` to every one of `sinks`, noting it as the actor would.
void push_to(passive_user& user, const std::vector<session_ptr>& sinks,
             std::vector<delivery> batch, double at, spdlog::logger& logger) {
  auto& snap = user.snapshot;
  snap.sent_high = std::max(snap.sent_high, batch.back().seq);
  for (size_t i = 0; i < sinks.size(); ++i) {
    const auto& sink = sinks[i];
    note_pushes({snap.sends, snap.first_push_high}, batch,
                {sink->id(), sink->transport(), false, at}, user.key, logger);
    snap.pushed += batch.size();
    if (i + 1 == sinks.size())
      sink->deliver(std::move(batch));
    else
      sink->deliver(batch);
  }
}

// Forgets what is held: the snapshot's position moves past it, and a
// session that lacks it has it read from the feed by the actor.
void forget_pushed(passive_user& user) {
  if (!user.pushed)
    return;
  auto& snap = user.snapshot;
  snap.complete_through =
    std::max(snap.complete_through, user.pushed->back().d.seq);
  user.pushed.reset();
}

} // namespace

bool push_passively(passive_user user, const std::vector<feed_item>& items,
                    push_time now, size_t max_unacked, spdlog::logger& logger) {
  for (const auto& item : items)
    if (!item.message)
      return false; // the user's streams changed: the actor subscribes anew
  std::vector<session_ptr> sinks;
  for (const auto& s : user.sessions) {
    if (s.poll)
      return false; // a poll is answered by the actor, and forgotten
    if (auto sink = s.session.lock())
      sinks.push_back(std::move(sink));
  }
  // Every session was sent everything in `pushed`: none has more in
  // flight than that. Without sessions, what does not fit is left to the
  // feed instead.
  auto held = user.pushed ? user.pushed->size() : 0;
  if (held + items.size() > max_unacked) {
    if (!sinks.empty())
      return false;
    forget_pushed(user);
  }
  auto& snap = user.snapshot;
  std::vector<delivery> batch;
  for (const auto& item : items) {
    if (auto d = web_delivery(snap.policy, item))
      batch.push_back(std::move(*d));
    else
      ++snap.suppressed;
  }
  if (batch.empty())
    return true;
  auto last = batch.back().seq;
  snap.newest = std::max(snap.newest, last);
  if (batch.size() > max_unacked) {
    // More than a window, to nobody: the feed has them.
    forget_pushed(user);
    snap.complete_through = std::max(snap.complete_through, last);
    return true;
  }
  if (!user.pushed)
    user.pushed = std::make_unique<pushed_deliveries>();
  for (const auto& d : batch)
    user.pushed->push_back({d, now.steady});
  // Without sessions they are held for the next one: a client that
  // reconnects gets them from here, without its actor or a read.
  if (!sinks.empty())
    push_to(user, sinks, std::move(batch), now.unix, logger);
  return true;
}

passive_attach attach_passively(passive_user user, const session_ptr& session,
                                int64_t last_seq, push_time now,
                                size_t max_sessions, spdlog::logger& logger) {
  auto& snap = user.snapshot;
  if (user.sessions.size() >= max_sessions)
    return passive_attach::wake; // refused by the actor, with its code
  // What the feed holds, as the actor would place the session; behind the
  // snapshot's position, what it lacks must be read.
  auto position = std::max<int64_t>(0, std::min(last_seq, snap.newest));
  if (position < snap.complete_through)
    return passive_attach::wake;
  user.sessions.push_back({session->id(), session, position, false, false});
  session->welcome(position, snap.newest);
  if (user.pushed) {
    std::vector<delivery> lacking;
    for (auto& p : *user.pushed)
      if (p.d.seq > position) {
        lacking.push_back(p.d);
        // In flight from now: its resend is due an ack timeout from here.
        p.at = std::max(p.at, now.steady);
      }
    if (!lacking.empty())
      push_to(user, {session}, std::move(lacking), now.unix, logger);
  }
  // As the actor records a session's start: nothing past what was sent.
  auto before = snap.acked_high;
  snap.acked_high =
    std::max(snap.acked_high, std::min(position, snap.sent_high));
  return snap.acked_high > before ? passive_attach::advanced
                                  : passive_attach::attached;
}

passive_ack ack_passively(passive_user user, uint64_t session_id, int64_t seq) {
  auto it = std::find_if(user.sessions.begin(), user.sessions.end(),
                         [&](const attached& a) { return a.id == session_id; });
  if (it == user.sessions.end() || it->poll)
    return passive_ack::unchanged;
  auto sink = it->session.lock();
  if (!sink)
    return passive_ack::unchanged; // closed: its detach follows
  if (seq > sink->sent_seq())
    return passive_ack::wake;
  if (user.pushed) {
    // What this ack covers of the shard's pushes: this session had all of
    // those past where it stood.
    size_t covered = 0;
    for (const auto& p : *user.pushed)
      covered += p.d.seq > it->last_seq && p.d.seq <= seq;
    metrics::deliveries_acked(covered);
  }
  it->last_seq = std::max(it->last_seq, seq);
  auto& snap = user.snapshot;
  auto before = snap.acked_high;
  snap.acked_high = std::max(snap.acked_high, std::min(seq, snap.sent_high));
  settle_pushed(user);
  return snap.acked_high > before ? passive_ack::advanced
                                  : passive_ack::unchanged;
}

void settle_pushed(passive_user user) {
  if (!user.pushed)
    return;
  auto& pushed = *user.pushed;
  // Where every session stands, by the acks taken so far (one still on its
  // way counts what it covers when it comes); a closed one holds nothing
  // back. Without sessions everything stays, for the next one.
  auto everyone_has = std::numeric_limits<int64_t>::max();
  for (const auto& s : user.sessions)
    if (!s.session.expired())
      everyone_has = std::min(everyone_has, s.last_seq);
  if (everyone_has == std::numeric_limits<int64_t>::max())
    return;
  auto kept =
    std::find_if(pushed.begin(), pushed.end(), [&](const pushed_delivery& p) {
      return p.d.seq > everyone_has;
    });
  if (kept == pushed.begin())
    return;
  auto& snap = user.snapshot;
  snap.complete_through =
    std::max(snap.complete_through, std::prev(kept)->d.seq);
  pushed.erase(pushed.begin(), kept);
  if (pushed.empty())
    user.pushed.reset();
}

bool ack_overdue(const passive_user& user, steady_time now,
                 std::chrono::nanoseconds timeout) {
  if (!user.pushed || user.pushed->empty())
    return false;
  bool anyone =
    std::any_of(user.sessions.begin(), user.sessions.end(),
                [](const attached& a) { return !a.session.expired(); });
  return anyone && user.pushed->front().at + timeout <= now;
}

} // namespace herald::actors
