// Conversions from JS arguments to engine values. Each helper checks the JS type and throws a
// TypeError with code ERR_RNNLM_ARGUMENT naming the argument when it is wrong; ranges and shapes
// are left to the engine, which knows them and reports them with its own codes.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/ops.h"

namespace rnnlm::bindings {

// Argument i of the call, or undefined past the end (so missing arguments read as undefined).
Napi::Value Arg(const Napi::CallbackInfo& info, size_t i);

bool IsAbsent(const Napi::Value& value);  // undefined or null

double ToNumber(const Napi::Value& value, const char* name);
float ToFloat(const Napi::Value& value, const char* name);
int64_t ToInt64(const Napi::Value& value, const char* name);  // an integral Number
int32_t ToInt32(const Napi::Value& value, const char* name);
uint64_t ToUint64(const Napi::Value& value, const char* name);  // a non-negative integer or BigInt
bool ToBool(const Napi::Value& value, const char* name);
std::string ToString(const Napi::Value& value, const char* name);

Shape ToShape(const Napi::Value& value, const char* name);  // an array of integers
DType ToDType(const Napi::Value& value, const char* name);  // 'float32' | 'int32'
Device ToDevice(const Napi::Value& value, const char* name);  // 'cpu' | 'cuda'
const char* DTypeJsName(DType dtype);
const char* DeviceJsName(Device device);

// A live NativeTensor (TypeError when not one, ERR_RNNLM_DISPOSED when disposed). Returned by
// value: the copy keeps the storage alive even if a JS getter run later in the same call
// disposes the handle.
Tensor ToTensor(const Napi::Value& value, const char* name);
// Like ToTensor, but undefined/null give an undefined engine tensor (an absent optional).
Tensor ToOptionalTensor(const Napi::Value& value, const char* name);
std::vector<Tensor> ToTensorList(const Napi::Value& value, const char* name);

// Int32Array contents (batch sizes).
std::vector<int32_t> ToInt32Vector(const Napi::Value& value, const char* name);

Napi::Object ToObject(const Napi::Value& value, const char* name);
// Optional properties of an options object: the fallback when the property is undefined.
double GetNumberOr(const Napi::Object& object, const char* key, double fallback);
int64_t GetInt64Or(const Napi::Object& object, const char* key, int64_t fallback);
bool GetBoolOr(const Napi::Object& object, const char* key, bool fallback);

// JS names of the layer fields: {cell, reverse, fused, batchSizes} and {wIh, wHh, bIh, bHh}.
LayerSpec ToLayerSpec(const Napi::Value& value, const char* name);
LayerWeights ToLayerWeights(const Napi::Value& value, const char* name);

}  // namespace rnnlm::bindings
