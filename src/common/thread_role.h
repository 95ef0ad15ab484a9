// The threads of a Tandem process and the one rule between them: an I/O thread never waits
// on a database (docs/architecture.md, "Threads"). Each thread says what it is when it
// starts; the calls that may wait on a database (a reader connection, a writer job, the
// change-log wait) check it, so that breaking the rule fails every test that takes the path
// (debug builds abort with the call named; release builds do not check).
#pragma once

#include <string_view>

namespace tandem {

enum class ThreadRole {
  other,      // main, tests, client SDK threads
  io,         // runs the network event loop: must never block
  work_pool,  // blocking reads for sessions, /health, admin calls
  writer,     // a datasource's writer thread
  publisher,  // reads the change log and fans changes out
  capture,    // PostgreSQL logical capture
  admin_job,  // a long admin job (hard reset)
};

std::string_view thread_role_name(ThreadRole role) noexcept;

// Called once by a thread when it starts.
void set_thread_role(ThreadRole role) noexcept;
ThreadRole thread_role() noexcept;

// Called by code that may wait on a database: on an I/O thread, debug builds abort naming
// `what`. Any thread.
void expect_may_block(std::string_view what) noexcept;

}  // namespace tandem
