// Loading Open MPI at run time (see mpi_api.h).
#if defined(RNNLM_HAVE_MPI)
#include "mpi_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <type_traits>
#include <mutex>
#include <vector>

namespace rnnlm::dist {

namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> names;
  if (const char* env = std::getenv("RNNLM_MPI_LIBRARY"); env != nullptr && *env != '\0') names.push_back(env);
#if defined(RNNLM_MPI_BUILD_LIBRARY)
  names.push_back(RNNLM_MPI_BUILD_LIBRARY);
#endif
  names.push_back("libmpi.so.40");
  names.push_back("libmpi.so");
  return names;
}

// Loads the entry points from `lib`; false (with the missing name) when one is absent.
bool bind(void* lib, MpiApi& api, std::string& missing) {
  auto sym = [&](auto& slot, const char* name) {
    void* p = dlsym(lib, name);
    if (p == nullptr && missing.empty()) missing = name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(p);
  };
  sym(api.init_thread, "MPI_Init_thread");
  sym(api.initialized, "MPI_Initialized");
  sym(api.finalized, "MPI_Finalized");
  sym(api.finalize, "MPI_Finalize");
  sym(api.abort, "MPI_Abort");
  sym(api.library_version, "MPI_Get_library_version");
  sym(api.error_string, "MPI_Error_string");
  sym(api.comm_rank, "MPI_Comm_rank");
  sym(api.comm_size, "MPI_Comm_size");
  sym(api.comm_dup, "MPI_Comm_dup");
  sym(api.comm_split_type, "MPI_Comm_split_type");
  sym(api.comm_free, "MPI_Comm_free");
  sym(api.comm_set_errhandler, "MPI_Comm_set_errhandler");
  sym(api.isend, "MPI_Isend");
  sym(api.irecv, "MPI_Irecv");
  sym(api.test, "MPI_Test");
  sym(api.iallreduce, "MPI_Iallreduce");
  sym(api.ibcast, "MPI_Ibcast");
  // The predefined handles are the addresses of these objects (Open MPI's ABI).
  sym(api.world, "ompi_mpi_comm_world");
  sym(api.f32, "ompi_mpi_float");
  sym(api.f64, "ompi_mpi_double");
  sym(api.byte, "ompi_mpi_byte");
  sym(api.sum, "ompi_mpi_op_sum");
  sym(api.errors_return, "ompi_mpi_errors_return");
  sym(api.info_null, "ompi_mpi_info_null");
  return missing.empty();
}

struct Loaded {
  MpiApi api;
  bool ok = false;
  std::string reason;
};

Loaded load() {
  Loaded out;
  std::string tried;
  for (const std::string& name : candidates()) {
    // RTLD_GLOBAL: Open MPI's components (mca_*.so, loaded by MPI_Init) resolve libmpi's and
    // libopen-pal's symbols from the global scope.
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) {
      const char* e = dlerror();
      tried += "\n  " + name + ": " + (e != nullptr ? e : "not loadable");
      continue;
    }
    std::string missing;
    MpiApi api;
    if (!bind(lib, api, missing)) {
      tried += "\n  " + name + ": no symbol " + missing + " (only Open MPI is supported, not MPICH)";
      dlclose(lib);
      continue;
    }
    Dl_info where{};
    api.library = dladdr(reinterpret_cast<void*>(api.init_thread), &where) != 0 && where.dli_fname != nullptr
                      ? where.dli_fname
                      : name;
    char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
    int length = 0;
    if (api.library_version(text, &length) == MPI_SUCCESS) {
      std::string v(text, static_cast<size_t>(length > 0 ? length : 0));
      api.version = v.substr(0, v.find(','));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
      while (!api.version.empty() && (api.version.back() == '\n' || api.version.back() == ' ')) api.version.pop_back();
    }
    out.api = api;
    out.ok = true;
    return out;
  }
  out.reason = "Open MPI's libmpi could not be loaded (install openmpi-bin / libopenmpi-dev, or set RNNLM_MPI_LIBRARY):" + tried;
  return out;
}

}  // namespace

const MpiApi* mpi_api(std::string* reason) {
  static Loaded* loaded = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { loaded = new Loaded(load()); });  // kept for the process's life
  if (!loaded->ok) {
    if (reason != nullptr) *reason = loaded->reason;
    return nullptr;
  }
  return &loaded->api;
}

}  // namespace rnnlm::dist
#endif  // RNNLM_HAVE_MPI
