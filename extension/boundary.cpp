// Maps core exceptions to SQLSTATEs and Postgres errors to exceptions; see boundary.h.
#include "extension/boundary.h"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <new>

#include "util/error.h"

namespace ruvector::pg {
namespace {

int sqlstate_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidText:
      return ERRCODE_INVALID_TEXT_REPRESENTATION;
    case ErrorKind::kInvalidParameter:
      return ERRCODE_INVALID_PARAMETER_VALUE;
    case ErrorKind::kDataException:
      return ERRCODE_DATA_EXCEPTION;
    case ErrorKind::kOutOfRange:
      return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    case ErrorKind::kProgramLimit:
      return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    case ErrorKind::kResourceLimit:
      return ERRCODE_INSUFFICIENT_RESOURCES;
    case ErrorKind::kIo:
      return ERRCODE_IO_ERROR;
    case ErrorKind::kIntegrity:
      return ERRCODE_DATA_CORRUPTED;
    case ErrorKind::kInternal:
      return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

void copy_text(char* dst, size_t size, const char* src) {
  std::snprintf(dst, size, "%s", src ? src : "");
}

}  // namespace

void capture_current_exception(CapturedError* out) noexcept {
  out->pg_error = nullptr;
  out->detail[0] = '\0';
  try {
    throw;
  } catch (const PgError& e) {
    out->pg_error = e.edata();
  } catch (const Error& e) {
    out->sqlstate = sqlstate_for(e.kind());
    copy_text(out->message, sizeof(out->message), e.what());
    copy_text(out->detail, sizeof(out->detail), e.detail().c_str());
  } catch (const std::invalid_argument& e) {
    // The core's argument checks: a caller's mistake, reported as such.
    out->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
    copy_text(out->message, sizeof(out->message), e.what());
  } catch (const std::bad_alloc&) {
    out->sqlstate = ERRCODE_OUT_OF_MEMORY;
    copy_text(out->message, sizeof(out->message), "out of memory");
  } catch (const std::exception& e) {
    out->sqlstate = ERRCODE_INTERNAL_ERROR;
    std::snprintf(out->message, sizeof(out->message), "internal error in ruvector: %s", e.what());
  } catch (...) {
    out->sqlstate = ERRCODE_INTERNAL_ERROR;
    copy_text(out->message, sizeof(out->message), "internal error in ruvector: unknown exception");
  }
}

void raise_captured(const CapturedError* error) {
  if (error->pg_error != nullptr) ReThrowError(error->pg_error);
  if (error->detail[0] != '\0') {
    ereport(ERROR, (errcode(error->sqlstate), errmsg_internal("%s", error->message),
                    errdetail_internal("%s", error->detail)));
  }
  ereport(ERROR, (errcode(error->sqlstate), errmsg_internal("%s", error->message)));
  pg_unreachable();
}

void check_for_interrupts() {
  // Cheap when nothing is pending: PG_TRY only when there is something to process.
  if (INTERRUPTS_PENDING_CONDITION()) pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

void pg_call_impl(void (*fn)(void*), void* arg) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* edata = nullptr;
  // A C++ exception must not leave the PG_TRY body: it would skip PG_END_TRY and leave
  // PG_exception_stack pointing at this dead frame. It is caught here and rethrown after.
  std::exception_ptr cxx_error;
  PG_TRY();
  {
    try {
      fn(arg);
    } catch (...) {
      cxx_error = std::current_exception();
    }
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (cxx_error) std::rethrow_exception(cxx_error);
  if (edata != nullptr) throw PgError(edata);
}

}  // namespace ruvector::pg
