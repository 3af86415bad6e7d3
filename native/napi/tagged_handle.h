// Native handles (NativeModel, NativeTrainer) are constructed from a type-tagged External
// holding a shared_ptr: only this addon can make one, and any other External (a prepared
// call, another addon's) is refused rather than misread.
#pragma once

#include <napi.h>

#include <memory>

namespace dien {

// A new instance of cls whose constructor receives p through a tagged External.
template <class T>
Napi::Object newTaggedHandle(Napi::Env env, std::shared_ptr<T> p, const napi_type_tag& tag,
                             Napi::FunctionReference& cls) {
  auto* holder = new std::shared_ptr<T>(std::move(p));
  auto ext = Napi::External<std::shared_ptr<T>>::New(env, holder, [](Napi::Env, std::shared_ptr<T>* q) { delete q; });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &tag), Napi::Object());
  return cls.New({ext});
}

// In the constructor: the shared_ptr newTaggedHandle passed, moved out of the External
// (which lives until a GC: a copy left there would keep the object alive after the handle
// lets go, so dispose() would free nothing), or a TypeError saying how such an object is made.
template <class T>
std::shared_ptr<T> takeTaggedHandle(const Napi::CallbackInfo& info, const napi_type_tag& tag, const char* howMade) {
  bool ours = false;
  if (info.Length() != 1 || !info[0].IsExternal() ||
      napi_check_object_type_tag(info.Env(), info[0], &tag, &ours) != napi_ok || !ours)
    throw Napi::TypeError::New(info.Env(), howMade);
  std::shared_ptr<T>& held = *info[0].As<Napi::External<std::shared_ptr<T>>>().Data();
  if (!held) throw Napi::TypeError::New(info.Env(), howMade);  // already taken
  return std::move(held);
}

}  // namespace dien
