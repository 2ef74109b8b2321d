#include "publisher.hpp"

#include "frame_fields.hpp"
#include "histogram.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace herald::bench {

namespace {

struct writer_result {
  double seconds = 0; ///< from the first due time to the last commit
  uint64_t count = 0;
  uint64_t errors = 0;
  histogram statement;
  /// (serial, wall clock when its statement returned: the commit) of
  /// every message written.
  std::vector<std::pair<uint64_t, int64_t>> commits;
};

void write_loop(const publisher_config& cfg, int writer, writer_result& out) {
  pqxx::connection conn(cfg.database_url);
  if (cfg.herald)
    conn.prepare("pub", "SELECT herald.publish($1, $2, $3::text, $4::jsonb)");
  else
    conn.prepare("pub", "SELECT pg_notify($1, $2)");
  pqxx::nontransaction tx(conn);
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto per_writer = cfg.rate / cfg.writers;
  auto total = static_cast<uint64_t>(per_writer * cfg.seconds);
  for (uint64_t i = 0; i < total; ++i) {
    // Open loop: message i is due at a fixed time whatever happened to the
    // ones before, so a slow commit shows up as a missed rate, not a
    // quietly lower one.
    std::this_thread::sleep_until(
      start + std::chrono::microseconds(static_cast<int64_t>(
                static_cast<double>(i) * 1e6 / per_writer)));
    auto serial = i * static_cast<uint64_t>(cfg.writers) +
                  static_cast<uint64_t>(writer) + 1;
    const auto& target = cfg.targets[serial % cfg.targets.size()];
    auto sent = now_micros();
    auto vars = "{\"bench_t\":" + std::to_string(sent) +
                ",\"bench_n\":" + std::to_string(serial);
    try {
      if (cfg.herald) {
        tx.exec_prepared("pub", cfg.app, cfg.tmpl, target, vars + "}");
      } else {
        auto user = target.substr(target.find(':') + 1);
        tx.exec_prepared("pub", cfg.channel,
                         vars + ",\"user\":\"" + user + "\"}");
      }
      ++out.count;
      out.commits.emplace_back(serial, now_micros());
    } catch (const std::exception& e) {
      if (out.errors++ == 0)
        std::fprintf(stderr, "publish failed: %s\n", e.what());
    }
    out.statement.record(now_micros() - sent);
  }
  out.seconds = std::chrono::duration<double>(clock::now() - start).count();
}

} // namespace

int run_publisher(const publisher_config& cfg) {
  std::vector<writer_result> results(static_cast<size_t>(cfg.writers));
  std::vector<std::thread> threads;
  for (int w = 0; w < cfg.writers; ++w)
    threads.emplace_back([&cfg, &results, w] {
      try {
        write_loop(cfg, w, results[static_cast<size_t>(w)]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        ++results[static_cast<size_t>(w)].errors;
      }
    });
  for (auto& t : threads)
    t.join();
  // The slowest writer's time, not counting connection set-up: a rate
  // below the one asked for means the writers (or the database) fell behind.
  double seconds = 0;
  for (auto& r : results)
    seconds = std::max(seconds, r.seconds);
  uint64_t count = 0;
  uint64_t errors = 0;
  for (auto& r : results) {
    count += r.count;
    errors += r.errors;
  }
  // Every writer runs the same schedule: the first one's statement
  // latencies stand for all of them. The commits are every writer's: a
  // client's arrival minus its message's commit is commit -> client.
  std::string serials, commits;
  for (auto& r : results)
    for (auto& [serial, at] : r.commits) {
      serials += (serials.empty() ? "" : ",") + std::to_string(serial);
      commits += (commits.empty() ? "" : ",") + std::to_string(at);
    }
  std::printf("{\"event\":\"published\",\"count\":%llu,\"errors\":%llu,"
              "\"seconds\":%.3f,\"rate\":%.1f,\"statement\":%s,"
              "\"commit_serials\":[%s],\"commits_at_us\":[%s]}\n",
              static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(errors), seconds,
              static_cast<double>(count) / seconds,
              results.front().statement.to_json().c_str(), serials.c_str(),
              commits.c_str());
  std::fflush(stdout);
  return errors == 0 ? 0 : 1;
}

} // namespace herald::bench
