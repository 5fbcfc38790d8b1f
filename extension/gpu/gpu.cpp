// See gpu.h. The library is opened at most once per backend and per path; a failure is
// remembered too, so that ruvector.gpu = auto does not retry it on every search.
#include "extension/gpu/gpu.h"

#include "extension/boundary.h"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

#include <cstring>
#include <string>

#include "rulake/scan_dispatch.h"

namespace ruvector::pg::gpu {

namespace {

namespace core = ::ruvector::rulake;

int gpu_mode = static_cast<int>(core::GpuMode::kOff);
char* gpu_library = nullptr;

const struct config_enum_entry kModes[] = {{"off", static_cast<int>(core::GpuMode::kOff), false},
                                           {"auto", static_cast<int>(core::GpuMode::kAuto), false},
                                           {"on", static_cast<int>(core::GpuMode::kOn), false},
                                           {nullptr, 0, false}};

// What the last load attempt gave, for the path it was made with. Plain storage: it lives
// as long as the process, like the library it describes.
struct Loaded {
  bool tried;
  bool ok;
  char path[MAXPGPATH];
  char error[512];
  RvScanKernel kernel;
};
Loaded loaded;

// "$libdir/name" as the server's own modules are named; ".so" added when missing.
void resolve(const char* setting, char* out) {
  if (strncmp(setting, "$libdir/", 8) == 0)
    snprintf(out, MAXPGPATH, "%s/%s", pkglib_path, setting + 8);
  else
    strlcpy(out, setting, MAXPGPATH);
  if (strchr(last_dir_separator(out) ? last_dir_separator(out) : out, '.') == nullptr)
    strlcat(out, DLSUFFIX, MAXPGPATH);
}

const RvScanKernel* gpu_kernel(const char** error) {
  char path[MAXPGPATH];
  resolve(gpu_library != nullptr ? gpu_library : "", path);
  if (!loaded.tried || strcmp(path, loaded.path) != 0) {
    loaded.tried = true;
    strlcpy(loaded.path, path, sizeof(loaded.path));
    struct Attempt {
      bool ok;
      char error[512];
    } attempt = guard([&] {
      Attempt a{};
      std::string why;
      a.ok = core::load_scan_kernel(path, &loaded.kernel, &why);
      strlcpy(a.error, why.c_str(), sizeof(a.error));
      return a;
    });
    loaded.ok = attempt.ok;
    strlcpy(loaded.error, attempt.error, sizeof(loaded.error));
  }
  *error = loaded.error;
  return loaded.ok ? &loaded.kernel : nullptr;
}

}  // namespace

void init_gucs() {
  DefineCustomEnumVariable(
      "ruvector.gpu", "Whether batch searches run their scan on a GPU.",
      "off: always the CPU. auto: the GPU when its kernel library loads, a device is present "
      "and the batch is large enough. on: the GPU, or an error saying why not.",
      &gpu_mode, static_cast<int>(core::GpuMode::kOff), kModes, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomStringVariable(
      "ruvector.gpu_library", "The GPU scan kernel library ruvector.gpu loads.",
      "Built by make WITH_CUDA=1 and installed as $libdir/ruvector_cuda.", &gpu_library,
      "$libdir/ruvector_cuda", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("ruvector");
}

const RvScanKernel& scan_kernel(Size batch, bool needs_determinism) {
  const auto mode = static_cast<core::GpuMode>(gpu_mode);
  const RvScanKernel* gpu = nullptr;
  const char* error = "";
  if (mode != core::GpuMode::kOff) gpu = gpu_kernel(&error);
  struct Choice {
    const RvScanKernel* kernel;
    char error[600];
  } choice = guard([&] {
    core::KernelChoice c = core::choose_scan_kernel(mode, gpu, error, batch, needs_determinism);
    Choice out{c.kernel, ""};
    strlcpy(out.error, c.error.c_str(), sizeof(out.error));
    return out;
  });
  if (choice.kernel == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s", choice.error),
                    errhint("Set ruvector.gpu to auto or off to use the CPU.")));
  }
  return *choice.kernel;
}

bool may_fall_back() { return static_cast<core::GpuMode>(gpu_mode) == core::GpuMode::kAuto; }

}  // namespace ruvector::pg::gpu
