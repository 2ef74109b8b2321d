#include "actors/app_refresher.hpp"

#include "actors/type_ids.hpp"
#include "core/app_directory.hpp"
#include "core/log.hpp"
#include "storage/app_catalog.hpp"
#include "storage/error.hpp"

#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace herald::actors {

namespace {

struct refresher_state {
  std::unique_ptr<storage::app_catalog> catalog;
  std::shared_ptr<app_directory> directory;
  caf::timespan interval;
  size_t loads = 0;
  std::string last_error;
  static inline const char* name = "app_refresher";
};

using refresher_actor = caf::stateful_actor<refresher_state>;

caf::behavior refresher(refresher_actor* self, std::string url,
                        caf::timespan interval,
                        std::shared_ptr<app_directory> directory) {
  auto& st = self->state;
  st.catalog = std::make_unique<storage::app_catalog>(std::move(url));
  st.directory = std::move(directory);
  st.interval = interval;
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      auto& st = self->state;
      try {
        st.directory->replace(st.catalog->load());
        ++st.loads;
        st.last_error.clear();
      } catch (const storage::error& e) {
        // Keep serving the apps we know; say so once per failure streak.
        if (st.last_error.empty())
          log::get("storage")->warn("cannot refresh apps: {}", e.what());
        st.last_error = e.what();
      }
      self->delayed_send(self, st.interval, tick_atom_v);
    },
    [self](inspect_atom) {
      auto& st = self->state;
      return nlohmann::json{{"kind", "app_refresher"},
                            {"id", self->id()},
                            {"mailbox", self->mailbox().size()},
                            {"apps", st.directory->size()},
                            {"loads", st.loads},
                            {"last_error", st.last_error}}
        .dump();
    },
  };
}

} // namespace

caf::actor spawn_app_refresher(caf::event_based_actor* parent,
                               std::string database_url, caf::timespan interval,
                               std::shared_ptr<app_directory> directory) {
  return parent->spawn<caf::detached>(refresher, std::move(database_url),
                                      interval, std::move(directory));
}

} // namespace herald::actors
