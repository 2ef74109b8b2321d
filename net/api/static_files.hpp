#pragma once

#include "net/router.hpp"

#include <string>
#include <vector>

namespace herald::net::api {

/// Serves the files under `root` for GET and HEAD requests no route
/// matched: a folder's index.html for a path ending in "/", "/" itself
/// redirected to `landing`. Content types by extension; `Cache-Control:
/// no-cache` with an ETag, so that browsers revalidate and get 304. Never
/// a directory listing, never a file outside `root` (no "..", no
/// dot-files), 404 as JSON for the rest and for paths under a `hidden`
/// prefix (the operator console is served on the admin listener only).
void add_static_files(router& routes, std::string root, std::string landing,
                      std::vector<std::string> hidden = {});

} // namespace herald::net::api
