// The communicator over Open MPI (see comm.h), with the arrival check that gives every collective
// a deadline and names the rank that did not come:
//
//   every rank r != 0 posts "arrived at collective #k (kind, signature)" to rank 0 and waits for
//   rank 0's "root arrived at #k"; rank 0 posts that to every rank and waits for all arrivals.
//   Rank 0 past the deadline: "rank R did not reach all-reduce #k within T s", MPI_Abort.
//   Rank r past the deadline: rank 0 is the one missing. Once everyone is known to be there, the
//   collective itself runs nonblocking (MPI_Iallreduce, MPI_Ibcast, or NCCL on the GPU) and is
//   polled against a deadline too, so a rank that dies inside it cannot leave the others waiting.
//
// The signature (tensor count, shapes, dtype, device) travels with the arrival, so a rank that
// passes other tensors than rank 0 ends the job with that message instead of corrupting memory.
#include "comm.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "buckets.h"
#include "core/error.h"

#if defined(RNNLM_HAVE_NCCL)
#include "nccl_path.h"
#endif
#if defined(RNNLM_HAVE_MPI)
#include "mpi_api.h"
#endif

// Why the build left MPI or NCCL out (string literals from cmake/distributed.cmake).
#if !defined(RNNLM_MPI_REASON)
#define RNNLM_MPI_REASON "built without it"
#endif
#if !defined(RNNLM_NCCL_REASON)
#define RNNLM_NCCL_REASON "built without it"
#endif

namespace rnnlm::dist {

LibraryInfo mpi_info() {
  LibraryInfo out;
#if defined(RNNLM_HAVE_MPI)
  out.compiled = true;
  std::string reason;
  if (const MpiApi* mpi = mpi_api(&reason)) {
    out.available = true;
    out.library = mpi->library;
    out.version = mpi->version;
  } else {
    out.reason = reason;
  }
#else
  out.reason = "this build of rnnlm has no MPI support (" RNNLM_MPI_REASON ")";
#endif
  return out;
}

LibraryInfo nccl_info() {
#if defined(RNNLM_HAVE_NCCL)
  return nccl::library_info();
#else
  LibraryInfo out;
  out.reason = "this build of rnnlm has no NCCL support (" RNNLM_NCCL_REASON ")";
  return out;
#endif
}

#if defined(RNNLM_HAVE_MPI)

namespace {

using Clock = std::chrono::steady_clock;

enum class Kind : int64_t { AllReduce = 1, AllReduceNumbers, Broadcast, BroadcastValue, Barrier, Finalize, NcclSetup };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::AllReduce: return "all-reduce";
    case Kind::AllReduceNumbers: return "all-reduce of numbers";
    case Kind::Broadcast: return "broadcast";
    case Kind::BroadcastValue: return "broadcast of a value";
    case Kind::Barrier: return "barrier";
    case Kind::Finalize: return "finalize";
    case Kind::NcclSetup: return "NCCL setup";
  }
  return "collective";
}

// The control message: which collective a rank has reached.
struct Arrival {
  int64_t sequence;
  int64_t kind;
  uint64_t signature;
};
constexpr int kArriveTag = 1;    // rank r -> rank 0
constexpr int kRootHereTag = 2;  // rank 0 -> rank r

struct PendingSend {
  Arrival message;
  MPI_Request request;
};

struct State {
  const MpiApi* mpi = nullptr;
  MPI_Comm control = nullptr;  // arrival messages
  MPI_Comm data = nullptr;     // the collectives themselves
  World world;
  int64_t timeout_ms = 120000;
  int64_t bucket_bytes = 25 * 1024 * 1024;
  int64_t sequence = 0;
  bool finalized = false;
  std::list<PendingSend> sends;  // stable addresses while MPI owns them
  std::vector<float> host[2];    // double-buffered buckets
  std::vector<unsigned char> host_bytes;
};

State* g_state = nullptr;  // set once by init, kept for the process's life
std::mutex g_init_mutex;

State& state(const char* what) {
  if (g_state == nullptr)
    fail(code::kDistributed, std::string(what) + ": the distributed communicator is not initialised (initDistributed)");
  if (g_state->finalized) fail(code::kDistributed, std::string(what) + ": the distributed communicator was finalized");
  return *g_state;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  std::string message = std::string("MPI: ") + what + " failed (error " + std::to_string(rc) + ")";
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  if (g_state != nullptr && g_state->mpi->error_string(rc, text, &length) == MPI_SUCCESS)
    message += ": " + std::string(text, static_cast<size_t>(length > 0 ? length : 0));
  fail(code::kDistributed, message);
}

std::string seconds(int64_t ms) {
  char text[32];
  if (ms % 1000 == 0) {
    std::snprintf(text, sizeof text, "%lld s", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(ms) / 1000.0);
  }
  return text;
}

[[noreturn]] void end_job(const std::string& message) {
  std::fprintf(stderr, "rnnlm: %s\n", message.c_str());
  std::fflush(stderr);
  if (g_state != nullptr) g_state->mpi->abort(g_state->mpi->world, 1);
  std::_Exit(1);  // MPI_Abort does not return; this is for a broken MPI only
}

std::chrono::milliseconds timeout() { return std::chrono::milliseconds(g_state->timeout_ms); }

// Rank 0 names a missing rank at its own deadline; the others wait longer for the collective
// itself, so that rank 0's message, which names the culprit, comes first.
std::chrono::milliseconds collective_timeout() {
  if (g_state->world.rank == 0) return timeout();
  return timeout() + std::max(std::chrono::milliseconds(1000), timeout() / 2);
}

bool test(MPI_Request& request) {
  int flag = 0;
  check(g_state->mpi->test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}

// Calls `ready` until it is true (then true) or the deadline passes (then false). A nonblocking
// collective progresses only inside MPI calls, so it spins at first; a long wait yields and then
// sleeps briefly, leaving the CPU to ranks that share it.
template <typename Ready>
bool wait_until(Clock::time_point deadline, Ready&& ready) {
  const Clock::time_point start = Clock::now();
  for (;;) {
    if (ready()) return true;
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    const auto waited = now - start;
    if (waited > std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    } else if (waited > std::chrono::milliseconds(1)) {
      std::this_thread::yield();
    }
  }
}

void post_arrival(int to, int tag, const Arrival& message) {
  State& s = *g_state;
  for (auto it = s.sends.begin(); it != s.sends.end();) it = test(it->request) ? s.sends.erase(it) : std::next(it);
  s.sends.push_back({message, MPI_Request()});
  PendingSend& p = s.sends.back();
  check(s.mpi->isend(&p.message, sizeof(Arrival), s.mpi->byte, to, tag, s.control, &p.request), "MPI_Isend");
}

std::string where(const Arrival& a) {
  return std::string(kind_name(static_cast<Kind>(a.kind))) + " #" + std::to_string(a.sequence);
}

std::string mismatch(int rank, const Arrival& theirs, const Arrival& root) {
  const std::string rule = " (every rank must make the same collective calls in the same order, with tensors of the same shapes); ending the job";
  if (theirs.sequence == root.sequence && theirs.kind == root.kind)
    return "rank " + std::to_string(rank) + " passed other tensors or values to " + where(theirs) + " than rank 0 did" + rule;
  return "rank " + std::to_string(rank) + " reached " + where(theirs) + " where rank 0 reached " + where(root) + rule;
}

// The arrival check before collective #k (see the top of this file).
void arrive(Kind kind, uint64_t signature) {
  State& s = *g_state;
  const Arrival mine{++s.sequence, static_cast<int64_t>(kind), signature};
  const int size = s.world.size;
  if (size == 1) return;
  const std::string lost = " within " + seconds(s.timeout_ms) + " (stalled or dead); ending the job";
  if (s.world.rank == 0) {
    for (int r = 1; r < size; ++r) post_arrival(r, kRootHereTag, mine);
    std::vector<Arrival> got(static_cast<size_t>(size));
    std::vector<MPI_Request> requests(static_cast<size_t>(size));
    std::vector<char> arrived(static_cast<size_t>(size), 0);
    arrived[0] = 1;
    for (int r = 1; r < size; ++r)
      check(s.mpi->irecv(&got[r], sizeof(Arrival), s.mpi->byte, r, kArriveTag, s.control, &requests[r]), "MPI_Irecv");
    const bool everyone = wait_until(Clock::now() + timeout(), [&] {
      bool all = true;
      for (int r = 1; r < size; ++r) {
        if (!arrived[r]) arrived[r] = test(requests[r]) ? 1 : 0;
        all = all && arrived[r];
      }
      return all;
    });
    if (!everyone) {
      std::string missing;
      int count = 0;
      for (int r = 1; r < size; ++r) {
        if (arrived[r]) continue;
        missing += (count++ > 0 ? ", " : "") + std::to_string(r);
      }
      end_job((count == 1 ? "rank " : "ranks ") + missing + " did not reach " + where(mine) + lost);
    }
    for (int r = 1; r < size; ++r) {
      const Arrival& a = got[r];
      if (a.sequence != mine.sequence || a.kind != mine.kind || a.signature != mine.signature) end_job(mismatch(r, a, mine));
    }
    return;
  }
  post_arrival(0, kArriveTag, mine);
  Arrival root{};
  MPI_Request request;
  check(s.mpi->irecv(&root, sizeof(Arrival), s.mpi->byte, 0, kRootHereTag, s.control, &request), "MPI_Irecv");
  if (!wait_until(Clock::now() + timeout(), [&] { return test(request); })) end_job("rank 0 did not reach " + where(mine) + lost);
  if (root.sequence != mine.sequence || root.kind != mine.kind || root.signature != mine.signature) {
    // Rank 0 saw it too and ends the job with the message; this is the net if it does not.
    std::this_thread::sleep_for(collective_timeout());
    end_job(mismatch(s.world.rank, mine, root));
  }
}

// Waits for a nonblocking collective started after arrive().
void finish(MPI_Request& request, Kind kind) {
  State& s = *g_state;
  if (!wait_until(Clock::now() + collective_timeout(), [&] { return test(request); })) {
    end_job(std::string(kind_name(kind)) + " #" + std::to_string(s.sequence) + " did not complete on rank " +
            std::to_string(s.world.rank) + " within " + seconds(collective_timeout().count()) +
            " after every rank had arrived (a rank stalled or died inside it); ending the job");
  }
}

uint64_t mix(uint64_t h, uint64_t v) {  // FNV-1a over 64-bit words
  h ^= v;
  return h * 1099511628211ULL;
}

uint64_t signature_of(const std::vector<Tensor>& tensors) {
  uint64_t h = mix(14695981039346656037ULL, tensors.size());
  for (const Tensor& t : tensors) {
    h = mix(h, (static_cast<uint64_t>(t.dtype()) << 8) | static_cast<uint64_t>(t.device()));
    h = mix(h, t.shape().size());
    for (int64_t d : t.shape()) h = mix(h, static_cast<uint64_t>(d));
  }
  return h;
}

// One device for the whole list; float32 when `need_f32`.
Device common_device(const std::vector<Tensor>& tensors, const char* what, bool need_f32) {
  Device device = tensors.empty() ? Device::CPU : tensors[0].device();
  for (const Tensor& t : tensors) {
    if (t.device() != device) fail(code::kDevice, std::string(what) + ": every tensor must be on the same device");
    if (need_f32 && t.dtype() != DType::F32) fail(code::kDType, std::string(what) + ": tensors must be float32");
  }
  if (device == Device::CUDA && !g_state->world.nccl)
    fail(code::kDistributed, std::string(what) + ": CUDA tensors need the NCCL communicator (initDistributed with device 'cuda')");
  return device;
}

std::vector<int64_t> element_counts(const std::vector<Tensor>& tensors, bool bytes) {
  std::vector<int64_t> n;
  n.reserve(tensors.size());
  for (const Tensor& t : tensors) n.push_back(bytes ? static_cast<int64_t>(t.bytes()) : t.numel());
  return n;
}

#if defined(RNNLM_HAVE_NCCL)
nccl::Wait gpu_wait(Kind kind) {
  return [kind](const std::function<bool()>& ready) {
    if (!wait_until(Clock::now() + collective_timeout(), ready)) {
      end_job(std::string(kind_name(kind)) + " #" + std::to_string(g_state->sequence) + " did not complete on GPU " +
              std::to_string(nccl::device()) + " of rank " + std::to_string(g_state->world.rank) + " within " +
              seconds(collective_timeout().count()) + " after every rank had arrived (a rank stalled or died inside it); ending the job");
    }
  };
}
#endif

// Host tensors: pack bucket b+1 while bucket b is being reduced; unpack (and scale) as each ends.
void host_all_reduce(const std::vector<Tensor>& tensors, float scale) {
  State& s = *g_state;
  const std::vector<Bucket> buckets = plan_buckets(element_counts(tensors, false), s.bucket_bytes / 4);
  const size_t room = static_cast<size_t>(largest_bucket(buckets));
  for (std::vector<float>& h : s.host)
    if (h.size() < room) h.resize(room);
  auto pack = [&](size_t b) {
    float* buffer = s.host[b % 2].data();
    for (const Piece& p : buckets[b].pieces)
      std::memcpy(buffer + p.bucket_offset, tensors[p.tensor].f32() + p.offset, static_cast<size_t>(p.count) * 4);
  };
  auto unpack = [&](size_t b) {
    const float* buffer = s.host[b % 2].data();
    for (const Piece& p : buckets[b].pieces) {
      float* dst = tensors[p.tensor].f32() + p.offset;
      const float* src = buffer + p.bucket_offset;
      if (scale == 1.0f) {
        std::memcpy(dst, src, static_cast<size_t>(p.count) * 4);
      } else {
        for (int64_t i = 0; i < p.count; ++i) dst[i] = src[i] * scale;
      }
    }
  };
  MPI_Request request;
  auto start = [&](size_t b) {
    check(s.mpi->iallreduce(MPI_IN_PLACE, s.host[b % 2].data(), static_cast<int>(buckets[b].count), s.mpi->f32,
                            s.mpi->sum, s.data, &request),
          "MPI_Iallreduce");
  };
  if (buckets.empty()) return;
  pack(0);
  start(0);
  for (size_t b = 0; b < buckets.size(); ++b) {
    if (b + 1 < buckets.size()) pack(b + 1);
    finish(request, Kind::AllReduce);
    if (b + 1 < buckets.size()) start(b + 1);
    unpack(b);
  }
}

void host_broadcast(const std::vector<Tensor>& tensors, int root) {
  State& s = *g_state;
  const std::vector<Bucket> buckets = plan_buckets(element_counts(tensors, true), s.bucket_bytes);
  const size_t room = static_cast<size_t>(largest_bucket(buckets));
  if (s.host_bytes.size() < room) s.host_bytes.resize(room);
  unsigned char* buffer = s.host_bytes.data();
  for (const Bucket& bucket : buckets) {
    if (s.world.rank == root) {
      for (const Piece& p : bucket.pieces)
        std::memcpy(buffer + p.bucket_offset, static_cast<unsigned char*>(tensors[p.tensor].data()) + p.offset, static_cast<size_t>(p.count));
    }
    MPI_Request request;
    check(s.mpi->ibcast(buffer, static_cast<int>(bucket.count), s.mpi->byte, root, s.data, &request), "MPI_Ibcast");
    finish(request, Kind::Broadcast);
    if (s.world.rank != root) {
      for (const Piece& p : bucket.pieces)
        std::memcpy(static_cast<unsigned char*>(tensors[p.tensor].data()) + p.offset, buffer + p.bucket_offset, static_cast<size_t>(p.count));
    }
  }
}

void check_root(int root, const char* what) {
  if (root < 0 || root >= g_state->world.size)
    fail(code::kArgument, std::string(what) + ": root " + std::to_string(root) + " is not a rank in [0, " + std::to_string(g_state->world.size) + ")");
}

}  // namespace

World init(const Options& options) {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_state != nullptr) {
    if (g_state->finalized) fail(code::kDistributed, "initDistributed: the communicator was finalized; MPI cannot start again in this process");
    return g_state->world;
  }
  if (options.timeout_ms <= 0) fail(code::kArgument, "initDistributed: timeoutMs must be positive");
  if (options.bucket_bytes < 4 || options.bucket_bytes > (int64_t{1} << 30))
    fail(code::kArgument, "initDistributed: the bucket size must be within [4 bytes, 1 GiB]");
  if (options.cuda) {
    const LibraryInfo n = nccl_info();
    if (!n.available) fail(code::kDistributed, "initDistributed: device 'cuda' trains over NCCL, which is unusable: " + n.reason);
  }
  std::string reason;
  const MpiApi* mpi = mpi_api(&reason);
  if (mpi == nullptr) fail(code::kDistributed, "initDistributed: " + reason);
  int already = 0;
  mpi->initialized(&already);
  if (!already) {
    int provided = 0;
    const int rc = mpi->init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) fail(code::kDistributed, "initDistributed: MPI_Init_thread failed (error " + std::to_string(rc) + ")");
  }
  auto* s = new State();
  s->mpi = mpi;
  s->timeout_ms = options.timeout_ms;
  s->bucket_bytes = options.bucket_bytes / 4 * 4;
  g_state = s;
  check(mpi->comm_set_errhandler(mpi->world, mpi->errors_return), "MPI_Comm_set_errhandler");
  check(mpi->comm_dup(mpi->world, &s->control), "MPI_Comm_dup");
  check(mpi->comm_dup(mpi->world, &s->data), "MPI_Comm_dup");
  check(mpi->comm_rank(mpi->world, &s->world.rank), "MPI_Comm_rank");
  check(mpi->comm_size(mpi->world, &s->world.size), "MPI_Comm_size");
  MPI_Comm local = nullptr;
  check(mpi->comm_split_type(mpi->world, MPI_COMM_TYPE_SHARED, 0, mpi->info_null, &local), "MPI_Comm_split_type");
  check(mpi->comm_rank(local, &s->world.local_rank), "MPI_Comm_rank");
  check(mpi->comm_size(local, &s->world.local_size), "MPI_Comm_size");
  check(mpi->comm_free(&local), "MPI_Comm_free");
#if defined(RNNLM_HAVE_NCCL)
  if (options.cuda) {
    arrive(Kind::NcclSetup, 0);
    nccl::init(s->world.rank, s->world.size, s->world.local_rank, [s](void* id, size_t bytes) {
      MPI_Request request;
      check(s->mpi->ibcast(id, static_cast<int>(bytes), s->mpi->byte, 0, s->data, &request), "MPI_Ibcast");
      finish(request, Kind::NcclSetup);
    });
    s->world.nccl = true;
  }
#endif
  return s->world;
}

bool initialized() { return g_state != nullptr && !g_state->finalized; }

void all_reduce_sum(const std::vector<Tensor>& tensors, float scale) {
  state("allReduceSum_");
  const Device device = common_device(tensors, "allReduceSum_", true);
  arrive(Kind::AllReduce, signature_of(tensors));
  if (tensors.empty()) return;
#if defined(RNNLM_HAVE_NCCL)
  if (device == Device::CUDA) return nccl::all_reduce_sum(tensors, scale, g_state->bucket_bytes, gpu_wait(Kind::AllReduce));
#endif
  (void)device;
  host_all_reduce(tensors, scale);
}

std::vector<double> all_reduce_numbers(const std::vector<double>& values) {
  State& s = state("allReduceNumbers");
  if (values.size() > (size_t{1} << 20)) fail(code::kArgument, "allReduceNumbers: at most 2^20 numbers (reduce tensors with allReduceSum_)");
  arrive(Kind::AllReduceNumbers, values.size());
  std::vector<double> sums(values);
  if (sums.empty()) return sums;
  MPI_Request request;
  check(s.mpi->iallreduce(MPI_IN_PLACE, sums.data(), static_cast<int>(sums.size()), s.mpi->f64, s.mpi->sum, s.data, &request),
        "MPI_Iallreduce");
  finish(request, Kind::AllReduceNumbers);
  return sums;
}

void broadcast(const std::vector<Tensor>& tensors, int root) {
  state("broadcast_");
  check_root(root, "broadcast_");
  const Device device = common_device(tensors, "broadcast_", false);
  arrive(Kind::Broadcast, mix(signature_of(tensors), static_cast<uint64_t>(root)));
  if (tensors.empty()) return;
#if defined(RNNLM_HAVE_NCCL)
  if (device == Device::CUDA) return nccl::broadcast(tensors, root, g_state->bucket_bytes, gpu_wait(Kind::Broadcast));
#endif
  (void)device;
  host_broadcast(tensors, root);
}

std::string broadcast_bytes(const std::string& value, int root) {
  State& s = state("broadcastJson");
  check_root(root, "broadcastJson");
  if (s.world.rank == root && value.size() > static_cast<size_t>(1 << 30)) fail(code::kArgument, "broadcastJson: the value is over 1 GiB");
  arrive(Kind::BroadcastValue, static_cast<uint64_t>(root));
  int64_t length = static_cast<int64_t>(value.size());
  MPI_Request request;
  check(s.mpi->ibcast(&length, sizeof length, s.mpi->byte, root, s.data, &request), "MPI_Ibcast");
  finish(request, Kind::BroadcastValue);
  std::string out = s.world.rank == root ? value : std::string(static_cast<size_t>(length), '\0');
  if (length > 0) {
    check(s.mpi->ibcast(out.data(), static_cast<int>(length), s.mpi->byte, root, s.data, &request), "MPI_Ibcast");
    finish(request, Kind::BroadcastValue);
  }
  return out;
}

void barrier() {
  state("barrier");
  arrive(Kind::Barrier, 0);
}

void abort_job(const std::string& message) { end_job(message); }

void finalize() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_state == nullptr || g_state->finalized) return;
  State& s = *g_state;
  arrive(Kind::Finalize, 0);
  if (!wait_until(Clock::now() + collective_timeout(), [&] {
        for (auto it = s.sends.begin(); it != s.sends.end();) it = test(it->request) ? s.sends.erase(it) : std::next(it);
        return s.sends.empty();
      })) {
    end_job("finalize #" + std::to_string(s.sequence) + ": rank " + std::to_string(s.world.rank) + "'s last messages were not delivered within " + seconds(collective_timeout().count()));
  }
#if defined(RNNLM_HAVE_NCCL)
  nccl::shutdown();
#endif
  check(s.mpi->comm_free(&s.control), "MPI_Comm_free");
  check(s.mpi->comm_free(&s.data), "MPI_Comm_free");
  s.finalized = true;
  int done = 0;
  s.mpi->finalized(&done);
  if (!done) check(s.mpi->finalize(), "MPI_Finalize");
}

#else  // no MPI in this build

World init(const Options&) { fail(code::kDistributed, mpi_info().reason); }
bool initialized() { return false; }
void all_reduce_sum(const std::vector<Tensor>&, float) { fail(code::kDistributed, mpi_info().reason); }
std::vector<double> all_reduce_numbers(const std::vector<double>&) { fail(code::kDistributed, mpi_info().reason); }
void broadcast(const std::vector<Tensor>&, int) { fail(code::kDistributed, mpi_info().reason); }
std::string broadcast_bytes(const std::string&, int) { fail(code::kDistributed, mpi_info().reason); }
void barrier() { fail(code::kDistributed, mpi_info().reason); }
void abort_job(const std::string& message) {
  std::fprintf(stderr, "rnnlm: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}
void finalize() {}

#endif

}  // namespace rnnlm::dist
