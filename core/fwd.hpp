#pragma once

// Forward declarations of herald_core: pure code with no CAF, Beast or pqxx.
namespace herald {

class readiness_board;

} // namespace herald
