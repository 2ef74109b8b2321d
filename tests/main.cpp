// The one translation unit with CAF test's main(). Suites live in the
// folders next to this file, one file per suite; ctest runs each suite as
// its own entry (see tests/CMakeLists.txt).
#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

#include "core/log.hpp"

int main(int argc, char** argv) {
  herald::log::set_level("warn");
  return caf::test::main(argc, argv);
}
