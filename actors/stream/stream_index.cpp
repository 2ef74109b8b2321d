#include "actors/stream/stream_index.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace herald::actors {

namespace {

// The kinds of streams the log writes (schema/0008_stream_log.sql), by
// their number in a key's top byte; 0 is none, other_kind the names of
// another shape.
constexpr std::array<std::string_view, 6> kinds{"",      "user",     "app",
                                                "store", "merchant", "topic"};
constexpr uint64_t other_kind = 0xff;
constexpr int kind_shift = 56;
constexpr uint64_t id_mask = (uint64_t{1} << kind_shift) - 1;

} // namespace

std::optional<uint64_t> stream_index::key(std::string_view name) const {
  auto colon = name.find(':');
  if (colon != std::string_view::npos) {
    auto kind = name.substr(0, colon);
    auto digits = name.substr(colon + 1);
    uint64_t id = 0;
    auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), id);
    bool numeric = ec == std::errc{} && end == digits.data() + digits.size() &&
                   !digits.empty() && digits[0] != '0' && id <= id_mask;
    for (uint64_t k = 1; numeric && k < kinds.size(); ++k)
      if (kinds[k] == kind)
        return k << kind_shift | id;
  }
  auto other = others_.find(std::string{name});
  if (other == others_.end())
    return std::nullopt;
  return other->second;
}

uint64_t stream_index::key_adding(const std::string& name) {
  if (auto known = key(name))
    return *known;
  auto next = other_kind << kind_shift | others_.size();
  return others_.emplace(name, next).first->second;
}

std::string stream_index::name_of(uint64_t key) const {
  auto kind = key >> kind_shift;
  if (kind != other_kind)
    return std::string{kinds[kind]} + ":" + std::to_string(key & id_mask);
  for (const auto& [name, k] : others_)
    if (k == key)
      return name;
  return {};
}

void stream_index::subscribe(stream_reader& reader,
                             std::vector<std::string> streams) {
  unsubscribe(reader);
  std::vector<uint64_t> keys;
  keys.reserve(streams.size());
  for (const auto& s : streams)
    keys.push_back(key_adding(s));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (auto k : keys)
    subscribers_[k].push_back(&reader);
  reader.streams_ = std::move(keys);
}

void stream_index::unsubscribe(stream_reader& reader) {
  for (auto k : reader.streams_) {
    auto readers = subscribers_.find(k);
    if (readers == subscribers_.end())
      continue;
    auto& v = readers->second;
    v.erase(std::remove(v.begin(), v.end(), &reader), v.end());
    if (v.empty())
      subscribers_.erase(readers);
  }
  // Its memory goes too: an idle user that left holds none.
  std::vector<uint64_t>{}.swap(reader.streams_);
}

std::vector<stream_index::fanned>
stream_index::fan_out(const std::vector<storage::log_entry>& entries,
                      int64_t after) const {
  std::vector<fanned> out;
  add_items(out, ++batches_, entries, after);
  return out;
}

std::vector<stream_index::fanned> stream_index::fan_out(
  const std::vector<std::shared_ptr<const storage::log_batch>>& batches,
  int64_t after) const {
  std::vector<fanned> out;
  auto batch = ++batches_;
  for (const auto& b : batches) {
    add_items(out, batch, b->entries, after);
    after = std::max(after, b->through);
  }
  return out;
}

void stream_index::add_items(std::vector<fanned>& out, uint64_t batch,
                             const std::vector<storage::log_entry>& entries,
                             int64_t after) const {
  for (const auto& entry : entries) {
    if (entry.position <= after)
      continue;
    for (const auto& stream : entry.streams) {
      auto k = key(stream);
      if (!k)
        continue;
      auto readers = subscribers_.find(*k);
      if (readers == subscribers_.end())
        continue;
      for (auto* reader : readers->second) {
        if (reader->batch_ != batch) {
          reader->batch_ = batch;
          reader->slot_ = static_cast<uint32_t>(out.size());
          out.push_back({reader, {}});
        }
        auto& items = out[reader->slot_].items.items;
        // Entries come in position order: a second stream of the same
        // entry shows as the same last position.
        if (!items.empty() && items.back().position == entry.position)
          continue;
        items.push_back({entry.position, entry.message});
      }
    }
  }
}

size_t stream_index::subscribers(const std::string& stream) const {
  auto k = key(stream);
  if (!k)
    return 0;
  auto it = subscribers_.find(*k);
  return it == subscribers_.end() ? 0 : it->second.size();
}

std::vector<std::string>
stream_index::streams_of(const stream_reader& reader) const {
  std::vector<std::string> names;
  names.reserve(reader.streams_.size());
  for (auto k : reader.streams_)
    names.push_back(name_of(k));
  return names;
}

} // namespace herald::actors
