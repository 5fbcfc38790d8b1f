// How long core loops let a caller cancel them. The extension passes a check that runs
// CHECK_FOR_INTERRUPTS under pg_call, so a pending cancel comes back as an exception that
// unwinds the loop's frames (and their vectors) before Postgres sees the error; tests and
// tools pass none.
#pragma once

namespace ruvector {

// Throws to cancel; returns to go on. Null: nothing to check.
using InterruptCheck = void (*)();

inline void check_interrupt(InterruptCheck check) {
  if (check != nullptr) check();
}

}  // namespace ruvector
