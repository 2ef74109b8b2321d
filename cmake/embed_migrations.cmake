# Writes a C++ source defining herald::storage::bundled_migrations() from
# the numbered SQL files in schema/, so that heraldd carries its schema with
# it. Run in script mode: cmake -DSCHEMA_DIR=... -DOUTPUT=... -P this-file.

file(GLOB sql_files RELATIVE "${SCHEMA_DIR}" "${SCHEMA_DIR}/[0-9]*.sql")
list(SORT sql_files)

set(body "")
foreach(name IN LISTS sql_files)
  file(READ "${SCHEMA_DIR}/${name}" sql)
  string(FIND "${sql}" ")herald_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${name} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {\"${name}\", R\"herald_sql(${sql})herald_sql\"},\n")
endforeach()

set(content "// Generated from schema/*.sql by cmake/embed_migrations.cmake.
#include \"storage/migrations.hpp\"

namespace herald::storage {

const std::vector<migration>& bundled_migrations() {
  static const std::vector<migration> migrations{
${body}  };
  return migrations;
}

} // namespace herald::storage
")

# Rewrite only on change so that an unchanged schema rebuilds nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
