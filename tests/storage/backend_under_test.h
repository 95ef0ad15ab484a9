// One database behind the Datasource contract, as the conformance suite drives it: opened and
// reopened (a server restart), written by "another program" (SQL on its own connection), and
// described by what differs legitimately between engines (reserved names, type spellings,
// MySQL refusing pushes). Everything else must behave the same on every backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/datasource.h"
#include "sync/hlc.h"

namespace tandem::testing {

class BackendUnderTest {
 public:
  virtual ~BackendUnderTest() = default;

  // A datasource on the backend's database (the same data each time it is called).
  virtual std::unique_ptr<storage::Datasource> open(sync::HlcClock& clock) = 0;
  // Runs SQL (statements separated by ';') as a separate client program would.
  virtual void outside(const std::string& sql) = 0;

  // Names Tandem must refuse to track: the engine's catalogs and Tandem's own tables.
  virtual std::vector<std::string> reserved_table_names() const = 0;
  // How the engine spells a binary column type.
  virtual std::string blob_type() const = 0;
  // A text column type whose collation ignores case (creating the collation if the engine
  // needs one): where a comparison that is not exact would let "ALICE" equal "alice".
  virtual std::string case_insensitive_text_type() = 0;
  // SQL that drops a column of a tracked table, as docs/admin-api.md tells users to.
  virtual std::string drop_column_sql(const std::string& table, const std::string& column) const {
    return "ALTER TABLE " + table + " DROP COLUMN " + column;
  }
};

// "sqlite", "postgres_trigger", "postgres_logical", "mysql": the backends this build has.
std::vector<std::string> backends_in_this_build();
// Those that apply pushed mutations (MySQL is read-only: it refuses them).
std::vector<std::string> writable_backends_in_this_build();
std::unique_ptr<BackendUnderTest> make_backend(const std::string& name);

}  // namespace tandem::testing
