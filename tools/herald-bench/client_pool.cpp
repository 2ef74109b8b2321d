#include "client_pool.hpp"

#include "frame_fields.hpp"
#include "sse_connection.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>

namespace herald::bench {

namespace asio = boost::asio;

client_pool::client_pool(asio::io_context& io, config cfg)
  : io_(io), cfg_(std::move(cfg)), retry_timer_(io), publish_timer_(io) {
  cfg_.settings.stats = &stats_;
  cfg_.settings.on_ready = [this](size_t i) {
    on_ready(i);
  };
  cfg_.settings.on_down = [this](size_t i, bool was_ready) {
    on_down(i, was_ready);
  };
  for (size_t i = 0; i < cfg_.targets.size(); ++i) {
    auto source = cfg_.sources[i % cfg_.sources.size()];
    if (cfg_.settings.proto == protocol::sse)
      conns_.push_back(std::make_shared<sse_connection>(
        io_, cfg_.settings, i, source, cfg_.targets[i]));
    else
      conns_.push_back(std::make_shared<connection>(io_, cfg_.settings, i,
                                                    source, cfg_.targets[i]));
    waiting_.push_back(i);
  }
}

int64_t client_pool::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
    .count();
}

void client_pool::start() {
  phase_start_ms_ = now_ms();
  launch();
}

void client_pool::launch() {
  // Paced so that the engine's accept backlog does not overflow and turn
  // the measurement into one of SYN retransmission timers.
  while (!waiting_.empty() && pending_ < cfg_.max_pending) {
    auto i = waiting_.front();
    waiting_.pop_front();
    ++pending_;
    conns_[i]->start();
  }
}

void client_pool::on_ready(size_t) {
  --pending_;
  ++ready_;
  if (!announced_ && ready_ == conns_.size()) {
    announced_ = true;
    std::printf("{\"event\":\"ready\",\"connections\":%zu,\"ms\":%lld}\n",
                conns_.size(),
                static_cast<long long>(now_ms() - phase_start_ms_));
    std::fflush(stdout);
  }
  launch();
}

void client_pool::on_down(size_t index, bool was_ready) {
  if (was_ready)
    --ready_;
  else
    --pending_;
  waiting_.push_back(index);
  ++stats_.reconnects;
  if (pending_ == 0 && !waiting_.empty()) {
    // Nothing in flight (say the engine is gone): back off a little.
    retry_timer_.expires_after(std::chrono::milliseconds(200));
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec)
        launch();
    });
  } else {
    launch();
  }
}

void client_pool::command(const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "stats") {
    print_stats();
  } else if (verb == "arrivals") {
    print_arrivals();
  } else if (verb == "reset") {
    stats_.reset();
    std::printf("{\"event\":\"reset\"}\n");
    std::fflush(stdout);
  } else if (verb == "drop") {
    announced_ = false;
    phase_start_ms_ = now_ms();
    for (auto& c : conns_)
      c->drop();
  } else if (verb == "publish") {
    double seconds = 0;
    in >> publish_rate_ >> seconds;
    publish_start_us_ = now_micros();
    publish_end_us_ = publish_start_us_ + static_cast<int64_t>(seconds * 1e6);
    publish_sent_ = 0;
    publish_tick();
  } else if (verb == "quit") {
    io_.stop();
  }
}

void client_pool::publish_tick() {
  // Every millisecond, catch up with the schedule: a steady rate without a
  // timer per frame, and no burst larger than a millisecond's worth.
  auto now = now_micros();
  auto until = std::min(now, publish_end_us_);
  auto due = static_cast<uint64_t>(
    static_cast<double>(until - publish_start_us_) * publish_rate_ / 1e6);
  for (; publish_sent_ < due; ++publish_sent_) {
    ++publish_serial_;
    ++stats_.published;
    auto frame = "{\"bench_t\":" + std::to_string(now_micros()) +
                 ",\"bench_n\":" + std::to_string(publish_serial_) + "}";
    for (auto& c : conns_)
      if (c->ready())
        c->send(frame);
  }
  if (now >= publish_end_us_) {
    std::printf("{\"event\":\"published\",\"count\":%llu}\n",
                static_cast<unsigned long long>(publish_sent_));
    std::fflush(stdout);
    return;
  }
  publish_timer_.expires_after(std::chrono::milliseconds(1));
  publish_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec)
      publish_tick();
  });
}

void client_pool::print_arrivals() {
  std::string out = R"({"event":"arrivals","serials":[)";
  for (size_t i = 0; i < stats_.arrivals.size(); ++i)
    out += (i ? "," : "") + std::to_string(stats_.arrivals[i].first);
  out += R"(],"at_us":[)";
  for (size_t i = 0; i < stats_.arrivals.size(); ++i)
    out += (i ? "," : "") + std::to_string(stats_.arrivals[i].second);
  out += "]}\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

void client_pool::print_stats() {
  int64_t seq_sum = 0;
  int64_t seq_min = conns_.empty() ? 0 : conns_.front()->last_seq();
  for (auto& c : conns_) {
    seq_sum += c->last_seq();
    seq_min = std::min(seq_min, c->last_seq());
  }
  std::printf("{\"event\":\"stats\",\"connections\":%zu,\"ready\":%zu,"
              "\"received\":%llu,\"duplicates\":%llu,"
              "\"closes\":%llu,\"errors\":%llu,\"reconnects\":%llu,"
              "\"published\":%llu,\"last_seq_sum\":%lld,"
              "\"last_seq_min\":%lld,\"first_arrival_us\":%lld,"
              "\"last_arrival_us\":%lld,"
              "\"first_error\":\"%s\","
              "\"latency\":%s}\n",
              conns_.size(), ready_,
              static_cast<unsigned long long>(stats_.received),
              static_cast<unsigned long long>(stats_.duplicates),
              static_cast<unsigned long long>(stats_.closes),
              static_cast<unsigned long long>(stats_.errors),
              static_cast<unsigned long long>(stats_.reconnects),
              static_cast<unsigned long long>(stats_.published),
              static_cast<long long>(seq_sum), static_cast<long long>(seq_min),
              static_cast<long long>(stats_.first_arrival_us),
              static_cast<long long>(stats_.last_arrival_us),
              stats_.first_error.c_str(), stats_.latency.to_json().c_str());
  std::fflush(stdout);
}

} // namespace herald::bench
