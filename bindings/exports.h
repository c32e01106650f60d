// Registration of the addon's functions, one group per file, all called from addon.cpp.
#pragma once
#include <napi.h>

namespace rnnlm::bindings {

void RegisterTensorOps(Napi::Env env, Napi::Object exports);  // ops_tensor.cpp
void RegisterLayerOps(Napi::Env env, Napi::Object exports);   // ops_layers.cpp
void RegisterOptimOps(Napi::Env env, Napi::Object exports);   // ops_optim.cpp
void RegisterRuntime(Napi::Env env, Napi::Object exports);    // runtime.cpp: info, GEMM, memory
void RegisterDecodeOps(Napi::Env env, Napi::Object exports);  // ops_decode.cpp: autoregressive decoding
void RegisterDistributed(Napi::Env env, Napi::Object exports);  // distributed.cpp: MPI / NCCL collectives

}  // namespace rnnlm::bindings
