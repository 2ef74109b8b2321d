// herald-bench: the load generator of scripts/bench.sh. Each process holds
// up to one file-descriptor limit's worth of client connections (or runs
// database writers); the orchestrator starts several and adds up what they
// print, one JSON object per line.
//
//   herald-bench clients --server=HOST:PORT --protocol=herald|ws|sse
//       --count=N [--first=0] [--user-prefix=u] [--app=bench --secret=S]
//       [--path=/v1/ws] [--sources=127.0.0.2,...] [--max-pending=256]
//       [--quickack=1]  (diagnostic: no delayed ACKs on the client side)
//       [--ack-delay-ms=1000 --ack-every=64]  (herald.v1: when a cumulative
//                        ack goes out, as herald.js acks; 0: every message)
//       [--dedup=1]     (plain WebSocket, one publisher: drop replays)
//       [--arrivals=1]  (keep each message's serial and arrival time for
//                        the arrivals command)
//       [--last-seq=N]  (herald.v1: resume after N, as a client that was
//                        offline; 0: from the start)
//     then commands on stdin: stats, arrivals, reset, drop, publish R S,
//     quit
//   herald-bench publish --database=URL --mode=herald|notify --rate=R
//       --seconds=S [--writers=1] (--target=T | --users=U [--user-prefix=u])
//       [--app=bench --template=note --channel=bench]

#include "client_pool.hpp"
#include "options.hpp"
#include "publisher.hpp"

#include "core/jwt.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace {

using namespace herald::bench;
namespace asio = boost::asio;

int run_clients(options& opt) {
  client_pool::config cfg;
  auto server = opt.text("server", "127.0.0.1:8080");
  auto colon = server.rfind(':');
  cfg.settings.server = asio::ip::tcp::endpoint(
    asio::ip::make_address(server.substr(0, colon)),
    static_cast<unsigned short>(std::stoi(server.substr(colon + 1))));
  cfg.settings.host = server;
  auto proto = opt.text("protocol", "herald");
  cfg.settings.proto = proto == "herald" ? protocol::herald
                       : proto == "sse"  ? protocol::sse
                                         : protocol::plain_ws;
  for (auto& s : opt.list("sources", "127.0.0.1"))
    cfg.sources.push_back(asio::ip::make_address(s));
  cfg.max_pending = static_cast<size_t>(opt.number("max-pending", 256));
  cfg.settings.quickack = opt.number("quickack", 0) != 0;
  cfg.settings.dedup = opt.number("dedup", 0) != 0;
  cfg.settings.keep_arrivals = opt.number("arrivals", 0) != 0;
  cfg.settings.initial_seq = opt.number("last-seq", 0);
  cfg.settings.ack_delay =
    std::chrono::milliseconds{opt.number("ack-delay-ms", 1000)};
  cfg.settings.ack_every =
    static_cast<size_t>(std::max<int64_t>(1, opt.number("ack-every", 64)));
  auto count = opt.number("count", 1);
  auto first = opt.number("first", 0);
  auto prefix = opt.text("user-prefix", "u");
  auto path = opt.text("path", proto == "herald" ? "/v1/ws" : "/");
  auto app = opt.text("app", "bench");
  auto secret = opt.text("secret", "");
  opt.check_all_used();
  // Tokens live as long as any run could: three hours.
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
             3 * 3600;
  for (auto i = first; i < first + count; ++i) {
    auto user = prefix + std::to_string(i);
    if (cfg.settings.proto == protocol::herald) {
      auto token = herald::jwt::sign_hs256(
        {{"sub", user}, {"aud", app}, {"exp", exp}}, secret);
      cfg.targets.push_back(path + "?token=" + token);
    } else {
      cfg.targets.push_back(path + "?user=" + user);
    }
  }

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  client_pool pool(io, std::move(cfg));
  pool.start();
  // Commands arrive on stdin; a thread of its own so that a blocking read
  // never holds up the connections. End of input means quit.
  std::thread([&io, &pool] {
    for (std::string line; std::getline(std::cin, line);)
      asio::post(io, [&pool, line] { pool.command(line); });
    asio::post(io, [&pool] { pool.command("quit"); });
  }).detach();
  io.run();
  std::fflush(stdout);
  // The stdin thread may still be blocked in a read: leave without joining.
  std::_Exit(0);
}

int run_publish(options& opt) {
  publisher_config cfg;
  cfg.database_url = opt.text("database", "");
  cfg.herald = opt.text("mode", "herald") == "herald";
  cfg.app = opt.text("app", cfg.app);
  cfg.tmpl = opt.text("template", cfg.tmpl);
  cfg.channel = opt.text("channel", cfg.channel);
  cfg.rate = opt.real("rate", cfg.rate);
  cfg.seconds = opt.real("seconds", cfg.seconds);
  cfg.writers = static_cast<int>(opt.number("writers", 1));
  auto target = opt.text("target", "");
  auto users = opt.number("users", 0);
  auto prefix = opt.text("user-prefix", "u");
  opt.check_all_used();
  if (!target.empty())
    cfg.targets.push_back(target);
  for (int64_t i = 0; i < users; ++i)
    cfg.targets.push_back("user:" + prefix + std::to_string(i));
  if (cfg.targets.empty() || cfg.database_url.empty() || cfg.writers < 1) {
    std::fprintf(stderr, "publish needs --database, and --target or "
                         "--users\n");
    return 2;
  }
  return run_publisher(cfg);
}

} // namespace

int main(int argc, char** argv) {
  std::string sub = argc > 1 ? argv[1] : "";
  try {
    options opt(argc, argv, 2);
    if (sub == "clients")
      return run_clients(opt);
    if (sub == "publish")
      return run_publish(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "herald-bench: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "usage: herald-bench clients|publish --name=value...\n"
                       "(see the comment at the top of main.cpp)\n");
  return 2;
}
