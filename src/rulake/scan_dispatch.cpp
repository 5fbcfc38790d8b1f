// See scan_dispatch.h.
#include "rulake/scan_dispatch.h"

#include <dlfcn.h>

#include "rulake/cpu_scan_kernel.h"

namespace ruvector::rulake {

KernelChoice choose_scan_kernel(GpuMode mode, const RvScanKernel* gpu, const char* gpu_error,
                                std::size_t batch, bool needs_determinism) {
  const RvScanKernel* cpu = &cpu_scan_kernel();
  if (mode == GpuMode::kOff) return {cpu, {}};
  const bool usable = gpu != nullptr && (gpu->deterministic || !needs_determinism);
  if (mode == GpuMode::kAuto) return {usable && batch >= gpu->min_batch ? gpu : cpu, {}};
  if (gpu == nullptr)
    return {nullptr, std::string("no GPU scan kernel is usable: ") +
                         (gpu_error != nullptr && *gpu_error ? gpu_error : "none was loaded")};
  if (!usable)
    return {nullptr, std::string("the ") + gpu->name +
                         " scan kernel is not deterministic and cannot serve a fresh or frozen "
                         "collection"};
  return {gpu, {}};
}

bool load_scan_kernel(const char* path, RvScanKernel* out, std::string* error) {
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = why != nullptr ? why : std::string("cannot load ") + path;
    return false;
  }
  auto entry = reinterpret_cast<RvScanKernelEntry>(dlsym(handle, RV_SCAN_KERNEL_ENTRY));
  if (entry == nullptr) {
    *error = std::string(path) + " has no " RV_SCAN_KERNEL_ENTRY " entry point";
    dlclose(handle);
    return false;
  }
  char err[256] = "";
  RvScanKernel kernel{};
  if (entry(RV_SCAN_ABI_VERSION, &kernel, err, sizeof(err)) != 0) {
    *error = err[0] != '\0' ? err : "the kernel library refused to start";
    dlclose(handle);
    return false;
  }
  if (kernel.abi_version != RV_SCAN_ABI_VERSION || kernel.scan == nullptr ||
      kernel.rerank == nullptr || kernel.name == nullptr) {
    *error = std::string(path) + " speaks scan kernel ABI " + std::to_string(kernel.abi_version) +
             ", not " + std::to_string(RV_SCAN_ABI_VERSION);
    dlclose(handle);
    return false;
  }
  // Kept open: the kernel's functions live in it.
  *out = kernel;
  return true;
}

}  // namespace ruvector::rulake
