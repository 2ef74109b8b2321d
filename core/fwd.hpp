#pragma once

// Forward declarations of herald_core: pure code with no CAF, Beast or pqxx.
namespace herald {

class app_directory;
class compiled_template;
class readiness_board;
struct cap_count;
struct delivery;

} // namespace herald
