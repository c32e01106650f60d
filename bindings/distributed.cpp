// Bindings of the data-parallel communicator (native/distributed/comm.h): what was built and found,
// and the collectives, one call each. src/distributed/comm.ts wraps them.
#include <string>
#include <vector>

#include "args.h"
#include "distributed/comm.h"
#include "errors.h"
#include "exports.h"

namespace rnnlm::bindings {

namespace {

Napi::Object LibraryObject(Napi::Env env, const dist::LibraryInfo& info) {
  Napi::Object out = Napi::Object::New(env);
  auto text = [&](const std::string& s) -> Napi::Value { return s.empty() ? env.Null() : Napi::String::New(env, s); };
  out.Set("compiled", Napi::Boolean::New(env, info.compiled));
  out.Set("available", Napi::Boolean::New(env, info.available));
  out.Set("library", text(info.library));
  out.Set("version", text(info.version));
  out.Set("reason", text(info.reason));
  return out;
}

// distInfo() -> {mpi: {compiled, available, library, version, reason}, nccl: {...}}
Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("mpi", LibraryObject(env, dist::mpi_info()));
  out.Set("nccl", LibraryObject(env, dist::nccl_info()));
  return out;
}

// distInit({cuda, timeoutMs, bucketBytes}) -> {rank, size, localRank, localSize, nccl}
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object options = ToObject(Arg(info, 0), "options");
  dist::Options o;
  o.cuda = GetBoolOr(options, "cuda", false);
  o.timeout_ms = GetInt64Or(options, "timeoutMs", o.timeout_ms);
  o.bucket_bytes = GetInt64Or(options, "bucketBytes", o.bucket_bytes);
  const dist::World w = dist::init(o);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", Napi::Number::New(env, w.rank));
  out.Set("size", Napi::Number::New(env, w.size));
  out.Set("localRank", Napi::Number::New(env, w.local_rank));
  out.Set("localSize", Napi::Number::New(env, w.local_size));
  out.Set("nccl", Napi::Boolean::New(env, w.nccl));
  return out;
}

// distAllReduceSum_(tensors, scale)
Napi::Value DistAllReduceSum(const Napi::CallbackInfo& info) {
  const std::vector<Tensor> tensors = ToTensorList(Arg(info, 0), "tensors");
  dist::all_reduce_sum(tensors, ToFloat(Arg(info, 1), "scale"));
  return info.Env().Undefined();
}

// distAllReduceNumbers(Float64Array) -> Float64Array of the sums
Napi::Value DistAllReduceNumbers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Value value = Arg(info, 0);
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    ThrowArgument(env, "values must be a Float64Array");
  const Napi::Float64Array in = value.As<Napi::Float64Array>();
  const std::vector<double> values(in.Data(), in.Data() + in.ElementLength());
  const std::vector<double> sums = dist::all_reduce_numbers(values);
  Napi::Float64Array out = Napi::Float64Array::New(env, sums.size());
  for (size_t i = 0; i < sums.size(); ++i) out[i] = sums[i];
  return out;
}

// distBroadcast_(tensors, root)
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  const std::vector<Tensor> tensors = ToTensorList(Arg(info, 0), "tensors");
  dist::broadcast(tensors, ToInt32(Arg(info, 1), "root"));
  return info.Env().Undefined();
}

// distBroadcastString(value, root) -> root's string (the others' value is ignored)
Napi::Value DistBroadcastString(const Napi::CallbackInfo& info) {
  const std::string value = ToString(Arg(info, 0), "value");
  return Napi::String::New(info.Env(), dist::broadcast_bytes(value, ToInt32(Arg(info, 1), "root")));
}

Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  dist::barrier();
  return info.Env().Undefined();
}

// distAbort(message): ends every rank of the job; never returns.
Napi::Value DistAbort(const Napi::CallbackInfo& info) {
  dist::abort_job(ToString(Arg(info, 0), "message"));
}

Napi::Value DistFinalize(const Napi::CallbackInfo& info) {
  dist::finalize();
  return info.Env().Undefined();
}

}  // namespace

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distInfo", Napi::Function::New(env, Safe<DistInfo>, "distInfo"));
  exports.Set("distInit", Napi::Function::New(env, Safe<DistInit>, "distInit"));
  exports.Set("distAllReduceSum_", Napi::Function::New(env, Safe<DistAllReduceSum>, "distAllReduceSum_"));
  exports.Set("distAllReduceNumbers", Napi::Function::New(env, Safe<DistAllReduceNumbers>, "distAllReduceNumbers"));
  exports.Set("distBroadcast_", Napi::Function::New(env, Safe<DistBroadcast>, "distBroadcast_"));
  exports.Set("distBroadcastString", Napi::Function::New(env, Safe<DistBroadcastString>, "distBroadcastString"));
  exports.Set("distBarrier", Napi::Function::New(env, Safe<DistBarrier>, "distBarrier"));
  exports.Set("distAbort", Napi::Function::New(env, Safe<DistAbort>, "distAbort"));
  exports.Set("distFinalize", Napi::Function::New(env, Safe<DistFinalize>, "distFinalize"));
}

}  // namespace rnnlm::bindings
