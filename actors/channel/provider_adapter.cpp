#include "actors/channel/provider_adapter.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

namespace herald::actors::channel {

namespace {

using nlohmann::json;

// What an SMS gateway gets when the provider names no body shape.
const json default_sms_shape = {
  {"to", "{{to}}"}, {"body", "{{body}}"}, {"reference", "{{delivery_id}}"}};

std::string text_of(const json& content, const char* key) {
  if (content.is_object() && content.contains(key) && content[key].is_string())
    return content[key].get<std::string>();
  return {};
}

// Replaces {{name}} in every string of `shape` (keys stay as they are).
// Values land inside JSON strings, so they cannot change the structure.
json fill(const json& shape, const std::map<std::string, std::string>& values) {
  if (shape.is_object()) {
    json out = json::object();
    for (const auto& [key, value] : shape.items())
      out[key] = fill(value, values);
    return out;
  }
  if (shape.is_array()) {
    json out = json::array();
    for (const auto& value : shape)
      out.push_back(fill(value, values));
    return out;
  }
  if (!shape.is_string())
    return shape;
  auto text = shape.get<std::string>();
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    auto close = open == std::string::npos ? open : text.find("}}", open);
    if (close == std::string::npos) {
      out += text.substr(pos);
      break;
    }
    out += text.substr(pos, open - pos);
    auto name = text.substr(open + 2, close - open - 2);
    if (auto it = values.find(name); it != values.end())
      out += it->second;
    pos = close + 2;
  }
  return out;
}

// "Name: value" sets that header; anything else is the Authorization value.
void add_auth(outbound_request& req, const std::string& auth) {
  if (auth.empty())
    return;
  auto colon = auth.find(": ");
  bool named = colon != std::string::npos && colon > 0;
  for (size_t i = 0; named && i < colon; ++i)
    named = std::isalnum(static_cast<unsigned char>(auth[i])) || auth[i] == '-';
  if (named)
    req.headers.emplace_back(auth.substr(0, colon), auth.substr(colon + 2));
  else
    req.headers.emplace_back("Authorization", auth);
}

outbound_request base_request(const storage::provider_config& provider,
                              std::string idempotency_key) {
  outbound_request req;
  req.url = provider.url;
  req.timeout = provider.timeout;
  add_auth(req, provider.auth_header);
  req.headers.emplace_back("Idempotency-Key", std::move(idempotency_key));
  return req;
}

prepared_delivery nothing(std::string code, std::string why) {
  prepared_delivery out;
  out.failure_code = std::move(code);
  out.failure = std::move(why);
  return out;
}

prepared_delivery prepare_sms(const storage::provider_config& provider,
                              const storage::claimed_delivery& d,
                              const json& content) {
  if (!d.phone || d.phone->empty())
    return nothing("no_phone", "the user has no phone number");
  auto key = "herald-" + std::to_string(d.id);
  json shape = default_sms_shape;
  if (!provider.body_shape_json.empty())
    shape = json::parse(provider.body_shape_json);
  std::map<std::string, std::string> values{
    {"to", *d.phone},
    {"body", text_of(content, "body")},
    {"title", text_of(content, "title")},
    {"message_id", std::to_string(d.message_id)},
    {"delivery_id", std::to_string(d.id)},
    {"app", d.app},
    {"idempotency_key", key}};
  auto req = base_request(provider, key);
  req.body = fill(shape, values).dump();
  prepared_delivery out;
  out.calls.push_back({std::move(req), 0});
  return out;
}

prepared_delivery prepare_push(const storage::provider_config& provider,
                               const storage::claimed_delivery& d,
                               const json& content) {
  if (d.devices.empty())
    return nothing("no_device", "the user has no registered device");
  bool urgent = d.priority == "high" || d.priority == "critical";
  prepared_delivery out;
  for (const auto& device : d.devices) {
    json message{{"token", device.token},
                 {"notification",
                  {{"title", text_of(content, "title")},
                   {"body", text_of(content, "body")}}},
                 // FCM data values are strings.
                 {"data",
                  {{"message_id", std::to_string(d.message_id)},
                   {"delivery_id", std::to_string(d.id)}}},
                 {"android", {{"priority", urgent ? "high" : "normal"}}}};
    auto req = base_request(provider, "herald-" + std::to_string(d.id) + "-" +
                                        std::to_string(device.id));
    req.body = json{{"message", std::move(message)}}.dump();
    out.calls.push_back({std::move(req), device.id});
  }
  return out;
}

std::string brief(const std::string& body) {
  constexpr size_t limit = 300;
  std::string out;
  for (char c : body.substr(0, limit))
    out += (c == '\n' || c == '\r') ? ' ' : c;
  if (body.size() > limit)
    out += "...";
  return out;
}

} // namespace

prepared_delivery prepare(const storage::provider_config& provider,
                          const storage::claimed_delivery& d) {
  auto content = json::parse(d.content_json, nullptr, false);
  if (content.is_discarded() || !content.is_object())
    return nothing("no_content",
                   "the template has no " + provider.channel + " body");
  if (provider.kind == "fcm")
    return prepare_push(provider, d, content);
  return prepare_sms(provider, d, content);
}

judged_answer judge(const std::string& kind, const outbound_response& answer,
                    std::chrono::system_clock::time_point now) {
  judged_answer out;
  auto status = answer.status;
  if (status >= 200 && status < 300)
    return out;
  out.error = "HTTP " + std::to_string(status);
  if (!answer.body.empty())
    out.error += ": " + brief(answer.body);
  if (status == 429 || status >= 500) {
    out.what = verdict::retry;
    if (answer.retry_after)
      out.retry_after = parse_retry_after(*answer.retry_after, now);
    return out;
  }
  // FCM: 404 NOT_FOUND / UNREGISTERED means the app was uninstalled or the
  // token expired.
  if (kind == "fcm" &&
      (status == 404 || answer.body.find("UNREGISTERED") != std::string::npos))
    out.what = verdict::invalid_token;
  else
    out.what = verdict::refused;
  return out;
}

/// The longest_retry_after wait a provider's Retry-After gets, in seconds.
constexpr int64_t longest_retry_after = 24 * 3600;

std::optional<std::chrono::milliseconds>
parse_retry_after(const std::string& value,
                  std::chrono::system_clock::time_point now) {
  // A provider asking for more than a day is capped at a day: the message
  // is retried then rather than parked for years (and a date far in the
  // future would overflow the clock's nanoseconds).
  auto capped = [](int64_t seconds) {
    return std::chrono::milliseconds{
      std::clamp<int64_t>(seconds, 0, longest_retry_after) * 1000};
  };
  if (!value.empty() &&
      std::all_of(value.begin(), value.end(),
                  [](unsigned char c) { return std::isdigit(c); }))
    return capped(value.size() > 9 ? longest_retry_after : std::stoll(value));
  std::tm tm{};
  if (!strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm))
    return std::nullopt;
  auto at = static_cast<int64_t>(timegm(&tm));
  auto from = static_cast<int64_t>(std::chrono::system_clock::to_time_t(now));
  if (at - from > longest_retry_after)
    return capped(longest_retry_after);
  auto when = std::chrono::system_clock::from_time_t(static_cast<time_t>(at));
  if (when <= now)
    return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

} // namespace herald::actors::channel
