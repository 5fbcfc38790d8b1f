// The error boundary between C++ and Postgres (DEVELOPERS.md): a C++ exception never
// crosses a Postgres frame, and a Postgres error (longjmp) never crosses a C++ frame that
// owns resources.
//
// - RUVECTOR_FUNCTION(name) defines a V1 SQL-callable function whose body runs under
//   guard(): any exception becomes ereport(ERROR) with a SQLSTATE chosen from its kind.
// - guard(fn) does the same for other entry points (index AM callbacks, hooks).
// - pg_call(fn) runs Postgres code that may ereport from inside C++ frames that own
//   resources; the error comes back as a PgError exception, and guard() re-raises it
//   unchanged at the boundary. Never swallow a PgError: the transaction must abort.
//
// A body may call Postgres directly (PG_GETARG_*, palloc) only while its own frame holds
// no object with a non-trivial destructor; otherwise wrap the call in pg_call().
#pragma once

#include "extension/pg_wrapper.h"

#include <exception>
#include <type_traits>

namespace ruvector::pg {

// A Postgres error caught by pg_call(): holds a copy of the ErrorData (palloc'd in the
// memory context that was current when pg_call() was entered).
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* edata) : edata_(edata) {}
  const char* what() const noexcept override { return edata_->message; }
  ErrorData* edata() const noexcept { return edata_; }

 private:
  ErrorData* edata_;
};

// What guard() captured, in trivially destructible storage so that it can be reported
// after every C++ object of the failing call has been destroyed.
struct CapturedError {
  int sqlstate;
  ErrorData* pg_error;  // non-null: re-raise this Postgres error as it was
  char message[1024];
  char detail[1024];
};

// raise_captured() longjmps over the frame that holds it.
static_assert(std::is_trivially_destructible_v<CapturedError>);

// Classifies the exception being handled into `out`. Call only inside a catch block.
void capture_current_exception(CapturedError* out) noexcept;

// Reports a captured error; never returns.
[[noreturn]] void raise_captured(const CapturedError* error);

template <typename Fn>
auto guard(Fn&& fn) -> decltype(fn()) {
  CapturedError captured;
  try {
    return fn();
  } catch (...) {
    capture_current_exception(&captured);
  }
  // The exception object and the try block's locals are gone; longjmp is safe here.
  raise_captured(&captured);
}

void pg_call_impl(void (*fn)(void*), void* arg);

// The InterruptCheck (util/interrupt.h) that core loops get from the extension:
// CHECK_FOR_INTERRUPTS under pg_call, so a cancel unwinds the core's frames as a PgError
// and guard() re-raises it as it was (57014 for statement_timeout).
void check_for_interrupts();

template <typename Fn>
auto pg_call(Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  if constexpr (std::is_void_v<Result>) {
    pg_call_impl([](void* f) { (*static_cast<Fn*>(f))(); }, &fn);
  } else {
    static_assert(std::is_trivially_copyable_v<Result>,
                  "pg_call returns Postgres values (Datums, pointers, scalars) only");
    struct Call {
      Fn* fn;
      Result result;
    } call{&fn, Result{}};
    pg_call_impl(
        [](void* c) {
          auto* call = static_cast<Call*>(c);
          call->result = (*call->fn)();
        },
        &call);
    return call.result;
  }
}

}  // namespace ruvector::pg

#define RUVECTOR_FUNCTION(name)                                               \
  static Datum name##_body(FunctionCallInfo fcinfo);                          \
  extern "C" {                                                                \
  PG_FUNCTION_INFO_V1(name);                                                  \
  Datum name(PG_FUNCTION_ARGS) {                                              \
    return ::ruvector::pg::guard([fcinfo]() { return name##_body(fcinfo); }); \
  }                                                                           \
  }                                                                           \
  static Datum name##_body(FunctionCallInfo fcinfo)
